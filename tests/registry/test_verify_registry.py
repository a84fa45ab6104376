"""`assay verify --registry`: a third party with no account checks an attestation
against a live registry: the submitting organisation's key, inclusion in the log,
and that the log only grew since the witness file's checkpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app as cli
from assay.gateway import BackgroundServer
from assay.registry._witness import verify_with_registry
from tests.registry._flows import audit_folder, engagement_in, publish_keys
from tests.registry.conftest import World


@pytest.fixture
def served(world: World) -> Iterator[tuple[World, str]]:
    with BackgroundServer(world.client.app) as server:  # type: ignore[arg-type]
        yield world, server.url


def _submit(world: World, eid: int, folder: Path, key_name: str = "tester") -> dict:
    envelope, report = audit_folder(folder, key_name=key_name)
    return world.ok(
        "tester",
        "POST",
        f"/v1/engagements/{eid}/submissions",
        {"attestation": envelope, "report": report, "visibility": "public"},
    )


def test_verify_with_registry_and_a_witness_that_only_sees_growth(
    served: tuple[World, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, url = served
    monkeypatch.delenv("ASSAY_REGISTRY_TOKEN", raising=False)
    eid = engagement_in(world, "testing")["id"]
    _submit(world, eid, tmp_path / "a")
    witness = tmp_path / "witness.json"
    result, notes = verify_with_registry(
        tmp_path / "a" / "attestation.json", url, witness=witness, check_suites=False
    )
    assert result.ok, result.first_failure
    assert any("first use" in n for n in notes)
    names = [c.name for c in result.checks]
    assert names[0] == "registry" and "log inclusion" in names
    first = json.loads(witness.read_text())["checkpoint"]
    # the log grows; the next verification proves consistency with the witness
    _submit(world, eid, tmp_path / "b")
    result, notes = verify_with_registry(
        tmp_path / "b" / "attestation.json", url, witness=witness, check_suites=False
    )
    assert result.ok, result.first_failure
    assert not notes
    consistency = next(c for c in result.checks if c.name == "log consistency")
    assert consistency.ok and "extends the trusted checkpoint" in consistency.detail
    assert json.loads(witness.read_text())["checkpoint"] != first


def test_a_forked_log_fails_the_witness_check(served: tuple[World, str], tmp_path: Path) -> None:
    world, url = served
    eid = engagement_in(world, "testing")["id"]
    _submit(world, eid, tmp_path / "a")
    _submit(world, eid, tmp_path / "b")
    witness = tmp_path / "witness.json"
    assert verify_with_registry(
        tmp_path / "b" / "attestation.json", url, witness=witness, check_suites=False
    )[0].ok
    # a checkpoint of a different history at a larger size, signed with the same key:
    # what a registry that rewrote its log would show
    from assay.attest import Checkpoint, load_or_create_key

    saved = json.loads(witness.read_text())
    for size, why in ((3, "not an extension"), (5, "rolled its log back")):
        forged = Checkpoint(world.state.log.origin, size, b"\x07" * 32).sign(
            [load_or_create_key("registry-log")]
        )
        witness.write_text(json.dumps(dict(saved, checkpoint=forged)))
        result, _ = verify_with_registry(
            tmp_path / "a" / "attestation.json", url, witness=witness, check_suites=False
        )
        failure = result.first_failure
        assert failure is not None and failure.name == "log consistency"
        assert why in failure.detail
        # a refused verification does not move the witness
        assert json.loads(witness.read_text())["checkpoint"] == forged


def test_cli_verify_registry_refuses_tampered_and_foreign_copies(
    served: tuple[World, str], tmp_path: Path
) -> None:
    world, url = served
    eid = engagement_in(world, "testing")["id"]
    _submit(world, eid, tmp_path / "a")
    runner = CliRunner()
    good = runner.invoke(
        cli,
        ["verify", str(tmp_path / "a" / "attestation.json"), "--registry", url, "--no-suite-check"],
    )
    assert good.exit_code == 0, good.output
    assert "verified" in good.output
    # tampered: one signed field changed
    envelope = json.loads((tmp_path / "a" / "attestation.json").read_text())
    import base64

    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["tier"] = "white"
    tampered = tmp_path / "tampered" / "attestation.json"
    tampered.parent.mkdir()
    tampered.write_text(
        json.dumps(
            dict(envelope, payload=base64.b64encode(json.dumps(statement).encode()).decode())
        )
    )
    bad = runner.invoke(cli, ["verify", str(tampered), "--registry", url, "--no-suite-check"])
    assert bad.exit_code != 0
    # the same statement re-signed by another organisation's registered key
    publish_keys(world, "other_tester", "other")
    from assay.attest import load_or_create_key, sign_envelope

    foreign_env = sign_envelope(
        base64.b64decode(envelope["payload"]), [load_or_create_key("other")]
    )
    foreign = tmp_path / "foreign" / "attestation.json"
    foreign.parent.mkdir()
    foreign.write_text(json.dumps(foreign_env))
    refused = runner.invoke(cli, ["verify", str(foreign), "--registry", url, "--no-suite-check"])
    assert refused.exit_code != 0
    assert "signature" in str(refused.exception) + refused.output


def test_cli_cosign_adds_the_developers_signature(
    served: tuple[World, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, url = served
    eid = engagement_in(world, "testing")["id"]
    sid = _submit(world, eid, tmp_path / "a")["id"]
    keys = publish_keys(world, "developer", "gateway")
    monkeypatch.setenv("ASSAY_REGISTRY_TOKEN", world.parties["developer"].token)
    result = CliRunner().invoke(cli, ["registry", "cosign", str(sid), "--registry", url])
    assert result.exit_code == 0, result.output
    assert keys["signing"] in result.output
    served_env = world.ok("public", "GET", f"/v1/submissions/{sid}/attestation")
    assert keys["signing"] in {s["keyid"] for s in served_env["signatures"]}


def test_cli_verify_registry_checks_disclosed_records_and_refuses_own_keys(
    served: tuple[World, str], tmp_path: Path
) -> None:
    world, url = served
    eid = engagement_in(world, "testing")["id"]
    _submit(world, eid, tmp_path / "a")
    runner = CliRunner()
    disclosed = runner.invoke(
        cli, ["disclose", str(tmp_path / "a"), "--index", "3", "-o", str(tmp_path / "d.json")]
    )
    assert disclosed.exit_code == 0, disclosed.output
    attestation = str(tmp_path / "a" / "attestation.json")
    result = runner.invoke(
        cli,
        [
            "verify",
            attestation,
            "--registry",
            url,
            "-d",
            str(tmp_path / "d.json"),
            "--no-suite-check",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ok disclosure d.json: 1 records proven" in result.output
    mixed = runner.invoke(
        cli, ["verify", attestation, "--registry", url, "--key", attestation, "--no-suite-check"]
    )
    assert mixed.exception is not None and "--registry brings the keys" in str(mixed.exception)
