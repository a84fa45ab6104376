"""Findings and the disclosure clock, through the API, on SQLite and PostgreSQL: the
flaw-report fields and their checks, who is notified, the state machine and its
trail, publication by the clock (embargo, grace after a confirmed fix, extensions
both parties agreed to), the log entry of each publication, and sealed reproduction
material that only its recipients can open."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import select, text

from assay._util.hashing import canonical_json, sha256_bytes
from assay.attest import LogError, build_disclosure, split_records, verify_log_proof
from assay.registry import (
    AuthorityRoute,
    DisclosurePolicy,
    RegistryConfig,
    Settings,
    build_state,
    sweep,
)
from assay.registry._db import Finding, FindingEvent, LogRecord, OutboxMessage
from assay.registry._log import publication_entry
from tests.registry._findings_flow import (
    disclosure_world,
    file_finding,
    finding_body,
    open_my_box,
    reproduction,
    step,
)
from tests.registry._flows import audit_folder, grant, request_engagement
from tests.registry.conftest import World

DAY = timedelta(days=1)


@pytest.fixture
def setup(world: World) -> dict[str, Any]:
    return disclosure_world(world)


def _webhook(world: World, who: str) -> int:
    return int(world.ok(who, "POST", "/v1/webhooks", {"url": f"http://{who}.example/hook"})["id"])


def _outbox(world: World) -> list[OutboxMessage]:
    with world.state.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_national_security_finding_reaches_developer_and_authority_at_once(
    world: World, setup: dict[str, Any]
) -> None:
    hooks = {who: _webhook(world, who) for who in ("developer", "authority", "other_authority")}
    finding = file_finding(world, setup["version"]["id"], "ns", national_security=True)
    # the authority of the developer's jurisdiction (EU), not the one of the UK
    assert finding["authorities"] == ["aisi"]
    assert sorted(finding["reproduction_recipients"]) == ["acme", "aisi", "lab"]
    assert finding["trail"][0]["action"] == "filed" and finding["trail"][0]["by"] == "lab"
    # notifications were queued in the filing's transaction, for the parties' endpoints
    queued = {(m.webhook_id, m.event_type) for m in _outbox(world)}
    assert queued == {(hooks["developer"], "finding.filed"), (hooks["authority"], "finding.filed")}
    # both see it in full at once; the other authority, the other tester, the public do not
    for who in ("developer", "authority"):
        shown = world.ok(who, "GET", f"/v1/findings/{finding['id']}")
        assert shown["sight"] == "full" and shown["description"].startswith("FULL-ns")
    for who in ("other_authority", "other_tester", "public"):
        assert world.call(who, "GET", f"/v1/findings/{finding['id']}").status_code == 404
        listed = world.call(who, "GET", "/v1/findings").json()["items"]
        assert finding["id"] not in [f["id"] for f in listed]


def test_an_ordinary_finding_goes_to_the_developer_only(
    world: World, setup: dict[str, Any]
) -> None:
    finding = file_finding(world, setup["version"]["id"], "plain")
    assert finding["authorities"] == []
    assert world.call("authority", "GET", f"/v1/findings/{finding['id']}").status_code == 404


def test_authorities_are_chosen_by_the_registrys_routes(world: World, tmp_path: Path) -> None:
    from assay.registry import load_settings

    config = tmp_path / "registry.toml"
    config.write_text(
        '[disclosure]\nembargo_days = 45\n[[disclosure.authorities]]\norg = "ukaisi"\n'
        'risk_areas = ["misuse_safeguards"]\n'
    )
    settings = load_settings(config)
    assert settings.disclosure.embargo == timedelta(days=45)
    assert settings.disclosure.routes == (AuthorityRoute("ukaisi", (), ("misuse_safeguards",)),)
    world.state.disclosure = settings.disclosure
    setup = disclosure_world(world)
    finding = file_finding(world, setup["version"]["id"], "routed", national_security=True)
    assert finding["authorities"] == ["ukaisi"]
    filed = world.ok("tester", "GET", f"/v1/findings/{finding['id']}")
    assert filed["embargo_ends_at"].startswith(
        (world.clock.now() + timedelta(days=45)).date().isoformat()
    )
    other = file_finding(
        world,
        setup["version"]["id"],
        "other-area",
        national_security=True,
        risk_area="election_integrity",
        with_reproduction=False,
    )
    assert other["authorities"] == []


def test_reproduction_must_be_sealed_to_every_recipient(
    world: World, setup: dict[str, Any]
) -> None:
    vid = setup["version"]["id"]
    body = finding_body(vid, "missing", national_security=True)
    sealed, _ = reproduction(world, vid, "missing", True)
    sealed["boxes"] = [b for b in sealed["boxes"] if "aisi" not in json.dumps(b)]
    keys = {k["id"] for k in world.ok("public", "GET", "/v1/orgs/aisi/keys")}
    sealed["boxes"] = [b for b in sealed["boxes"] if b["recipient_key_id"] not in keys]
    body["reproduction"] = sealed
    refused = world.call("tester", "POST", "/v1/findings", body)
    assert refused.status_code == 422 and "missing aisi" in refused.json()["error"]["message"]
    # a box for someone who is not a recipient is refused too
    outsider = {k["id"] for k in world.ok("public", "GET", "/v1/orgs/ukaisi/keys")}
    body["reproduction"], _ = reproduction(world, vid, "missing", True)
    body["reproduction"]["boxes"].append(
        {
            "recipient_key_id": next(iter(outsider)),
            "sealed_b64": base64.b64encode(b"x" * 60).decode(),
        }
    )
    refused = world.call("tester", "POST", "/v1/findings", body)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "wrong_recipient"


def test_sealed_material_opens_only_for_its_recipients_and_matches_the_commitment(
    world: World, setup: dict[str, Any]
) -> None:
    finding = file_finding(world, setup["version"]["id"], "seal", national_security=True)
    opened = {who: open_my_box(world, who, finding["id"]) for who in ("developer", "authority")}
    assert opened["developer"] == opened["authority"]
    assert sha256_bytes(opened["developer"]) == finding["reproduction_commitment"]
    assert b"REPRO-seal" in base64.b64decode(json.loads(opened["developer"])["content_b64"])
    # the developer's box does not open with the authority's key
    from assay.registry import SealError, load_sealing_key

    box = world.ok("developer", "GET", f"/v1/findings/{finding['id']}/reproduction")["boxes"][0]
    with pytest.raises(SealError):
        load_sealing_key("authority").open(base64.b64decode(box["sealed_b64"]))
    for who in ("other_tester", "other_authority", "public"):
        response = world.call(who, "GET", f"/v1/findings/{finding['id']}/reproduction")
        assert response.status_code == 404, who
    # the operator holds ciphertext only: no table has the plaintext or its content
    with world.state.engine.connect() as connection:
        for table in ("findings", "reproduction_boxes", "finding_events", "outbox"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                blob = repr(tuple(row))
                assert "REPRO-seal" not in blob and "UkVQUk8tc2Vh" not in blob, table


def test_disclosed_records_are_checked_against_the_attestations_root(
    world: World, setup: dict[str, Any], tmp_path: Path
) -> None:
    vid = setup["version"]["id"]
    service = setup["service"]
    engagement = world.ok(
        "developer",
        "POST",
        "/v1/engagements",
        {
            "service_id": service["id"],
            "version_id": vid,
            "scope": {"tier": "grey", "suites": ["toy_suite"], "plan": "quick"},
        },
    )
    eid = engagement["id"]
    world.ok("tester", "POST", f"/v1/engagements/{eid}/accept", {})
    grant(world, eid)
    world.ok("tester", "POST", f"/v1/engagements/{eid}/start", {})
    envelope, report = audit_folder(tmp_path / "audit")
    sid = world.ok(
        "tester",
        "POST",
        f"/v1/engagements/{eid}/submissions",
        {"attestation": envelope, "report": report},
    )["id"]
    statement = world.ok("tester", "GET", f"/v1/submissions/{sid}")["statement_sha256"]
    lines = split_records((tmp_path / "audit" / "samples.jsonl").read_bytes())
    disclosure = build_disclosure(lines, [1, 3], statement)
    body = finding_body(
        vid,
        "disclosed",
        engagement_id=eid,
        submission_id=sid,
        disclosure=disclosure,
        prevalence={
            "category": "common",
            "submission_id": sid,
            "suite": "toy_suite",
            "metric": "accuracy",
        },
    )
    filed = world.ok("tester", "POST", "/v1/findings", body)
    assert len(filed["disclosure"]["records"]) == 2
    # the rate and interval came from the audit's report.json
    assert filed["prevalence"]["rate"] == 0.25
    assert filed["prevalence"]["interval"] == {"low": 0.2, "high": 0.3, "level": 0.95}
    assert filed["attestation"] == statement and filed["submission_id"] == sid

    tampered = json.loads(json.dumps(disclosure))
    record = json.loads(tampered["records"][0]["record"])
    record["output"] = "changed"
    tampered["records"][0]["record"] = json.dumps(record, sort_keys=True, ensure_ascii=False)
    refused = world.call("tester", "POST", "/v1/findings", dict(body, disclosure=tampered))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "bad_disclosure"

    wrong = dict(
        body,
        disclosure=None,
        prevalence={
            "category": "common",
            "rate": 0.5,
            "submission_id": sid,
            "suite": "toy_suite",
            "metric": "accuracy",
        },
    )
    refused = world.call("tester", "POST", "/v1/findings", wrong)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "prevalence_mismatch"


def test_each_step_is_taken_by_its_party_from_its_states_and_kept_in_the_trail(
    world: World, setup: dict[str, Any]
) -> None:
    fid = file_finding(world, setup["version"]["id"], "steps")["id"]
    assert world.call("tester", "POST", f"/v1/findings/{fid}/acknowledge", {}).status_code == 403
    assert world.call("authority", "POST", f"/v1/findings/{fid}/acknowledge", {}).status_code == 404
    assert world.call("developer", "POST", f"/v1/findings/{fid}/confirm-fix", {}).status_code == 403
    assert world.call("tester", "POST", f"/v1/findings/{fid}/confirm-fix", {}).status_code == 409
    assert world.call("developer", "POST", f"/v1/findings/{fid}/dispute", {}).status_code == 422
    step(world, "developer", fid, "dispute")
    step(world, "developer", fid, "acknowledge")
    world.clock.advance(DAY)
    step(world, "developer", fid, "claim-fix")
    assert world.call("tester", "POST", f"/v1/findings/{fid}/reject-fix", {}).status_code == 422
    step(world, "tester", fid, "reject-fix")
    shown = step(world, "developer", fid, "claim-fix")
    assert shown["state"] == "fix_claimed"
    trail = shown["trail"]
    assert [e["action"] for e in trail] == [
        "filed",
        "disputed",
        "acknowledged",
        "fix_claimed",
        "fix_rejected",
        "fix_claimed",
    ]
    assert [e["by"] for e in trail] == ["lab", "acme", "acme", "acme", "lab", "acme"]
    assert all(e["reason"] for e in trail[1:]) and trail[3]["at"] > trail[2]["at"]
    assert [e["seq"] for e in trail] == list(range(1, 7))
    # the trail cannot be changed, by the ORM or below it
    # (one connection each: PostgreSQL aborts a transaction at its first refused statement)
    for statement in ("UPDATE finding_events SET reason = 'x'", "DELETE FROM finding_events"):
        with (
            world.state.engine.connect() as connection,
            pytest.raises(Exception, match="append-only"),
        ):
            connection.execute(text(statement))


def test_the_embargo_publishes_a_finding_without_a_fix_and_not_a_moment_before(
    world: World, setup: dict[str, Any]
) -> None:
    fid = file_finding(world, setup["version"]["id"], "embargo")["id"]
    world.clock.advance(timedelta(days=90) - timedelta(seconds=1))
    assert sweep(world.state) == []
    assert world.call("public", "GET", f"/v1/findings/{fid}").status_code == 404
    world.clock.advance(timedelta(seconds=1))
    assert sweep(world.state) == [fid]
    assert sweep(world.state) == []  # idempotent
    public = world.ok("public", "GET", f"/v1/findings/{fid}")
    assert public["sight"] == "summary" and public["state"] == "published"
    assert public["description"] is None and public["context_info"] is None
    assert "FULL-embargo" not in json.dumps(public)
    assert public["trail"][-1]["action"] == "published" and public["trail"][-1]["by"] == "registry"
    assert all(e["reason"] is None for e in public["trail"])


def test_an_extension_needs_both_parties_and_delays_publication(
    world: World, setup: dict[str, Any]
) -> None:
    fid = file_finding(world, setup["version"]["id"], "extend")["id"]
    step(world, "developer", fid, "acknowledge")
    step(world, "developer", fid, "propose-extension", days=14)
    # the proposer cannot agree with itself, nor can an outsider
    assert (
        world.call("developer", "POST", f"/v1/findings/{fid}/agree-extension", {}).status_code
        == 409
    )
    assert (
        world.call("other_tester", "POST", f"/v1/findings/{fid}/agree-extension", {}).status_code
        == 404
    )
    world.clock.advance(timedelta(days=90))
    assert sweep(world.state) == [fid]  # a proposal alone moves nothing

    fid = file_finding(world, setup["version"]["id"], "extend2")["id"]
    step(world, "developer", fid, "propose-extension", days=14)
    too_long = world.call("tester", "POST", f"/v1/findings/{fid}/propose-extension", {"days": 400})
    assert too_long.status_code == 422
    agreed = step(world, "tester", fid, "agree-extension")
    assert agreed["state"] == "extended" and agreed["pending_extension"] is None
    assert agreed["trail"][-1]["details"]["days"] == 14
    world.clock.advance(timedelta(days=90))
    assert sweep(world.state) == []
    world.clock.advance(timedelta(days=14))
    assert sweep(world.state) == [fid]


def test_a_confirmed_fix_publishes_after_the_grace_period_from_its_release(
    world: World, setup: dict[str, Any]
) -> None:
    fid = file_finding(world, setup["version"]["id"], "fixed")["id"]
    world.clock.advance(10 * DAY)
    released = world.clock.now() - 2 * DAY
    step(world, "developer", fid, "claim-fix", fix_released_at=released.isoformat())
    confirmed = step(world, "tester", fid, "confirm-fix")
    assert confirmed["publish_due_at"].startswith((released + 30 * DAY).date().isoformat())
    world.clock.advance(28 * DAY - timedelta(seconds=1))
    assert sweep(world.state) == []
    world.clock.advance(timedelta(seconds=1))
    assert sweep(world.state) == [fid]
    # a grace of zero days publishes as the tester confirms
    world.state.disclosure = DisclosurePolicy(grace_after_fix=timedelta(0))
    fid = file_finding(world, setup["version"]["id"], "fixed-now")["id"]
    step(world, "developer", fid, "claim-fix")
    assert step(world, "tester", fid, "confirm-fix")["state"] == "published"


def test_each_publication_is_in_the_log_and_its_proof_verifies(
    world: World, setup: dict[str, Any]
) -> None:
    fid = file_finding(world, setup["version"]["id"], "logged")["id"]
    world.clock.advance(90 * DAY)
    sweep(world.state)
    proof = world.ok("public", "GET", f"/v1/findings/{fid}/proof")
    record = proof["record"]
    assert record["summary"].startswith("SUMMARY-logged") and "FULL-logged" not in json.dumps(
        record
    )
    digest = sha256_bytes(canonical_json(record))
    assert digest == proof["digest"]
    entry = publication_entry("finding", digest, record["published_at"])
    assert entry.decode() == proof["entry"]
    log = world.ok("public", "GET", "/v1/log")
    trusted = {log["key_id"]: load_pem_public_key(log["public_key"].encode())}
    verified = verify_log_proof(proof["proof"], entry, trusted)
    assert verified.leaf_index == proof["log_index"]
    # the log browser's record names the finding
    entries = world.ok("public", "GET", f"/v1/log/entries?start={proof['log_index']}&limit=1")
    assert entries[0]["subject_type"] == "finding" and entries[0]["subject_id"] == fid
    # a different day would be a different entry: the publication day cannot be rewritten
    other_day = publication_entry("finding", digest, "2026-01-02T00:00:00+00:00")
    with pytest.raises(LogError):
        verify_log_proof(proof["proof"], other_day, trusted)


def test_sweepers_in_two_processes_publish_a_finding_once(
    world: World, setup: dict[str, Any]
) -> None:
    ids = [file_finding(world, setup["version"]["id"], f"race{i}")["id"] for i in range(3)]
    world.clock.advance(91 * DAY)
    # a second registry process on the same database and log
    other = build_state(
        RegistryConfig(
            database_url=str(world.state.engine.url.render_as_string(hide_password=False)),
            clock=world.clock,
        )
    )
    other.log.key = world.state.log.key
    published: list[list[int]] = []
    barrier = threading.Barrier(2)

    def run(reg: Any) -> None:
        barrier.wait()
        published.append(sweep(reg))

    threads = [threading.Thread(target=run, args=(r,)) for r in (world.state, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(published[0] + published[1]) == ids
    with world.state.sessions() as session:
        records = session.scalars(select(LogRecord).where(LogRecord.subject_type == "finding"))
        assert sorted(r.subject_id for r in records) == ids
        events = session.scalars(select(FindingEvent).where(FindingEvent.action == "published"))
        assert sorted(e.finding_id for e in events) == ids
    other.engine.dispose()


def test_a_publication_interrupted_after_logging_is_finished_with_the_same_entry(
    world: World, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.registry import _findings

    fid = file_finding(world, setup["version"]["id"], "crash")["id"]
    world.clock.advance(90 * DAY)
    size = world.state.log.size

    def crash(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(_findings, "record_step", crash)
    with pytest.raises(RuntimeError):
        sweep(world.state)
    assert world.state.log.size == size + 1  # logged, not stored
    monkeypatch.undo()
    assert sweep(world.state) == []  # claimed by the dead process: its lease runs
    world.clock.advance(timedelta(minutes=6))
    assert sweep(world.state) == [fid]
    assert world.state.log.size == size + 1  # the same entry, not a second one
    shown = world.ok("public", "GET", f"/v1/findings/{fid}/proof")
    assert shown["log_index"] == size


def test_steps_are_refused_while_a_publication_is_under_way(
    world: World, setup: dict[str, Any]
) -> None:
    fid = file_finding(world, setup["version"]["id"], "claimed")["id"]
    with world.state.sessions() as session:
        row = session.get(Finding, fid)
        assert row is not None
        row.publishing_at = world.clock.now()
        session.commit()
    response = world.call("developer", "POST", f"/v1/findings/{fid}/acknowledge", {})
    assert response.status_code == 409 and "being published" in response.json()["error"]["message"]


def test_the_tester_may_release_the_reproduction_after_publication_only(
    world: World, setup: dict[str, Any]
) -> None:
    fid = file_finding(world, setup["version"]["id"], "release")["id"]
    plaintext = open_my_box(world, "developer", fid)
    body = {"material_b64": base64.b64encode(plaintext).decode()}
    early = world.call("tester", "POST", f"/v1/findings/{fid}/reproduction/release", body)
    assert early.status_code == 409
    world.clock.advance(90 * DAY)
    sweep(world.state)
    assert world.call("public", "GET", f"/v1/findings/{fid}/reproduction").status_code == 404
    wrong = {"material_b64": base64.b64encode(plaintext + b" ").decode()}
    refused = world.call("tester", "POST", f"/v1/findings/{fid}/reproduction/release", wrong)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "commitment_mismatch"
    assert (
        world.call(
            "developer", "POST", f"/v1/findings/{fid}/reproduction/release", body
        ).status_code
        == 403
    )
    released = world.ok("tester", "POST", f"/v1/findings/{fid}/reproduction/release", body)
    assert (
        released["reproduction_released"]
        and released["trail"][-1]["action"] == "reproduction_released"
    )
    public = world.ok("public", "GET", f"/v1/findings/{fid}/reproduction")
    assert base64.b64decode(public["released_b64"]) == plaintext and public["boxes"] == []


def test_attaching_reproduction_later_needs_every_recipient_and_happens_once(
    world: World, setup: dict[str, Any]
) -> None:
    vid = setup["version"]["id"]
    fid = file_finding(world, vid, "later", national_security=True, with_reproduction=False)["id"]
    sealed, _ = reproduction(world, vid, "later", True)
    done = world.ok("tester", "POST", f"/v1/findings/{fid}/reproduction", sealed)
    assert done["trail"][-1]["action"] == "reproduction_sealed"
    again = world.call("tester", "POST", f"/v1/findings/{fid}/reproduction", sealed)
    assert again.status_code == 409
    assert open_my_box(world, "authority", fid)


def test_a_finding_in_an_engagement_must_be_the_testers_own_of_that_version(
    world: World, setup: dict[str, Any]
) -> None:
    vid = setup["version"]["id"]
    engagement = request_engagement(world, vid, setup["service"]["id"])
    model = setup["version"]["model_id"]
    second = world.ok(
        "developer",
        "POST",
        f"/v1/models/{model}/versions",
        {
            "version": "2.0",
            "release_status": "api",
            "fingerprints": [{"algorithm": "a", "digest": "sha256:" + "2" * 64}],
        },
    )
    ok = world.ok(
        "tester", "POST", "/v1/findings", finding_body(vid, "eng", engagement_id=engagement["id"])
    )
    assert ok["engagement_id"] == engagement["id"]
    refused = world.call(
        "tester",
        "POST",
        "/v1/findings",
        finding_body(second["id"], "eng1", engagement_id=engagement["id"]),
    )
    assert refused.status_code == 422
    other = world.call(
        "other_tester",
        "POST",
        "/v1/findings",
        finding_body(vid, "eng2", engagement_id=engagement["id"]),
    )
    assert other.status_code == 404


def test_settings_file_errors_are_clear(tmp_path: Path) -> None:
    from assay._util.errors import UsageError
    from assay.registry import load_settings

    bad = tmp_path / "bad.toml"
    for text_, words in (
        ("[disclosure]\nembargo_days = -1\n", "non-negative"),
        ("[disclosure]\nembargos = 3\n", "unknown [disclosure] settings embargos"),
        ("[[disclosure.authorities]]\njurisdictions = ['EU']\n", "needs org"),
        ("nonsense = [", "not valid TOML"),
    ):
        bad.write_text(text_)
        with pytest.raises(UsageError, match=words.replace("[", r"\[").replace("]", r"\]")):
            load_settings(bad)
    assert Settings().disclosure.embargo == timedelta(days=90)
    assert Settings().disclosure.grace_after_fix == timedelta(days=30)


def test_publication_moments_read_the_same_from_sqlite_and_postgresql() -> None:
    """SQLite hands back naive times and PostgreSQL ones in its session's time zone; the
    publication entry's text must not depend on which (it is hashed into the log)."""
    from datetime import datetime, timezone

    from assay.registry._clock import utc

    naive = datetime(2026, 1, 1, 9, 0)
    tokyo = datetime(2026, 1, 1, 18, 0, tzinfo=timezone(timedelta(hours=9)))
    assert utc(naive).isoformat() == utc(tokyo).isoformat() == "2026-01-01T09:00:00+00:00"


def test_findings_verify_checks_the_record_the_entry_and_the_proof(
    world: World, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from assay._util.errors import AssayError
    from assay.cli import _registry_findings, app

    fid = file_finding(world, setup["version"]["id"], "verify")["id"]
    world.clock.advance(90 * DAY)
    sweep(world.state)
    served = {
        f"/v1/findings/{fid}/proof": world.ok("public", "GET", f"/v1/findings/{fid}/proof"),
        "/v1/log": world.ok("public", "GET", "/v1/log"),
    }

    class Client:
        def __enter__(self) -> Client:
            return self

        def __exit__(self, *_: object) -> None:
            pass

        def get(self, path: str) -> Any:
            return json.loads(json.dumps(served[path]))

    monkeypatch.setattr(_registry_findings, "_client", lambda registry: Client())
    runner = CliRunner()
    ok = runner.invoke(app, ["registry", "findings", "verify", str(fid), "-r", "http://x"])
    assert ok.exit_code == 0 and f"verified: finding #{fid} published" in ok.output
    for change in ("summary", "published_at"):
        original = served[f"/v1/findings/{fid}/proof"]
        tampered = json.loads(json.dumps(original))
        tampered["record"][change] = "2026-01-02T00:00:00+00:00"
        if change == "summary":  # a changed record with its digest recomputed
            tampered["digest"] = sha256_bytes(canonical_json(tampered["record"]))
        served[f"/v1/findings/{fid}/proof"] = tampered
        refused = runner.invoke(app, ["registry", "findings", "verify", str(fid), "-r", "http://x"])
        assert isinstance(refused.exception, AssayError), change
        served[f"/v1/findings/{fid}/proof"] = original


def test_two_steps_from_the_same_state_cannot_both_be_recorded(
    world: World, setup: dict[str, Any]
) -> None:
    """Each step takes the next number of its finding's trail, so a step decided on a
    stale read is refused by the database (PostgreSQL: the unique number; SQLite: the
    stale snapshot), never recorded beside the other."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    from assay.registry._findings import record_step
    from assay.registry._types import FindingStep

    fid = file_finding(world, setup["version"]["id"], "race")["id"]
    late, early = world.state.sessions(), world.state.sessions()
    stale = late.get(Finding, fid)  # read before the other step is committed
    fresh = early.get(Finding, fid)
    assert stale is not None and fresh is not None
    now, policy = world.clock.now(), world.state.disclosure
    record_step(early, fresh, FindingStep.ACKNOWLEDGE, None, "first", now, policy)
    early.commit()
    with pytest.raises((IntegrityError, OperationalError)):
        record_step(late, stale, FindingStep.DISPUTE, None, "second", now, policy)
        late.commit()
    late.rollback()
    late.close()
    early.close()
    trail = world.ok("tester", "GET", f"/v1/findings/{fid}")["trail"]
    assert [e["action"] for e in trail] == ["filed", "acknowledged"]
