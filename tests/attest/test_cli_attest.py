"""The command line: keys, cosign, disclose, commit, log, and verify with all of them."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.attest import load_public_key
from assay.cli import app, main
from tests.attest._audit import make_audit

Result = tuple[int, str, str]
Runner = Callable[..., Result]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    """Run ``assay ARGS`` in-process through the real entry point (exit codes, errors)."""

    def run(*args: str | Path) -> Result:
        monkeypatch.setattr(sys, "argv", ["assay", *map(str, args)])
        monkeypatch.setenv("COLUMNS", "200")
        with pytest.raises(SystemExit) as exc:
            main()
        out, err = capsys.readouterr()
        code = exc.value.code
        return (code if isinstance(code, int) else 1), out, err

    return run


@pytest.mark.parametrize(
    "command",
    [
        ["keys"],
        ["keys", "generate"],
        ["keys", "show"],
        ["keys", "export"],
        ["keys", "list"],
        ["attest"],
        ["attest", "cosign"],
        ["attest", "log"],
        ["attest", "checkpoint"],
        ["disclose"],
        ["commit"],
        ["commit", "create"],
        ["commit", "reveal"],
        ["commit", "verify"],
    ],
)
def test_every_new_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_keys_generate_show_export_list(cli: Runner, assay_home: Path, tmp_path: Path) -> None:
    code, out, err = cli("keys", "generate", "gateway")
    assert code == 0, err
    private = assay_home / "keys" / "gateway.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert "PRIVATE" not in out and private.read_text() not in out
    key_id = out.split("key id:")[1].split()[0]
    assert key_id.startswith("ed25519:")

    code, out, _ = cli("keys", "show", "gateway")
    assert code == 0 and key_id in out and "BEGIN PUBLIC KEY" in out and "PRIVATE" not in out

    exported = tmp_path / "gateway.pem"
    code, _, err = cli("keys", "export", "gateway", "-o", exported)
    assert code == 0 and key_id in err
    assert load_public_key(exported) is not None

    code, out, _ = cli("keys", "list")
    assert code == 0 and "gateway" in out and key_id in out

    code, _, err = cli("keys", "generate", "gateway")
    assert code == 2 and "already exists" in err
    code, _, err = cli("keys", "generate", "../evil")
    assert code == 2 and "invalid key name" in err
    code, _, err = cli("keys", "show", "nobody")
    assert code == 2 and "no key named" in err


def test_cosign_disclose_and_verify(cli: Runner, assay_home: Path, tmp_path: Path) -> None:
    attestation = make_audit(tmp_path / "out", n=30)
    out_dir = attestation.parent
    assert cli("keys", "generate", "gateway")[0] == 0
    tester_pub, gateway_pub = tmp_path / "tester.pem", tmp_path / "gateway.pem"
    assert cli("keys", "export", "tester", "-o", tester_pub)[0] == 0
    assert cli("keys", "export", "gateway", "-o", gateway_pub)[0] == 0

    code, out, err = cli(
        "attest", "cosign", attestation, "--key-name", "gateway", "--trust", tester_pub
    )
    assert code == 0, err
    assert "2 signatures" in out
    code, out, err = cli(
        "verify", attestation, "-k", tester_pub, "-k", gateway_pub, "--threshold", "2"
    )
    assert code == 0, err
    assert "verified" in out

    disclosure = tmp_path / "disclosure.json"
    code, out, err = cli(
        "disclose",
        out_dir,
        "--sample",
        "s-00004",
        "--sample",
        "toy_suite/s-00009",
        "-o",
        disclosure,
    )
    assert code == 0, err
    assert "disclosed 2 of 30" in out
    public = tmp_path / "public"
    public.mkdir()
    (public / "attestation.json").write_bytes(attestation.read_bytes())  # nothing else
    code, out, err = cli(
        "verify", public / "attestation.json", "-k", tester_pub, "--disclosure", disclosure
    )
    assert code == 0, err
    assert "2 records proven" in out and "skip" in out

    doc = json.loads(disclosure.read_text())
    tampered = doc["records"][0]["record"].replace('"value":0', '"value":1')
    assert tampered != doc["records"][0]["record"]
    doc["records"][0]["record"] = tampered
    disclosure.write_text(json.dumps(doc))
    code, _, err = cli("verify", public / "attestation.json", "-k", tester_pub, "-d", disclosure)
    assert code == 1 and "verification failed at disclosure" in err

    code, _, err = cli("disclose", out_dir, "--sample", "missing", "-o", disclosure)
    assert code == 2 and "no record has sample id" in err
    code, _, err = cli("disclose", out_dir, "-o", disclosure)
    assert code == 2 and "nothing to disclose" in err


def test_cosign_refuses_when_the_trusted_signature_is_missing(cli: Runner, tmp_path: Path) -> None:
    attestation = make_audit(tmp_path / "out", n=3)
    assert cli("keys", "generate", "other")[0] == 0
    other_pub = tmp_path / "other.pem"
    assert cli("keys", "export", "other", "-o", other_pub)[0] == 0
    before = attestation.read_bytes()
    code, _, err = cli("attest", "cosign", attestation, "-n", "other", "--trust", other_pub)
    assert code == 1 and "not co-signing" in err
    assert attestation.read_bytes() == before
    code, _, err = cli("attest", "cosign", tmp_path / "nope.json", "-n", "other")
    assert code == 2 and "no such file" in err


def test_log_checkpoint_and_verify_consistency(cli: Runner, tmp_path: Path) -> None:
    attestation = make_audit(tmp_path / "out", n=5)
    other = make_audit(tmp_path / "other", n=5)
    log = tmp_path / "log.sqlite"
    assert cli("keys", "generate", "log")[0] == 0
    log_pub, tester_pub = tmp_path / "log.pem", tmp_path / "tester.pem"
    assert cli("keys", "export", "log", "-o", log_pub)[0] == 0
    assert cli("keys", "export", "tester", "-o", tester_pub)[0] == 0

    assert cli("attest", "log", other, "--log", log, "-o", tmp_path / "p0.json")[0] == 0
    trusted = tmp_path / "trusted.json"
    code, out, err = cli("attest", "checkpoint", "--log", log, "-o", trusted)
    assert code == 0 and "size 1" in out, err
    proof = tmp_path / "proof.json"
    code, out, err = cli(
        "attest", "log", attestation, "--log", log, "--from-size", "1", "-o", proof
    )
    assert code == 0 and "appended as entry 1 of 2" in out, err
    code, out, _ = cli("attest", "log", attestation, "--log", log, "--from-size", "1", "-o", proof)
    assert "already logged as entry 1 of 2" in out

    args = ["verify", attestation, "-k", tester_pub, "--log-proof", proof, "--log-key", log_pub]
    code, out, err = cli(*args, "--trusted-checkpoint", trusted)
    assert code == 0, err
    assert "log inclusion" in out and "log consistency" in out

    code, _, err = cli("verify", attestation, "-k", tester_pub, "--log-proof", proof)
    assert code == 2 and "--log-key" in err
    code, _, err = cli("verify", attestation, "-k", tester_pub, "--trusted-checkpoint", trusted)
    assert code == 2 and "--log-proof" in err
    wrong = json.loads(proof.read_text())
    wrong["leaf_index"] = 0
    proof.write_text(json.dumps(wrong))
    code, _, err = cli(*args)
    assert code == 1 and "log inclusion" in err


def test_commit_create_reveal_verify(cli: Runner, tmp_path: Path) -> None:
    items = tmp_path / "secret.jsonl"
    items.write_text(
        "".join(json.dumps({"id": f"q{i}", "q": f"question {i}"}) + "\n" for i in range(12))
    )
    commitment = tmp_path / "commitment.json"
    code, out, err = cli("commit", items, "-o", commitment)  # short for `commit create`
    assert code == 0, err
    salts = tmp_path / "commitment.salts.json"
    assert stat.S_IMODE(salts.stat().st_mode) == 0o600
    assert "question" not in commitment.read_text()
    assert json.loads(commitment.read_text())["size"] == 12

    opening = tmp_path / "opening.json"
    code, out, err = cli(
        "commit",
        "reveal",
        items,
        "-c",
        commitment,
        "--salts",
        salts,
        "--id",
        "q5",
        "--index",
        "0",
        "-o",
        opening,
    )
    assert code == 0 and "revealed 2 of 12" in out, err
    code, out, err = cli(
        "commit", "verify", commitment, "--opening", opening, "--items", items, "--salts", salts
    )
    assert code == 0 and "exactly the committed set" in out and "2 items were in" in out, err

    items.write_text(items.read_text().replace("question 7", "question 7 (edited)"))
    code, _, err = cli("commit", "verify", commitment, "--items", items, "--salts", salts)
    assert code == 1 and "differ" in err
    code, _, err = cli("commit", items, "-o", commitment)
    assert code == 2 and "never overwritten" in err
    code, _, err = cli("commit", "verify", commitment)
    assert code == 2 and "nothing to verify" in err


@pytest.mark.slow
def test_verify_in_a_subprocess_names_the_first_failure(tmp_path: Path, assay_home: Path) -> None:
    attestation = make_audit(tmp_path / "out", n=4)
    samples = attestation.parent / "samples.jsonl"
    samples.write_text(samples.read_text().replace("s-00002", "s-00099"))
    result = subprocess.run(
        [sys.executable, "-m", "assay", "verify", str(attestation)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: verification failed at subject samples.jsonl")
    assert "Traceback" not in result.stderr
