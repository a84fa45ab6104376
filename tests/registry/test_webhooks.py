"""Signed webhooks: the signature checked both ways against the Standard Webhooks
reference library, and the outbox: a receiver that is down loses nothing, across a
restart of the registry, and receives each event once (receivers drop repeats by
event id; the registry does not send repeats when nothing crashed)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from assay.registry import (
    RegistryConfig,
    WebhookPolicy,
    WebhookVerificationError,
    build_state,
    create_app,
    deliver_due,
    verify_webhook,
)
from assay.registry._db import OutboxMessage
from assay.registry._webhooks import backoff, new_secret, signed_headers
from tests.registry._findings_flow import disclosure_world, file_finding, step
from tests.registry.conftest import World


def test_signatures_agree_with_the_standard_webhooks_library() -> None:
    from standardwebhooks.webhooks import Webhook
    from standardwebhooks.webhooks import WebhookVerificationError as TheirError

    secret = new_secret()
    body = json.dumps({"type": "finding.filed", "data": {"x": "é"}}).encode()
    headers = signed_headers(secret, "evt_1", body)
    # ours, checked by theirs
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    # theirs, checked by ours
    theirs = Webhook(secret)
    stamp = int(time.time())
    from datetime import UTC, datetime

    signature = theirs.sign("evt_2", datetime.fromtimestamp(stamp, UTC), body.decode())
    ours = {"webhook-id": "evt_2", "webhook-timestamp": str(stamp), "webhook-signature": signature}
    assert verify_webhook(secret, ours, body)["type"] == "finding.filed"
    # a changed body, another secret, an old timestamp: refused by both
    with pytest.raises(TheirError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, headers, body + b" ")
    with pytest.raises(WebhookVerificationError):
        verify_webhook(new_secret(), headers, body)
    old = signed_headers(secret, "evt_3", body, timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError, match="too far"):
        verify_webhook(secret, old, body)
    with pytest.raises(TheirError):
        Webhook(secret).verify(body, old)


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = WebhookPolicy(first_retry=timedelta(seconds=30), max_interval=timedelta(hours=1))
    assert [backoff(n, policy) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(20, policy) == 3600


class Receiver:
    """An HTTP endpoint that verifies each delivery and keeps event ids; it binds its
    port only when started (until then, connections to it are refused)."""

    def __init__(self, secret: str = "", port: int | None = None) -> None:
        self.secret = secret
        self.received: list[str] = []  # every delivery's event id, repeats included
        self.processed: dict[str, dict[str, Any]] = {}  # what the receiver acted on
        self.fail_next = 0  # answer 500 after processing this many deliveries
        if port is None:
            probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
            port = int(probe.server_address[1])
            probe.server_close()
        self.port = port
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    event = verify_webhook(receiver.secret, dict(self.headers), body)
                except WebhookVerificationError:
                    self.send_response(400)
                    self.end_headers()
                    return
                event_id = self.headers["webhook-id"]
                receiver.received.append(event_id)
                receiver.processed.setdefault(event_id, event)  # drop repeats by id
                failing = receiver.fail_next > 0
                receiver.fail_next -= failing
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def test_a_receiver_that_is_down_loses_nothing_across_a_restart(
    world: World, receiver: Receiver
) -> None:
    world.state.webhooks = WebhookPolicy(allow_private_addresses=True)
    setup = disclosure_world(world)
    made = world.ok("developer", "POST", "/v1/webhooks", {"url": receiver.url})
    receiver.secret = made["secret"]
    # the receiver is down: connections are refused
    fid = file_finding(world, setup["version"]["id"], "hooks")["id"]
    step(world, "developer", fid, "acknowledge")
    step(world, "developer", fid, "claim-fix")
    assert deliver_due(world.state) == 0
    with world.state.sessions() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert len(rows) == 3 and all(r.attempts == 1 and r.last_error for r in rows)
    shown = world.ok("developer", "GET", f"/v1/webhooks/{made['id']}/deliveries")["items"]
    assert [d["event_type"] for d in shown] == [
        "finding.filed",
        "finding.acknowledged",
        "finding.fix_claimed",
    ]
    assert all(d["attempts"] == 1 and d["delivered_at"] is None and d["last_error"] for d in shown)
    assert world.ok("developer", "GET", "/v1/webhooks")[0]["pending"] == 3
    first_retry = rows[0].next_attempt_at
    assert deliver_due(world.state) == 0  # not due yet: nothing is tried
    world.clock.advance(timedelta(seconds=31))
    deliver_due(world.state)  # a second failed round waits twice as long
    with world.state.sessions() as session:
        again = session.get(OutboxMessage, rows[0].id)
        assert again is not None and again.attempts == 2
        assert again.next_attempt_at - first_retry >= timedelta(seconds=60)

    # the registry restarts: a new process on the same database
    url = world.state.engine.url.render_as_string(hide_password=False)
    world.client.close()
    world.state.engine.dispose()
    restarted = build_state(RegistryConfig(database_url=url, clock=world.clock))
    restarted.webhooks = WebhookPolicy(allow_private_addresses=True)
    create_app(restarted)
    receiver.start()  # the receiver is back
    world.clock.advance(timedelta(minutes=5))
    assert deliver_due(restarted) == 3
    world.clock.advance(timedelta(days=1))
    assert deliver_due(restarted) == 0
    with restarted.sessions() as session:
        ids = [
            m.event_id for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]
    assert receiver.received == ids  # each event once, in order
    assert [e["type"] for e in receiver.processed.values()] == [
        "finding.filed",
        "finding.acknowledged",
        "finding.fix_claimed",
    ]
    event = receiver.processed[ids[0]]
    assert event["data"]["finding"]["id"] == fid and event["data"]["step"]["by"] == "lab"
    assert "FULL-hooks" not in json.dumps(event)  # a brief, not the description
    restarted.engine.dispose()


def test_a_delivery_is_repeated_until_acknowledged_and_receivers_drop_repeats(
    world: World, receiver: Receiver
) -> None:
    """A receiver that processed an event but answered 500 gets it again: at least
    once on the wire, once in effect."""
    world.state.webhooks = WebhookPolicy(allow_private_addresses=True)
    setup = disclosure_world(world)
    receiver.secret = world.ok("developer", "POST", "/v1/webhooks", {"url": receiver.url})["secret"]
    receiver.fail_next = 1
    receiver.start()
    file_finding(world, setup["version"]["id"], "repeat")
    assert deliver_due(world.state) == 0
    world.clock.advance(timedelta(minutes=1))
    assert deliver_due(world.state) == 1
    assert len(receiver.received) == 2 and len(set(receiver.received)) == 1
    assert len(receiver.processed) == 1


def test_private_addresses_are_refused_unless_the_registry_allows_them(
    world: World, receiver: Receiver
) -> None:
    setup = disclosure_world(world)
    receiver.secret = world.ok("developer", "POST", "/v1/webhooks", {"url": receiver.url})["secret"]
    receiver.start()
    file_finding(world, setup["version"]["id"], "private")
    assert deliver_due(world.state) == 0
    assert receiver.received == []
    with world.state.sessions() as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert "private address" in (row.last_error or "")


def test_webhook_secrets_are_shown_once_and_endpoints_are_the_organisations_own(
    world: World,
) -> None:
    made = world.ok("developer", "POST", "/v1/webhooks", {"url": "https://hooks.example/x"})
    assert made["secret"].startswith("whsec_")
    listed = world.ok("developer", "GET", "/v1/webhooks")
    assert listed[0]["id"] == made["id"] and "secret" not in listed[0]
    assert world.call("tester", "POST", f"/v1/webhooks/{made['id']}/disable").status_code == 404
    assert world.call("public", "GET", "/v1/webhooks").status_code == 401
    member = {"Authorization": f"Bearer {world.parties['developer'].member_token}"}
    assert world.client.get("/v1/webhooks", headers=member).status_code == 403
    off = world.ok("developer", "POST", f"/v1/webhooks/{made['id']}/disable")
    assert off["disabled_at"] is not None
