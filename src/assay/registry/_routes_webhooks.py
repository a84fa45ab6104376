"""An organisation's webhooks: the endpoints its notifications go to, and their
deliveries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from assay.registry._db import Organisation, OutboxMessage, Webhook
from assay.registry._deps import Caller, Db, IntId, Paging, now, paginate, respond
from assay.registry._policy import Action, authorize
from assay.registry._resources import org_resource
from assay.registry._schemas import DeliveryOut, NewWebhookOut, Page, WebhookIn, WebhookOut
from assay.registry._visibility import Principal, Resource
from assay.registry._webhooks import new_secret

router = APIRouter(tags=["webhooks"])


def _webhook_out(db: Db, hook: Webhook) -> WebhookOut:
    of_hook = select(func.count(OutboxMessage.id)).where(OutboxMessage.webhook_id == hook.id)
    delivered = db.scalar(of_hook.where(OutboxMessage.delivered_at.is_not(None))) or 0
    failed = db.scalar(of_hook.where(OutboxMessage.failed_at.is_not(None))) or 0
    pending = (
        db.scalar(
            of_hook.where(OutboxMessage.delivered_at.is_(None), OutboxMessage.failed_at.is_(None))
        )
        or 0
    )
    return WebhookOut(
        id=hook.id,
        url=hook.url,
        description=hook.description,
        created_at=hook.created_at,
        disabled_at=hook.disabled_at,
        pending=pending,
        delivered=delivered,
        failed=failed,
    )


def _own_org(db: Db, caller: Principal) -> Any:
    org = db.get(Organisation, caller.org_id) if caller.org_id is not None else None
    return org_resource(org) if org is not None else None


@router.get("/v1/webhooks", response_model=list[WebhookOut])
def list_webhooks(request: Request, caller: Caller, db: Db) -> Response:
    """Your organisation's webhook endpoints and their delivery counts."""
    authorize(caller, Action.MANAGE_WEBHOOKS, _own_org(db, caller))
    hooks = db.scalars(select(Webhook).where(Webhook.org_id == caller.org_id).order_by(Webhook.id))
    return respond(request, caller, [_webhook_out(db, h).model_dump(mode="json") for h in hooks])


@router.post("/v1/webhooks", response_model=NewWebhookOut, status_code=201)
def create_webhook(request: Request, caller: Caller, db: Db, body: WebhookIn) -> Response:
    """Subscribe an endpoint to your organisation's notifications: every step of the
    findings you are a party to. The secret that signs them is in this response only."""
    authorize(caller, Action.MANAGE_WEBHOOKS, _own_org(db, caller))
    assert caller.org_id is not None
    hook = Webhook(
        org_id=caller.org_id,
        url=body.url,
        secret=new_secret(),
        description=body.description,
        created_at=now(request),
        disabled_at=None,
    )
    db.add(hook)
    db.commit()
    out = NewWebhookOut(**_webhook_out(db, hook).model_dump(), secret=hook.secret)
    return respond(request, caller, out, status_code=201)


def _own_webhook(db: Db, caller: Principal, webhook_id: int) -> Webhook:
    hook = db.get(Webhook, webhook_id)
    authorize(
        caller,
        Action.MANAGE_WEBHOOKS,
        Resource(kind="webhook", id=webhook_id, owner_org_id=hook.org_id if hook else None),
    )
    assert hook is not None
    return hook


@router.post("/v1/webhooks/{webhook_id}/disable", response_model=WebhookOut)
def disable_webhook(request: Request, caller: Caller, db: Db, webhook_id: IntId) -> Response:
    """Stop sending to an endpoint (its undelivered notifications are dropped)."""
    hook = _own_webhook(db, caller, webhook_id)
    if hook.disabled_at is None:
        hook.disabled_at = now(request)
        db.commit()
    return respond(request, caller, _webhook_out(db, hook))


@router.get("/v1/webhooks/{webhook_id}/deliveries", response_model=Page[DeliveryOut])
def list_deliveries(
    request: Request, caller: Caller, db: Db, page: Paging, webhook_id: IntId
) -> Response:
    """The endpoint's notifications, newest last: attempts, status, last error."""
    hook = _own_webhook(db, caller, webhook_id)
    rows, cursor = paginate(
        db,
        select(OutboxMessage).where(OutboxMessage.webhook_id == hook.id),
        OutboxMessage.id,
        page,
        lambda _: True,
    )
    items = [
        DeliveryOut(
            id=m.id,
            event_id=m.event_id,
            event_type=m.event_type,
            created_at=m.created_at,
            attempts=m.attempts,
            next_attempt_at=m.next_attempt_at,
            delivered_at=m.delivered_at,
            failed_at=m.failed_at,
            last_status=m.last_status,
            last_error=m.last_error,
        )
        for m in rows
    ]
    return respond(request, caller, Page[DeliveryOut](items=items, next_cursor=cursor))
