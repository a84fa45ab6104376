"""Signed webhooks from a persistent outbox.

Each notification is a row of ``outbox``, written in the transaction of the event it
announces, one per subscribed endpoint of each organisation that may see the event
(the visibility function decides, as it does for pages). A sender claims due rows
(several processes may run one), POSTs them and marks them delivered, or schedules
the next attempt with exponential back-off; rows survive restarts because they are in
the database. Delivery is at least once: receivers drop repeats by the event id.

Signatures follow the Standard Webhooks specification (the scheme of Stripe, Svix
and others): the headers ``webhook-id`` (the event id), ``webhook-timestamp`` (Unix
seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
``{id}.{timestamp}.{body}`` with the endpoint's secret (``whsec_<base64>``). The
timestamp is the wall-clock time of sending (receivers compare it with theirs to
refuse replays); every schedule is on the registry's clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from assay._util.db import aware
from assay.registry._db import Finding, FindingEvent, Organisation, OutboxMessage, Webhook
from assay.registry._types import OrgKind
from assay.registry._visibility import Sight, org_principal, sight

if TYPE_CHECKING:
    from assay.registry._app import RegistryState

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = 5 * 60
DELIVERY_LEASE_SECONDS = 60


@dataclass(frozen=True)
class WebhookPolicy:
    """How notifications are retried: exponential back-off from ``first_retry``,
    capped at ``max_interval``, given up after ``max_attempts``."""

    first_retry: timedelta = timedelta(seconds=30)
    max_interval: timedelta = timedelta(hours=6)
    max_attempts: int = 18
    timeout_seconds: float = 10.0
    allow_private_addresses: bool = False


class WebhookVerificationError(ValueError):
    """A webhook delivery whose signature or timestamp does not check."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("the webhook secret is not whsec_<base64>") from None


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for ``body``."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signed_headers(
    secret: str, event_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    moment = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(moment),
        "webhook-signature": sign(secret, event_id, moment, body),
        "content-type": "application/json",
    }


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a delivery as a receiver: signature by ``secret`` over the id, timestamp
    and body, a timestamp within ``tolerance`` seconds; returns the parsed body.
    Keep the ``webhook-id`` values you have processed and drop repeats."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        event_id = lower["webhook-id"]
        stamp = lower["webhook-timestamp"]
        given = lower["webhook-signature"]
    except KeyError as exc:
        raise WebhookVerificationError(f"missing header {exc.args[0]}") from None
    if not stamp.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not Unix seconds")
    moment = int(stamp)
    current = time.time() if now is None else now
    if abs(current - moment) > tolerance:
        raise WebhookVerificationError("the timestamp is too far from now (a replay?)")
    expected = sign(secret, event_id, moment, body).partition(",")[2]
    for candidate in given.split():
        version, _, value = candidate.partition(",")
        if version == SIGNATURE_VERSION and hmac.compare_digest(value, expected):
            try:
                parsed: dict[str, Any] = json.loads(body)
            except ValueError:
                raise WebhookVerificationError("the body is not JSON") from None
            return parsed
    raise WebhookVerificationError("no signature matches")


# ---- the outbox ------------------------------------------------------------------------


def finding_brief(session: Session, finding: Finding, base_url: str) -> dict[str, Any]:
    from assay.registry._db import Model, ModelVersion

    version = session.get(ModelVersion, finding.version_id)
    assert version is not None
    model = session.get(Model, version.model_id)
    assert model is not None
    due = finding.publish_due_at
    return {
        "id": finding.id,
        "url": f"{base_url}/findings/{finding.id}",
        "title": finding.title,
        "state": finding.state,
        "severity": finding.severity,
        "national_security": finding.national_security,
        "risk_area": finding.risk_area,
        "system": model.name,
        "system_version": version.version,
        "publish_due_at": aware(due).isoformat() if due is not None else None,
    }


def enqueue(session: Session, finding: Finding, event: FindingEvent) -> int:
    """Queue the notifications of ``event`` for every organisation that sees the
    finding in full, to each of its active endpoints; returns how many."""
    from assay.registry._resources import finding_resource

    resource = finding_resource(finding)
    candidates = {finding.developer_org_id, finding.tester_org_id, *finding.authority_org_ids}
    orgs = session.scalars(select(Organisation).where(Organisation.id.in_(candidates)))
    readers = [
        o
        for o in orgs
        if sight(org_principal(o.id, o.slug, OrgKind(o.kind)), resource) is Sight.FULL
    ]
    if not readers:
        return 0
    hooks = list(
        session.scalars(
            select(Webhook).where(
                Webhook.org_id.in_([o.id for o in readers]), Webhook.disabled_at.is_(None)
            )
        )
    )
    if not hooks:
        return 0
    base_url = session.info.get("public_url", "")
    actor = session.get(Organisation, event.actor_org_id) if event.actor_org_id else None
    body = json.dumps(
        {
            "type": f"finding.{event.action}",
            "timestamp": aware(event.at).isoformat(),
            "data": {
                "event_id": event.event_id,
                "finding": finding_brief(session, finding, base_url),
                "step": {
                    "action": event.action,
                    "from_state": event.from_state,
                    "to_state": event.to_state,
                    "by": actor.slug if actor else "registry",
                    "reason": event.reason,
                    "at": aware(event.at).isoformat(),
                },
            },
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    for hook in hooks:
        session.add(
            OutboxMessage(
                event_id=event.event_id,
                event_type=f"finding.{event.action}",
                webhook_id=hook.id,
                org_id=hook.org_id,
                body=body,
                created_at=event.at,
                next_attempt_at=event.at,
                attempts=0,
            )
        )
    return len(hooks)


def backoff(attempts: int, policy: WebhookPolicy) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones."""
    base: float = policy.first_retry.total_seconds() * 2.0 ** max(0, attempts - 1)
    return min(base, policy.max_interval.total_seconds())


def _private(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local:
            return True
    return False


def deliver_due(reg: RegistryState, *, limit: int = 100) -> int:
    """Send every due notification once (claiming each, so parallel senders do not
    send the same row at the same time); returns how many were delivered."""
    policy = reg.webhooks
    now = reg.clock.now()
    with reg.sessions() as session:
        ids = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.delivered_at.is_(None),
                    OutboxMessage.failed_at.is_(None),
                    OutboxMessage.next_attempt_at <= now,
                    or_(
                        OutboxMessage.claimed_until.is_(None),
                        OutboxMessage.claimed_until < now,
                    ),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
        )
    delivered = 0
    with httpx.Client(timeout=policy.timeout_seconds, follow_redirects=False) as http:
        for message_id in ids:
            delivered += _deliver_one(reg, http, message_id, now)
    return delivered


def _claim(reg: RegistryState, message_id: int, now: datetime) -> bool:
    with reg.sessions() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.delivered_at.is_(None),
                OutboxMessage.failed_at.is_(None),
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            )
            .values(
                claimed_until=now + timedelta(seconds=DELIVERY_LEASE_SECONDS),
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return bool(getattr(result, "rowcount", 0) == 1)


def _deliver_one(reg: RegistryState, http: httpx.Client, message_id: int, now: datetime) -> int:
    if not _claim(reg, message_id, now):
        return 0
    policy = reg.webhooks
    with reg.sessions() as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        hook = session.get(Webhook, message.webhook_id)
        assert hook is not None
        status: int | None = None
        error: str | None = None
        if hook.disabled_at is not None:
            error = "the webhook was disabled"
        elif not policy.allow_private_addresses and _private(hook.url):
            error = "the webhook's host is a private address (not allowed by this registry)"
        else:
            body = message.body.encode()
            try:
                response = http.post(
                    hook.url,
                    content=body,
                    headers=signed_headers(hook.secret, message.event_id, body),
                )
                status = response.status_code
                if not 200 <= status < 300:
                    error = f"answered {status}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
        message.last_status = status
        message.last_error = error
        message.claimed_until = None
        if error is None:
            message.delivered_at = now
        elif hook.disabled_at is not None or message.attempts >= policy.max_attempts:
            message.failed_at = now
        else:
            message.next_attempt_at = now + timedelta(seconds=backoff(message.attempts, policy))
        session.commit()
        return int(error is None)
