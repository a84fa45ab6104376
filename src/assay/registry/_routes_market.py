"""The testing market: services, engagements and their state machine, gateway access."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import or_, select

from assay.registry._db import AccessGrant, Engagement, EngagementEvent, Service
from assay.registry._deps import Caller, Db, IntId, Paging, now, paginate, respond
from assay.registry._engagements import TRANSITION_ACTIONS, apply, next_state, record
from assay.registry._errors import conflict, decode_b64, invalid, not_found
from assay.registry._policy import Action, authorize
from assay.registry._resources import (
    EngagementView,
    current_key,
    engagement_resource,
    load_engagement,
    load_service,
    load_version,
    org_by_slug,
    service_resource,
    slug_of,
    slugs,
    version_resource,
)
from assay.registry._schemas import (
    AccessIn,
    AccessOut,
    EngagementIn,
    EngagementOut,
    EngagementScope,
    EventOut,
    Page,
    ServiceIn,
    ServiceOut,
    TransitionIn,
)
from assay.registry._sealed import SEAL_OVERHEAD
from assay.registry._types import EngagementState, KeyKind, Transition
from assay.registry._visibility import Sight, sight
from assay.tiers import Tier

router = APIRouter(tags=["market"])
MAX_SEALED_TOKEN = 4096


def service_out(db: Db, service: Service) -> ServiceOut:
    return ServiceOut(
        id=service.id,
        tester=slug_of(db, service.org_id),
        name=service.name,
        description=service.description,
        suites=service.suites,
        plans=service.plans,
        tiers=[Tier(t) for t in service.tiers],
        accreditations=service.accreditations,
        turnaround_days=service.turnaround_days,
        price=service.price,
        created_at=service.created_at,
        withdrawn_at=service.withdrawn_at,
    )


@router.get("/v1/services", response_model=Page[ServiceOut])
def list_services(
    request: Request,
    caller: Caller,
    db: Db,
    page: Paging,
    tester: str | None = Query(None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$"),
    include_withdrawn: bool = False,
) -> Response:
    """Testing services on offer (withdrawn ones on request)."""
    authorize(caller, Action.READ_PUBLIC)
    query = select(Service)
    if tester is not None:
        query = query.where(Service.org_id == org_by_slug(db, tester).id)
    if not include_withdrawn:
        query = query.where(Service.withdrawn_at.is_(None))
    rows, cursor = paginate(db, query, Service.id, page, lambda _: True)
    return respond(
        request,
        caller,
        Page[ServiceOut](items=[service_out(db, s) for s in rows], next_cursor=cursor),
    )


@router.post("/v1/services", response_model=ServiceOut, status_code=201)
def publish_service(request: Request, caller: Caller, db: Db, body: ServiceIn) -> Response:
    """Publish a testing service (testing organisations)."""
    authorize(caller, Action.PUBLISH_SERVICE)
    assert caller.org_id is not None
    service = Service(
        org_id=caller.org_id,
        name=body.name,
        description=body.description,
        suites=list(body.suites),
        plans=list(body.plans),
        tiers=[t.value for t in body.tiers],
        accreditations=[a.model_dump(mode="json") for a in body.accreditations],
        turnaround_days=body.turnaround_days,
        price=body.price.model_dump(mode="json"),
        created_at=now(request),
        withdrawn_at=None,
    )
    db.add(service)
    db.commit()
    return respond(request, caller, service_out(db, service), status_code=201)


@router.get("/v1/services/{service_id}", response_model=ServiceOut)
def show_service(request: Request, caller: Caller, db: Db, service_id: IntId) -> Response:
    service = load_service(db, service_id)
    authorize(caller, Action.READ_PUBLIC, service_resource(service))
    return respond(request, caller, service_out(db, service))


@router.post("/v1/services/{service_id}/withdraw", response_model=ServiceOut)
def withdraw_service(request: Request, caller: Caller, db: Db, service_id: IntId) -> Response:
    """Stop offering a service; engagements already requested go on."""
    service = load_service(db, service_id)
    authorize(caller, Action.EDIT_SERVICE, service_resource(service))
    if service.withdrawn_at is None:
        service.withdrawn_at = now(request)
        db.commit()
    return respond(request, caller, service_out(db, service))


# ---- engagements -----------------------------------------------------------------------


def engagement_out(db: Db, engagement: Engagement, *, history: bool) -> EngagementOut:
    names = slugs(db, {engagement.developer_org_id, engagement.tester_org_id})
    version, model = load_version(db, engagement.version_id)
    out = EngagementOut(
        id=engagement.id,
        service_id=engagement.service_id,
        developer=names[engagement.developer_org_id],
        tester=names[engagement.tester_org_id],
        version_id=engagement.version_id,
        model=model.name,
        version=version.version,
        state=EngagementState(engagement.state),
        scope=EngagementScope(**engagement.scope),
        created_at=engagement.created_at,
        updated_at=engagement.updated_at,
    )
    if history:
        events = list(
            db.scalars(
                select(EngagementEvent)
                .where(EngagementEvent.engagement_id == engagement.id)
                .order_by(EngagementEvent.id)
            )
        )
        actors = slugs(db, {e.actor_org_id for e in events})
        out.history = [
            EventOut(
                action=e.action,
                from_state=EngagementState(e.from_state) if e.from_state else None,
                to_state=EngagementState(e.to_state),
                actor=actors[e.actor_org_id],
                reason=e.reason,
                at=e.at,
            )
            for e in events
        ]
    return out


@router.get("/v1/engagements", response_model=Page[EngagementOut])
def list_engagements(
    request: Request,
    caller: Caller,
    db: Db,
    page: Paging,
    state: EngagementState | None = None,
) -> Response:
    """The engagements your organisation is a party to."""
    authorize(caller, Action.READ_RESTRICTED)
    query = select(Engagement).where(
        or_(
            Engagement.developer_org_id == caller.org_id,
            Engagement.tester_org_id == caller.org_id,
        )
    )
    if state is not None:
        query = query.where(Engagement.state == state.value)
    rows, cursor = paginate(
        db,
        query,
        Engagement.id,
        page,
        lambda e: sight(caller, engagement_resource(e)) is not Sight.NONE,
    )
    items = [engagement_out(db, e, history=False) for e in rows]
    return respond(request, caller, Page[EngagementOut](items=items, next_cursor=cursor))


@router.post("/v1/engagements", response_model=EngagementOut, status_code=201)
def request_engagement(request: Request, caller: Caller, db: Db, body: EngagementIn) -> Response:
    """Ask a testing organisation for one of its services, for one of your model versions."""
    version, model = load_version(db, body.version_id)
    authorize(caller, Action.REQUEST_ENGAGEMENT, version_resource(db, version, model))
    service = load_service(db, body.service_id)
    if service.withdrawn_at is not None:
        raise conflict("this service has been withdrawn", "withdrawn")
    scope = body.scope
    if scope.tier.value not in service.tiers:
        raise invalid(
            f"the service does not offer the {scope.tier.value} tier "
            f"(it offers {', '.join(service.tiers)})"
        )
    if service.suites and not set(scope.suites) <= set(service.suites):
        extra = ", ".join(sorted(set(scope.suites) - set(service.suites)))
        raise invalid(f"the service does not run these suites: {extra}")
    if scope.plan and service.plans and scope.plan not in service.plans:
        raise invalid(f"the service does not run the plan {scope.plan!r}")
    if scope.starts_on and scope.ends_on and scope.ends_on < scope.starts_on:
        raise invalid("the engagement's period ends before it starts")
    moment = now(request)
    engagement = Engagement(
        service_id=service.id,
        developer_org_id=model.org_id,
        tester_org_id=service.org_id,
        version_id=version.id,
        state=EngagementState.REQUESTED.value,
        scope=scope.model_dump(mode="json"),
        created_at=moment,
        updated_at=moment,
    )
    db.add(engagement)
    db.flush()
    record(db, engagement, "request", None, EngagementState.REQUESTED, caller, body.reason, moment)
    db.commit()
    return respond(request, caller, engagement_out(db, engagement, history=True), status_code=201)


@router.get("/v1/engagements/{engagement_id}", response_model=EngagementOut)
def show_engagement(request: Request, caller: Caller, db: Db, engagement_id: IntId) -> Response:
    """An engagement with its scope and its whole history."""
    view = load_engagement(db, engagement_id)
    authorize(caller, Action.READ_RESTRICTED, view.resource, view.parties)
    return respond(request, caller, engagement_out(db, view.row, history=True))


def _transition_route(transition: Transition, doc: str) -> None:
    """Add the route ``/v1/engagements/{engagement_id}/<transition>``."""

    def move(
        request: Request, caller: Caller, db: Db, engagement_id: IntId, body: TransitionIn
    ) -> Response:
        view = load_engagement(db, engagement_id)
        authorize(caller, TRANSITION_ACTIONS[transition], view.resource, view.parties)
        apply(db, view.row, transition, caller, body.reason, now(request))
        db.commit()
        return respond(request, caller, engagement_out(db, view.row, history=True))

    move.__name__ = move.__qualname__ = transition.value
    move.__doc__ = doc
    path = f"/v1/engagements/{{engagement_id}}/{transition.value}"
    router.post(path, response_model=EngagementOut)(move)


_transition_route(Transition.ACCEPT, "The testing organisation takes the engagement on.")
_transition_route(Transition.DECLINE, "The testing organisation declines (say why in reason).")
_transition_route(
    Transition.START, "The testing organisation starts testing (after access was granted)."
)
_transition_route(Transition.CLOSE, "Either party closes a reported engagement.")
_transition_route(
    Transition.CANCEL, "Either party cancels an engagement that has not reported yet."
)


def _access_out(engagement_id: int, grant: AccessGrant) -> AccessOut:
    return AccessOut(
        engagement_id=engagement_id,
        gateway_url=grant.gateway_url,
        tier=Tier(grant.tier),
        recipient_key_id=grant.recipient_key_id,
        sealed_token_b64=base64.b64encode(grant.sealed_token).decode(),
        created_at=grant.created_at,
    )


@router.post("/v1/engagements/{engagement_id}/access", response_model=AccessOut, status_code=201)
def grant_access(
    request: Request, caller: Caller, db: Db, engagement_id: IntId, body: AccessIn
) -> Response:
    """Hand the tester a gateway URL and a token sealed to one of the tester's X25519
    keys (the registry stores only the sealed box). A new grant replaces the last."""
    view = load_engagement(db, engagement_id)
    authorize(caller, Action.GRANT_ACCESS, view.resource, view.parties)
    engagement = view.row
    target = next_state(engagement, Transition.GRANT_ACCESS)
    agreed = Tier(engagement.scope["tier"])
    if not agreed.allows(body.tier):
        raise invalid(f"the engagement agreed {agreed.value} tier, not {body.tier.value}")
    key = current_key(db, body.recipient_key_id, KeyKind.SEALING, {engagement.tester_org_id})
    if key is None:
        raise invalid(
            "recipient_key_id is not a current sealing key of the testing organisation",
            "wrong_recipient",
        )
    sealed = decode_b64(body.sealed_token_b64, "sealed_token_b64")
    if not SEAL_OVERHEAD < len(sealed) <= MAX_SEALED_TOKEN:
        raise invalid("sealed_token_b64 is not a sealed box of a token (wrong length)")
    moment = now(request)
    grant = AccessGrant(
        engagement_id=engagement.id,
        gateway_url=body.gateway_url,
        tier=body.tier.value,
        recipient_key_id=key.id,
        sealed_token=sealed,
        created_by=caller.user_id,
        created_at=moment,
    )
    db.add(grant)
    apply(db, engagement, Transition.GRANT_ACCESS, caller, f"gateway {body.gateway_url}", moment)
    assert EngagementState(engagement.state) is target
    db.commit()
    return respond(request, caller, _access_out(engagement.id, grant), status_code=201)


@router.get("/v1/engagements/{engagement_id}/access", response_model=AccessOut)
def read_access(request: Request, caller: Caller, db: Db, engagement_id: IntId) -> Response:
    """The latest gateway access of the engagement, its token still sealed."""
    view: EngagementView = load_engagement(db, engagement_id)
    authorize(caller, Action.READ_ACCESS, view.resource, view.parties)
    grant = db.scalar(
        select(AccessGrant)
        .where(AccessGrant.engagement_id == engagement_id)
        .order_by(AccessGrant.id.desc())
        .limit(1)
    )
    if grant is None:
        raise not_found("access grant (the developer has not granted access yet)")
    return respond(request, caller, _access_out(engagement_id, grant))
