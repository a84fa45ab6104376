"""The registry's workflow through its API, on SQLite and PostgreSQL: engagements walk
their state machine, gateway tokens travel sealed, submissions are verified on ingest
and logged, and readers see what they may."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update

from assay.attest import (
    add_signature,
    attestation_entry,
    load_or_create_key,
    pae,
    verify_log_proof,
)
from assay.registry import load_or_create_sealing_key
from assay.registry._db import AppendOnlyError, EngagementEvent
from tests.registry._flows import (
    CARD,
    audit_folder,
    engagement_in,
    grant,
    publish_keys,
    publish_service,
    register_version,
    request_engagement,
)
from tests.registry.conftest import World


def test_engagement_walks_its_states_each_step_by_its_party(world: World) -> None:
    engagement = engagement_in(world, "requested")
    eid = engagement["id"]
    assert engagement["state"] == "requested"
    # the developer cannot accept its own request; the tester can
    assert world.call("developer", "POST", f"/v1/engagements/{eid}/accept", {}).status_code == 403
    assert world.ok("tester", "POST", f"/v1/engagements/{eid}/accept", {})["state"] == "accepted"
    # a step from the wrong state is a conflict, and changes nothing
    again = world.call("tester", "POST", f"/v1/engagements/{eid}/accept", {})
    assert (
        again.status_code == 409 and "possible from: requested" in again.json()["error"]["message"]
    )
    # the tester cannot start before access is granted
    assert world.call("tester", "POST", f"/v1/engagements/{eid}/start", {}).status_code == 409
    grant(world, eid)
    assert world.ok("tester", "POST", f"/v1/engagements/{eid}/start", {})["state"] == "testing"
    shown = world.ok("developer", "GET", f"/v1/engagements/{eid}")
    assert [
        (h["action"], h["from_state"], h["to_state"], h["actor"]) for h in shown["history"]
    ] == [
        ("request", None, "requested", "acme"),
        ("accept", "requested", "accepted", "lab"),
        ("grant_access", "accepted", "access_granted", "acme"),
        ("start", "access_granted", "testing", "lab"),
    ]


def test_declined_engagement_cannot_be_accepted_or_cancelled(world: World) -> None:
    eid = engagement_in(world, "requested")["id"]
    world.ok("tester", "POST", f"/v1/engagements/{eid}/decline", {"reason": "no capacity"})
    for step in ("accept", "start", "cancel"):
        assert world.call("tester", "POST", f"/v1/engagements/{eid}/{step}", {}).status_code == 409
    history = world.ok("tester", "GET", f"/v1/engagements/{eid}")["history"]
    assert history[-1]["reason"] == "no capacity" and history[-1]["to_state"] == "declined"


def test_engagement_history_is_append_only(world: World) -> None:
    eid = engagement_in(world, "accepted")["id"]
    with world.state.sessions() as session:
        event = session.scalars(select(EngagementEvent)).first()
        assert event is not None
        event.reason = "rewritten"
        with pytest.raises(AppendOnlyError):
            session.flush()
        session.rollback()
        session.delete(session.scalars(select(EngagementEvent)).first())
        with pytest.raises(AppendOnlyError):
            session.flush()
        session.rollback()
        with pytest.raises(AppendOnlyError):
            session.execute(update(EngagementEvent).values(reason="bulk"))
        with pytest.raises(AppendOnlyError):
            session.execute(delete(EngagementEvent))
    # below the ORM, the database's triggers refuse too
    with world.state.engine.connect() as connection, pytest.raises(Exception, match="append-only"):
        connection.execute(text("UPDATE engagement_events SET reason = 'raw'"))
    with world.state.engine.connect() as connection, pytest.raises(Exception, match="append-only"):
        connection.execute(text("DELETE FROM engagement_events"))
    reasons = [h["reason"] for h in world.ok("tester", "GET", f"/v1/engagements/{eid}")["history"]]
    assert "rewritten" not in reasons and "raw" not in reasons and len(reasons) == 2


def test_gateway_token_travels_sealed_to_the_tester(world: World) -> None:
    eid = engagement_in(world, "accepted")["id"]
    secret = b"asy_0123abcd_gateway-secret-value"
    grant(world, eid, secret)
    access = world.ok("tester", "GET", f"/v1/engagements/{eid}/access")
    sealed = base64.b64decode(access["sealed_token_b64"])
    assert secret not in sealed
    # nothing the registry stores holds the token in clear
    with world.state.engine.connect() as connection:
        for (blob,) in connection.execute(text("SELECT sealed_token FROM access_grants")):
            assert secret not in bytes(blob)
    assert load_or_create_sealing_key("tester").open(sealed) == secret
    # the other tester neither sees the engagement nor its access
    assert world.call("other_tester", "GET", f"/v1/engagements/{eid}/access").status_code == 404


def test_grant_refuses_a_key_that_is_not_the_testers(world: World) -> None:
    eid = engagement_in(world, "accepted")["id"]
    other = publish_keys(world, "other_tester", "other")
    response = world.call(
        "developer",
        "POST",
        f"/v1/engagements/{eid}/access",
        {
            "gateway_url": "http://gw.example/v1",
            "tier": "grey",
            "recipient_key_id": other["sealing"],
            "sealed_token_b64": base64.b64encode(b"x" * 80).decode(),
        },
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "wrong_recipient"
    assert world.ok("developer", "GET", f"/v1/engagements/{eid}")["state"] == "accepted"


def _submit(world: World, eid: int, envelope: dict, report: str | None, **extra: object):
    return world.call(
        "tester",
        "POST",
        f"/v1/engagements/{eid}/submissions",
        {"attestation": envelope, "report": report, **extra},
    )


def test_accepted_submission_is_logged_and_provable(world: World, tmp_path: Path) -> None:
    eid = engagement_in(world, "testing")["id"]
    envelope, report = audit_folder(tmp_path / "audit")
    response = _submit(world, eid, envelope, report)
    assert response.status_code == 201, response.text
    submission = response.json()
    assert submission["visibility"] == "parties" and submission["log_index"] == 0
    assert world.ok("tester", "GET", f"/v1/engagements/{eid}")["state"] == "reported"
    # restricted: the public and the other tester see nothing; the authority sees it
    sid = submission["id"]
    assert world.call("public", "GET", f"/v1/submissions/{sid}").status_code == 404
    assert world.call("other_tester", "GET", f"/v1/submissions/{sid}").status_code == 404
    assert world.call("authority", "GET", f"/v1/submissions/{sid}").status_code == 200
    # the same statement cannot be submitted twice
    assert _submit(world, eid, envelope, report).status_code == 409
    # published: the public sees it, and a publication entry follows in the log
    published = world.ok("tester", "POST", f"/v1/submissions/{sid}/publish")
    assert published["visibility"] == "public" and published["published_at"]
    assert world.ok("public", "GET", "/v1/log")["size"] == 2
    bundle = world.ok("public", "GET", f"/v1/submissions/{sid}/proof")
    log_key = load_or_create_key("registry-log")
    payload = base64.b64decode(envelope["payload"])
    proof = verify_log_proof(
        bundle, attestation_entry(payload), {log_key.key_id: log_key.public_key}
    )
    assert proof.leaf_index == 0 and proof.checkpoint.tree_size == 2
    entries = world.ok("public", "GET", "/v1/log/entries")
    assert [(e["kind"], e["subject_id"]) for e in entries] == [
        ("submission", sid),
        ("publication", sid),
    ]
    version = world.ok("public", "GET", f"/v1/versions/{submission['version_id']}")
    assert [a["id"] for a in version["audits"]] == [sid]
    assert version["audits"][0]["tester"] == "lab"


@pytest.mark.parametrize("tamper", ["payload", "report", "other_key", "wrong_model"])
def test_submission_failing_verification_is_refused_with_a_reason(
    world: World, tmp_path: Path, tamper: str
) -> None:
    eid = engagement_in(world, "testing")["id"]
    envelope, report = audit_folder(tmp_path / "audit")
    expected = "verification failed"
    if tamper == "payload":
        statement = json.loads(base64.b64decode(envelope["payload"]))
        statement["predicate"]["decision"]["action"] = "deploy-everywhere"
        envelope = copy.deepcopy(envelope)
        envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
        expected = "does not verify"
    elif tamper == "report":
        report = report.replace('"quick"', '"quick-edited"')
        expected = "subject report.json"
    elif tamper == "other_key":
        publish_keys(world, "other_tester", "other")
        envelope, report = audit_folder(tmp_path / "other", key_name="other")
        expected = "not signed by a key registered to your organisation"
    else:
        envelope, report = audit_folder(
            tmp_path / "m", fingerprint=("assay-manifest-v1", "sha256:" + "0" * 64)
        )
        expected = "is not the engagement's model version"
    response = _submit(world, eid, envelope, report)
    assert response.status_code == 422, response.text
    assert expected in response.json()["error"]["message"]
    assert world.ok("public", "GET", "/v1/log")["size"] == 0
    assert world.ok("tester", "GET", f"/v1/engagements/{eid}")["state"] == "testing"


def test_submission_before_testing_is_a_conflict(world: World, tmp_path: Path) -> None:
    eid = engagement_in(world, "access_granted")["id"]
    envelope, report = audit_folder(tmp_path / "audit")
    assert _submit(world, eid, envelope, report).status_code == 409


def test_developer_cosigns_a_submission(world: World, tmp_path: Path) -> None:
    eid = engagement_in(world, "testing")["id"]
    envelope, report = audit_folder(tmp_path / "audit")
    sid = _submit(world, eid, envelope, report).json()["id"]
    dev_keys = publish_keys(world, "developer", "gateway")
    key = load_or_create_key("gateway")
    signed = add_signature(envelope, key)
    sig = next(s["sig"] for s in signed["signatures"] if s["keyid"] == key.key_id)
    # a signature over something else is refused
    bad = base64.b64encode(key.sign(pae("x", b"y"))).decode()
    refused = world.call(
        "developer", "POST", f"/v1/submissions/{sid}/cosign", {"keyid": key.key_id, "sig": bad}
    )
    assert refused.status_code == 422
    out = world.ok(
        "developer", "POST", f"/v1/submissions/{sid}/cosign", {"keyid": key.key_id, "sig": sig}
    )
    assert out["cosigners"] == [dev_keys["signing"]]
    served = world.ok("developer", "GET", f"/v1/submissions/{sid}/attestation")
    assert {s["keyid"] for s in served["signatures"]} == {
        load_or_create_key("tester").key_id,
        key.key_id,
    }
    # the tester may not co-sign in the developer's name
    assert (
        world.call(
            "tester", "POST", f"/v1/submissions/{sid}/cosign", {"keyid": key.key_id, "sig": sig}
        ).status_code
        == 403
    )


def test_documents_are_checked_before_stored_and_served_by_visibility(world: World) -> None:
    version = register_version(world, release="internal")
    vid = version["id"]
    doc = world.ok("developer", "GET", f"/v1/versions/{vid}")["documents"][0]
    assert (
        world.client.get(f"/v1/documents/{doc['id']}", headers=world.as_("developer")).content
        == CARD
    )
    # an internal version's documents are not public
    assert world.call("public", "GET", f"/v1/documents/{doc['id']}").status_code == 404
    bad = {
        "kind": "other",
        "filename": "x.pdf",
        "media_type": "application/pdf",
        "content_b64": base64.b64encode(b"not a pdf").decode(),
    }
    response = world.call("developer", "POST", f"/v1/versions/{vid}/documents", bad)
    assert response.status_code == 422 and "not a PDF" in response.json()["error"]["message"]
    wrong = dict(bad, media_type="text/plain", sha256="sha256:" + "1" * 64)
    assert (
        world.call("developer", "POST", f"/v1/versions/{vid}/documents", wrong).json()["error"][
            "code"
        ]
        == "digest_mismatch"
    )
    assert len(world.ok("developer", "GET", f"/v1/versions/{vid}")["documents"]) == 1


def test_public_reads_carry_etags(world: World) -> None:
    publish_service(world)
    first = world.client.get("/v1/services")
    etag = first.headers["etag"]
    again = world.client.get("/v1/services", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    publish_service(world, "other_tester")
    changed = world.client.get("/v1/services", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_listings_paginate(world: World) -> None:
    for _ in range(5):
        publish_service(world)
    seen, cursor = [], None
    while True:
        page = world.ok(
            "public", "GET", "/v1/services?limit=2" + (f"&cursor={cursor}" if cursor else "")
        )
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["items"]) == 2
    assert seen == sorted(seen) and len(seen) == 5


def test_tokens_expire_and_are_revoked_at_once(world: World) -> None:
    assert world.call("revoked", "GET", "/v1/whoami").status_code == 401
    assert "expired" in world.call("expired", "GET", "/v1/whoami").json()["error"]["message"]
    issued = world.ok(
        "tester",
        "POST",
        "/v1/tokens",
        {"user": "member@lab", "scopes": ["submit"], "expires_in_days": 1},
    )
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert world.client.get("/v1/whoami", headers=headers).json()["scopes"] == ["read", "submit"]
    from datetime import timedelta

    world.clock.advance(timedelta(days=1))
    assert world.client.get("/v1/whoami", headers=headers).status_code == 401
    # a member cannot hold an admin token
    refused = world.call(
        "tester", "POST", "/v1/tokens", {"user": "member@lab", "scopes": ["admin"]}
    )
    assert refused.status_code == 422


def test_engagement_request_must_fit_the_service(world: World) -> None:
    version = register_version(world)
    service = world.ok(
        "tester",
        "POST",
        "/v1/services",
        {"name": "black only", "tiers": ["black"], "suites": ["a"]},
    )
    response = world.call(
        "developer",
        "POST",
        "/v1/engagements",
        {"service_id": service["id"], "version_id": version["id"], "scope": {"tier": "white"}},
    )
    assert response.status_code == 422 and "does not offer the white tier" in response.text
    response = world.call(
        "developer",
        "POST",
        "/v1/engagements",
        {
            "service_id": service["id"],
            "version_id": version["id"],
            "scope": {"tier": "black", "suites": ["b"]},
        },
    )
    assert response.status_code == 422 and "does not run these suites: b" in response.text
    _ = request_engagement


def test_cursor_beyond_32_bit_ids_is_a_422_not_a_server_error(world: World) -> None:
    # found by schemathesis on PostgreSQL: a cursor past 2**31-1 reached the database
    for path in ("/v1/orgs", "/v1/submissions", "/v1/models", "/v1/services"):
        response = world.call("public", "GET", f"{path}?cursor=3000000000")
        assert response.status_code == 422, (path, response.text)
        assert "cursor" in response.json()["error"]["message"]


def test_every_history_table_refuses_update_and_delete_in_the_database(
    world: World, tmp_path: Path
) -> None:
    import importlib.util

    from assay.registry._db import APPEND_ONLY_TABLES, MIGRATIONS

    triggered: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("[0-9]*.py")):
        spec = importlib.util.spec_from_file_location(f"registry_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        triggered |= set(getattr(migration, "APPEND_ONLY", ()))
    # a new append-only model without its trigger in the migrations fails here
    assert triggered == set(APPEND_ONLY_TABLES)
    assert {"finding_events", "reproduction_boxes"} <= triggered
    eid = engagement_in(world, "testing")["id"]
    envelope, report = audit_folder(tmp_path / "audit")
    sid = _submit(world, eid, envelope, report).json()["id"]
    publish_keys(world, "developer", "gateway")
    key = load_or_create_key("gateway")
    sig = next(
        s["sig"] for s in add_signature(envelope, key)["signatures"] if s["keyid"] == key.key_id
    )
    world.ok(
        "developer", "POST", f"/v1/submissions/{sid}/cosign", {"keyid": key.key_id, "sig": sig}
    )
    world.ok("tester", "POST", f"/v1/submissions/{sid}/publish")  # a second leaf: a node
    from tests.registry._findings_flow import file_finding

    version = world.ok("tester", "GET", f"/v1/engagements/{eid}")["version_id"]
    file_finding(world, version, "rows")  # a trail and sealed boxes
    for table in (*APPEND_ONLY_TABLES, "tlog_leaves", "tlog_nodes"):
        with world.state.engine.connect() as connection:
            assert connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one() > 0
        column = "idx" if table.startswith("tlog") else "id"
        if table == "log_records":
            column = "log_index"
        for statement in (f"DELETE FROM {table}", f"UPDATE {table} SET {column} = {column}"):
            with (
                world.state.engine.connect() as connection,
                pytest.raises(Exception, match="append-only"),
            ):
                connection.execute(text(statement))
