"""Findings and their disclosure: filing, the parties' steps, sealed reproduction
material, publication proofs (the organisation's webhooks are in ``_routes_webhooks``).

Longer than most modules (under 900 lines): filing, reading and every step of a
finding share the one rendering of a finding (:func:`finding_out`, also used by the
pages and the feed), the step table and the checks of sealed reproduction material;
split apart they would import each other. The webhooks are in ``_routes_webhooks``.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from assay._util.db import aware
from assay._util.hashing import sha256_bytes
from assay.attest import LogError, RecordsError, parse_envelope, verify_disclosure
from assay.registry._clock import utc
from assay.registry._db import (
    Finding,
    LogRecord,
    Organisation,
    OrgKey,
    ReproductionBox,
    Submission,
)
from assay.registry._deps import Caller, Db, IntId, Paging, State, now, paginate, respond
from assay.registry._errors import RegistryError, conflict, decode_b64, invalid, not_found
from assay.registry._findings import (
    STEPS,
    allowed_from,
    authorities_for,
    check_step,
    events_of,
    publication_reason,
    publish,
    record_filing,
    record_step,
)
from assay.registry._log import publication_entry
from assay.registry._policy import Action, authorize
from assay.registry._resources import (
    FindingView,
    current_key,
    finding_resource,
    load_engagement,
    load_finding,
    load_version,
    reproduction_resource,
    slugs,
    submission_resource,
    version_resource,
)
from assay.registry._schemas import (
    BoxOut,
    ClaimFixIn,
    ExtensionIn,
    FindingIn,
    FindingOut,
    Page,
    Prevalence,
    PublicationProofOut,
    RecipientOut,
    ReleaseIn,
    ReproductionIn,
    ReproductionOut,
    StepIn,
    TrailOut,
)
from assay.registry._sealed import SEAL_OVERHEAD
from assay.registry._types import (
    FindingState,
    FindingStep,
    KeyKind,
    OrgKind,
    Severity,
)
from assay.registry._visibility import Principal, Sight, sight

if TYPE_CHECKING:
    from assay.registry._app import RegistryState

router = APIRouter(tags=["findings"])
MAX_DISCLOSURE_BYTES = 2 * 1024 * 1024
MAX_BOX_BYTES = 2 * 1024 * 1024
# the steps a party takes through the API, by the name of their route
STEP_ROUTES: dict[str, FindingStep] = {
    "acknowledge": FindingStep.ACKNOWLEDGE,
    "dispute": FindingStep.DISPUTE,
    "claim-fix": FindingStep.CLAIM_FIX,
    "confirm-fix": FindingStep.CONFIRM_FIX,
    "reject-fix": FindingStep.REJECT_FIX,
    "propose-extension": FindingStep.PROPOSE_EXTENSION,
    "agree-extension": FindingStep.EXTEND,
    "attach-reproduction": FindingStep.ATTACH_REPRODUCTION,
    "release-reproduction": FindingStep.RELEASE_REPRODUCTION,
}
# the bodies of the steps that carry no reproduction material
StepBody = StepIn | ClaimFixIn | ExtensionIn


# ---- what a caller sees ----------------------------------------------------------------


def allowed_actions(caller: Principal, view: FindingView) -> list[str]:
    """The steps ``caller`` may take on the finding now (policy, then state)."""
    finding = view.row
    names = []
    for name, step in STEP_ROUTES.items():
        action = STEPS[step].action
        assert action is not None
        try:
            authorize(caller, action, view.resource, view.parties)
        except RegistryError:
            continue
        if not allowed_from(finding, step):
            continue
        pending = finding.pending_extension
        if step is FindingStep.EXTEND and (pending is None or pending["org_id"] == caller.org_id):
            continue
        if step is FindingStep.ATTACH_REPRODUCTION and finding.reproduction_commitment:
            continue
        if step is FindingStep.RELEASE_REPRODUCTION and (
            finding.released_at is not None or not finding.reproduction_commitment
        ):
            continue
        names.append(name)
    return names


def _aware(moment: datetime | None) -> datetime | None:
    return aware(moment) if moment is not None else None


def finding_out(db: Db, caller: Principal, finding: Finding, seen: Sight) -> FindingOut:
    """The one rendering of a finding for a reader who sees ``seen`` of it (the API,
    the pages and the feed all take it from here)."""
    assert seen is not Sight.NONE
    full = seen is Sight.FULL
    version, model = load_version(db, finding.version_id)
    events = events_of(db, finding.id)
    names = slugs(
        db,
        {
            finding.developer_org_id,
            finding.tester_org_id,
            *finding.authority_org_ids,
            *(e.actor_org_id for e in events if e.actor_org_id is not None),
        },
    )
    submission_id = None
    attestation = None
    if finding.submission_id is not None:
        sub = db.get(Submission, finding.submission_id)
        assert sub is not None
        attestation = sub.statement_sha256
        engagement = load_engagement(db, sub.engagement_id).row
        if sight(caller, submission_resource(sub, engagement)) is not Sight.NONE:
            submission_id = sub.id
    trail = [
        TrailOut(
            seq=e.seq,
            event_id=e.event_id,
            action=FindingStep(e.action),
            from_state=FindingState(e.from_state) if e.from_state else None,
            to_state=FindingState(e.to_state),
            by=names[e.actor_org_id] if e.actor_org_id is not None else "registry",
            at=aware(e.at),
            reason=e.reason if full else None,
            details=e.details if full else None,
        )
        for e in events
    ]
    out = FindingOut(
        id=finding.id,
        sight="full" if full else "summary",
        title=finding.title,
        summary=finding.summary,
        state=FindingState(finding.state),
        system=model.name,
        system_version=version.version,
        version_id=version.id,
        developer=names[finding.developer_org_id],
        reporter=names[finding.tester_org_id],
        risk_area=finding.risk_area,
        severity=Severity(finding.severity),
        national_security=finding.national_security,
        prevalence=finding.prevalence,
        impacts=list(finding.impacts),
        impacted_stakeholders=list(finding.stakeholders),
        policy_violation=finding.policy_violation,
        detection=finding.detection,
        submission_id=submission_id,
        attestation=attestation,
        filed_at=aware(finding.filed_at),
        published_at=_aware(finding.published_at),
        publication_log_index=finding.publication_log_index,
        public_digest=finding.public_digest,
        reproduction_released=finding.released_at is not None,
        trail=trail,
    )
    if full:
        recipients = db.scalars(
            select(ReproductionBox.recipient_org_id)
            .where(ReproductionBox.finding_id == finding.id)
            .order_by(ReproductionBox.id)
        )
        recipient_names = slugs(db, set(recipients))
        out.description = finding.description
        out.context_info = finding.context_info
        out.observed_at = _aware(finding.observed_at)
        out.engagement_id = finding.engagement_id
        out.disclosure = finding.disclosure
        out.authorities = [names[a] for a in finding.authority_org_ids]
        out.embargo_ends_at = aware(finding.embargo_ends_at)
        out.fix_released_at = _aware(finding.fix_released_at)
        out.publish_due_at = _aware(finding.publish_due_at)
        out.pending_extension = finding.pending_extension
        out.reproduction_recipients = sorted(recipient_names.values())
        out.reproduction_commitment = finding.reproduction_commitment
        out.allowed_actions = allowed_actions(caller, load_finding(db, finding.id))
    return out


def visible_findings(db: Db, caller: Principal, query: Any, page: Any) -> tuple[list[Any], Any]:
    return paginate(
        db,
        query,
        Finding.id,
        page,
        lambda f: sight(caller, finding_resource(f)) is not Sight.NONE,
    )


# ---- filing ----------------------------------------------------------------------------


def _citable_submission(db: Db, caller: Principal, version_id: int, sid: int) -> Submission:
    sub = db.get(Submission, sid)
    if sub is None or sub.version_id != version_id:
        raise invalid(f"submission {sid} is not a submission of this model version")
    if sub.org_id != caller.org_id and sub.published_at is None:
        raise invalid(f"submission {sid} is neither yours nor published")
    return sub


def _check_disclosure(sub: Submission, disclosure: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(disclosure)) > MAX_DISCLOSURE_BYTES:
        raise RegistryError(
            413, f"a disclosure is at most {MAX_DISCLOSURE_BYTES} bytes", code="too_large"
        )
    _, payload, _ = parse_envelope(sub.envelope)
    samples = json.loads(payload)["predicate"]["samples"]
    try:
        verify_disclosure(
            disclosure,
            statement_digest=sub.statement_sha256,
            tree_size=samples["tree_size"],
            root=bytes.fromhex(samples["root"]),
        )
    except RecordsError as exc:
        raise invalid(f"the disclosed records do not check: {exc}", "bad_disclosure") from None
    return disclosure


def _metric(sub: Submission, suite: str, name: str) -> dict[str, Any]:
    if sub.report is None:
        raise invalid(f"submission {sub.id} has no report.json to take the {name} from")
    report = json.loads(sub.report)
    for result in report.get("suites", []):
        if result.get("id") == suite:
            for metric in result.get("metrics", []):
                if metric.get("name") == name:
                    return dict(metric)
            raise invalid(f"suite {suite} of submission {sub.id} has no metric {name!r}")
    raise invalid(f"submission {sub.id} did not run suite {suite!r}")


def check_prevalence(db: Db, caller: Principal, version_id: int, p: Prevalence) -> dict[str, Any]:
    """The prevalence as stored: consistent, and, when it names an audit's metric,
    equal to what that audit's report.json says (filled in from it when left out)."""
    data = p.model_dump(mode="json")
    if p.interval is not None and p.interval.low > p.interval.high:
        raise invalid("prevalence.interval: low is above high")
    if (
        p.rate is not None
        and p.interval is not None
        and not p.interval.low <= p.rate <= p.interval.high
    ):
        raise invalid("prevalence.rate lies outside its interval")
    if p.submission_id is None:
        if p.suite or p.metric:
            raise invalid("prevalence.suite and .metric need prevalence.submission_id")
        return data
    sub = _citable_submission(db, caller, version_id, p.submission_id)
    if p.suite is not None and p.suite not in {r["suite"] for r in sub.summary["results"]}:
        raise invalid(f"submission {sub.id} did not run suite {p.suite!r}")
    if p.metric is None:
        return data
    if p.suite is None:
        raise invalid("prevalence.metric needs prevalence.suite")
    metric = _metric(sub, p.suite, p.metric)
    value, ci = metric.get("value"), metric.get("ci")
    if value is None or ci is None:
        raise invalid(f"{p.suite}/{p.metric} has no estimate in submission {sub.id}")
    if p.rate is not None and abs(p.rate - value) > 1e-9:
        raise invalid(
            f"prevalence.rate {p.rate} differs from the audit's {p.metric} {value}",
            "prevalence_mismatch",
        )
    if p.interval is not None and (
        abs(p.interval.low - ci["low"]) > 1e-9 or abs(p.interval.high - ci["high"]) > 1e-9
    ):
        raise invalid(
            f"prevalence.interval differs from the audit's [{ci['low']}, {ci['high']}]",
            "prevalence_mismatch",
        )
    data.update(
        rate=value,
        interval={"low": ci["low"], "high": ci["high"], "level": ci.get("level", 0.95)},
        n=metric.get("n"),
    )
    return data


def _check_boxes(
    db: Db, finding: Finding, reproduction: ReproductionIn
) -> list[tuple[OrgKey, bytes]]:
    required = {finding.developer_org_id, *finding.authority_org_ids}
    allowed = required | {finding.tester_org_id}
    checked: list[tuple[OrgKey, bytes]] = []
    orgs: set[int] = set()
    for box in reproduction.boxes:
        key = current_key(db, box.recipient_key_id, KeyKind.SEALING, allowed)
        if key is None:
            raise invalid(
                f"{box.recipient_key_id} is not a current sealing key of the developer, a "
                "notified authority or your organisation",
                "wrong_recipient",
            )
        if key.org_id in orgs:
            raise invalid("one box per recipient organisation", "wrong_recipient")
        sealed = decode_b64(box.sealed_b64, "sealed_b64")
        if not SEAL_OVERHEAD < len(sealed) <= MAX_BOX_BYTES:
            raise invalid(f"a sealed box is {SEAL_OVERHEAD + 1} to {MAX_BOX_BYTES} bytes")
        orgs.add(key.org_id)
        checked.append((key, sealed))
    missing = required - orgs
    if missing:
        names = ", ".join(sorted(slugs(db, missing).values()))
        raise invalid(
            f"the reproduction material must be sealed to every recipient: missing {names} "
            "(GET /v1/findings/recipients lists their keys)",
            "missing_recipient",
        )
    return checked


def _store_boxes(
    db: Db, finding: Finding, boxes: list[tuple[OrgKey, bytes]], caller: Principal, at: datetime
) -> None:
    for key, sealed in boxes:
        db.add(
            ReproductionBox(
                finding_id=finding.id,
                recipient_org_id=key.org_id,
                recipient_key_id=key.id,
                sealed=sealed,
                created_by=caller.user_id,
                created_at=at,
            )
        )


def _current_sealing_key(db: Db, org_id: int) -> OrgKey | None:
    return db.scalar(
        select(OrgKey)
        .where(
            OrgKey.org_id == org_id,
            OrgKey.kind == KeyKind.SEALING,
            OrgKey.revoked_at.is_(None),
        )
        .order_by(OrgKey.created_at.desc(), OrgKey.id)
        .limit(1)
    )


@router.get("/v1/findings/recipients", response_model=list[RecipientOut])
def recipients(
    request: Request,
    caller: Caller,
    db: Db,
    state: State,
    version_id: int = Query(ge=1, le=2**31 - 1),
    risk_area: str = Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$"),
    national_security: bool = False,
) -> Response:
    """Whom reproduction material for such a finding must be sealed to: the model's
    developer and, for a national-security finding, the authorities this registry
    routes it to; with each one's current X25519 key."""
    version, model = load_version(db, version_id)
    authorize(caller, Action.FILE_FINDING, version_resource(db, version, model))
    developer = db.get(Organisation, model.org_id)
    assert developer is not None and caller.org_id is not None
    orgs: list[tuple[Organisation, str, bool]] = [(developer, "developer", True)]
    if national_security:
        for authority in authorities_for(db, state.disclosure, developer, risk_area):
            orgs.append((authority, "authority", True))
    me = db.get(Organisation, caller.org_id)
    assert me is not None
    orgs.append((me, "tester", False))
    out = []
    for org, role, required in orgs:
        key = _current_sealing_key(db, org.id)
        out.append(
            RecipientOut(
                org=org.slug,
                kind=OrgKind(org.kind),
                role=role,
                required=required,
                key_id=key.id if key else None,
                public_key=key.public_key if key else None,
            ).model_dump(mode="json")
        )
    return respond(request, caller, out)


def create_finding(
    db: Db, state: RegistryState, caller: Principal, body: FindingIn, moment: datetime
) -> Finding:
    """Check and store a new finding, its sealed boxes and the first step of its trail
    (with its notifications); committed."""
    version, model = load_version(db, body.version_id)
    authorize(caller, Action.FILE_FINDING, version_resource(db, version, model))
    assert caller.org_id is not None
    if body.engagement_id is not None:
        engagement = load_engagement(db, body.engagement_id)
        authorize(caller, Action.READ_RESTRICTED, engagement.resource, engagement.parties)
        if engagement.row.tester_org_id != caller.org_id or engagement.row.version_id != version.id:
            raise invalid("the engagement is not yours, or not of this model version")
    sub = None
    if body.submission_id is not None:
        sub = _citable_submission(db, caller, version.id, body.submission_id)
    disclosure = None
    if body.disclosure is not None:
        if sub is None:
            raise invalid("a disclosure needs submission_id: the attestation it belongs to")
        disclosure = _check_disclosure(sub, body.disclosure)
    prevalence = check_prevalence(db, caller, version.id, body.prevalence)
    developer = db.get(Organisation, model.org_id)
    assert developer is not None
    authorities = (
        authorities_for(db, state.disclosure, developer, body.risk_area)
        if body.national_security
        else []
    )
    finding = Finding(
        version_id=version.id,
        developer_org_id=model.org_id,
        tester_org_id=caller.org_id,
        engagement_id=body.engagement_id,
        submission_id=sub.id if sub is not None else None,
        state=FindingState.FILED.value,
        seq=1,
        title=body.title,
        summary=body.summary,
        description=body.description,
        policy_violation=body.policy_violation,
        context_info=body.context_info,
        risk_area=body.risk_area,
        severity=body.severity.value,
        national_security=body.national_security,
        prevalence=prevalence,
        impacts=list(body.impacts),
        stakeholders=list(body.impacted_stakeholders),
        detection=body.detection.model_dump(mode="json"),
        observed_at=body.observed_at,
        disclosure=disclosure,
        authority_org_ids=[a.id for a in authorities],
        reproduction_commitment=body.reproduction.commitment if body.reproduction else None,
        filed_by=caller.user_id,
        filed_at=moment,
        updated_at=moment,
        embargo_ends_at=moment + state.disclosure.embargo,
        publish_due_at=moment + state.disclosure.embargo,
    )
    boxes = _check_boxes(db, finding, body.reproduction) if body.reproduction else []
    db.add(finding)
    db.flush()
    _store_boxes(db, finding, boxes, caller, moment)
    record_filing(db, finding, caller, body.reason, moment)
    db.commit()
    return finding


@router.post("/v1/findings", response_model=FindingOut, status_code=201)
def file_finding(
    request: Request, caller: Caller, db: Db, state: State, body: FindingIn
) -> Response:
    """File a finding against a model version, within one of your engagements or as
    independent research. The developer is notified at once; for a national-security
    finding, the authorities this registry routes it to as well. It stays between its
    parties until its deadline (or a confirmed fix and its grace period)."""
    finding = create_finding(db, state, caller, body, now(request))
    return respond(request, caller, finding_out(db, caller, finding, Sight.FULL), status_code=201)


# ---- reading ---------------------------------------------------------------------------


@router.get("/v1/findings", response_model=Page[FindingOut])
def list_findings(
    request: Request,
    caller: Caller,
    db: Db,
    page: Paging,
    version_id: int | None = Query(None, ge=1, le=2**31 - 1),
    state: FindingState | None = None,
) -> Response:
    """Findings you may see: published ones (their summary) and those you are a party
    to (in full)."""
    authorize(caller, Action.READ_PUBLIC)
    query = select(Finding)
    if version_id is not None:
        query = query.where(Finding.version_id == version_id)
    if state is not None:
        query = query.where(Finding.state == state.value)
    rows, cursor = visible_findings(db, caller, query, page)
    items = [finding_out(db, caller, f, sight(caller, finding_resource(f))) for f in rows]
    return respond(request, caller, Page[FindingOut](items=items, next_cursor=cursor))


@router.get("/v1/findings/{finding_id}", response_model=FindingOut)
def show_finding(request: Request, caller: Caller, db: Db, finding_id: IntId) -> Response:
    """A finding with its trail: in full for its parties, its summary once published."""
    view = load_finding(db, finding_id)
    seen = authorize(caller, Action.READ_PUBLIC, view.resource, view.parties)
    return respond(request, caller, finding_out(db, caller, view.row, seen))


@router.get("/v1/findings/{finding_id}/proof", response_model=PublicationProofOut)
def publication_proof(
    request: Request,
    caller: Caller,
    db: Db,
    state: State,
    finding_id: IntId,
    old_size: int | None = Query(None, ge=0, le=2**62),
) -> Response:
    """The published record, its digest, the log entry naming it and the entry's
    inclusion proof: anyone can check the publication day against the log."""
    view = load_finding(db, finding_id)
    authorize(caller, Action.READ_PUBLIC, view.resource, view.parties)
    finding = view.row
    if finding.publication_log_index is None or finding.public_record is None:
        raise not_found("publication (the finding is not published)")
    assert finding.public_digest is not None and finding.published_at is not None
    entry = publication_entry(
        "finding", finding.public_digest, utc(finding.published_at).isoformat()
    )
    try:
        bundle = state.log.proof_bundle(finding.publication_log_index, old_size)
    except LogError as exc:
        raise invalid(str(exc)) from None
    out = PublicationProofOut(
        finding_id=finding.id,
        record=finding.public_record,
        digest=finding.public_digest,
        entry=entry.decode(),
        log_index=finding.publication_log_index,
        proof=bundle,
    )
    return respond(request, caller, out)


@router.get("/v1/findings/{finding_id}/reproduction", response_model=ReproductionOut)
def read_reproduction(request: Request, caller: Caller, db: Db, finding_id: IntId) -> Response:
    """The boxes sealed to your organisation (open them with your X25519 key:
    `assay registry findings open`), or, once the tester released it after
    publication, the material itself."""
    view = load_finding(db, finding_id)
    finding = view.row
    boxes = (
        list(
            db.scalars(
                select(ReproductionBox)
                .where(
                    ReproductionBox.finding_id == finding.id,
                    ReproductionBox.recipient_org_id == caller.org_id,
                )
                .order_by(ReproductionBox.id)
            )
        )
        if caller.org_id is not None
        else []
    )
    resource = reproduction_resource(finding, caller.org_id if boxes else None)
    authorize(caller, Action.READ_PUBLIC, resource)
    names = slugs(db, {b.recipient_org_id for b in boxes})
    released = finding.released_reproduction
    out = ReproductionOut(
        finding_id=finding.id,
        commitment=finding.reproduction_commitment,
        boxes=[
            BoxOut(
                recipient=names[b.recipient_org_id],
                recipient_key_id=b.recipient_key_id,
                sealed_b64=base64.b64encode(b.sealed).decode(),
                created_at=b.created_at,
            )
            for b in boxes
        ],
        released_b64=base64.b64encode(released).decode()
        if released is not None and finding.released_at is not None
        else None,
    )
    return respond(request, caller, out)


# ---- the parties' steps ----------------------------------------------------------------


def take_step(
    request: Request,
    caller: Principal,
    db: Db,
    state: State,
    finding_id: int,
    step: FindingStep,
    reason: str,
    **extra: Any,
) -> Finding:
    """Authorise, check and take one step, commit it with its notifications, and
    publish at once when that step made the finding due."""
    view = load_finding(db, finding_id)
    action = STEPS[step].action
    assert action is not None
    authorize(caller, action, view.resource, view.parties)
    check_step(view.row, step)
    finding = view.row
    moment = now(request)
    policy = state.disclosure
    details: dict[str, Any] = {}
    if step in (FindingStep.DISPUTE, FindingStep.REJECT_FIX) and not reason.strip():
        raise invalid("say why in reason")
    if step is FindingStep.CLAIM_FIX:
        released = extra.get("fix_released_at") or moment
        released = aware(released)
        if released > moment:
            raise invalid("fix_released_at is in the future: claim the fix once it is released")
        finding.fix_released_at = released
        details["fix_released_at"] = released.isoformat()
    elif step is FindingStep.REJECT_FIX:
        finding.fix_released_at = None
    elif step is FindingStep.PROPOSE_EXTENSION:
        days = int(extra["days"])
        if timedelta(days=days) > policy.max_extension:
            raise invalid(
                f"an extension is at most {policy.max_extension.days} days on this registry"
            )
        assert caller.org_id is not None
        finding.pending_extension = {
            "org_id": caller.org_id,
            "org": caller.org_slug,
            "days": days,
            "reason": reason,
            "at": moment.isoformat(),
        }
        details["days"] = days
    elif step is FindingStep.EXTEND:
        pending = finding.pending_extension
        if pending is None:
            raise conflict("no extension has been proposed", code="invalid_transition")
        if pending["org_id"] == caller.org_id:
            raise conflict(
                "you proposed this extension: the other party must agree to it",
                code="invalid_transition",
            )
        finding.embargo_ends_at = aware(finding.embargo_ends_at) + timedelta(days=pending["days"])
        finding.pending_extension = None
        details.update(
            days=pending["days"],
            proposed_by=pending["org"],
            embargo_ends_at=finding.embargo_ends_at.isoformat(),
        )
    try:
        record_step(db, finding, step, caller, reason, moment, policy, details)
        db.commit()
    except (IntegrityError, OperationalError) as exc:
        db.rollback()
        if isinstance(exc, OperationalError) and "locked" not in str(exc):
            raise
        raise conflict("the finding changed meanwhile: reload it and try again") from None
    due = finding.publish_due_at
    if due is not None and aware(due) <= moment:
        publish(state, finding.id, publication_reason(finding))
    db.expire_all()
    row = db.get(Finding, finding.id)
    assert row is not None
    return row


def _step_route(name: str, body_model: type[StepBody], doc: str) -> None:
    """Add the route ``/v1/findings/{finding_id}/<name>`` taking the step of that name
    (:data:`STEP_ROUTES`); the body's fields other than ``reason`` go to the step."""
    step = STEP_ROUTES[name]

    def take(
        request: Request, caller: Caller, db: Db, state: State, finding_id: IntId, body: StepBody
    ) -> Response:
        extra = body.model_dump(exclude={"reason"})
        row = take_step(request, caller, db, state, finding_id, step, body.reason, **extra)
        return respond(request, caller, finding_out(db, caller, row, Sight.FULL))

    take.__annotations__["body"] = body_model  # FastAPI reads the body's model from here
    take.__name__ = take.__qualname__ = name.replace("-", "_")
    take.__doc__ = doc
    router.post(f"/v1/findings/{{finding_id}}/{name}", response_model=FindingOut)(take)


_step_route("acknowledge", StepIn, "The developer acknowledges the finding.")
_step_route("dispute", StepIn, "The developer disputes the finding (say why); the clock runs on.")
_step_route(
    "claim-fix", ClaimFixIn, "The developer says a fix is released, and when (default: now)."
)
_step_route(
    "confirm-fix",
    StepIn,
    """The tester confirms the fix: the finding is published when the grace period
    after the fix's release ends.""",
)
_step_route(
    "reject-fix",
    StepIn,
    "The tester finds that the fix does not hold (say why); the embargo applies again.",
)
_step_route(
    "propose-extension", ExtensionIn, "Either party proposes extending the embargo by some days."
)
_step_route(
    "agree-extension",
    StepIn,
    "The other party agrees to the proposed extension: the embargo moves.",
)


@router.post("/v1/findings/{finding_id}/reproduction", response_model=FindingOut)
def attach_reproduction(
    request: Request, caller: Caller, db: Db, state: State, finding_id: IntId, body: ReproductionIn
) -> Response:
    """Attach reproduction material filed without it: sealed boxes for the developer
    and every notified authority, and the commitment. Once only."""
    view = load_finding(db, finding_id)
    authorize(caller, Action.ATTACH_REPRODUCTION, view.resource, view.parties)
    finding = view.row
    check_step(finding, FindingStep.ATTACH_REPRODUCTION)
    if finding.reproduction_commitment is not None:
        raise conflict("reproduction material is attached already", code="exists")
    boxes = _check_boxes(db, finding, body)
    moment = now(request)
    finding.reproduction_commitment = body.commitment
    _store_boxes(db, finding, boxes, caller, moment)
    names = sorted(slugs(db, {k.org_id for k, _ in boxes}).values())
    record_step(
        db,
        finding,
        FindingStep.ATTACH_REPRODUCTION,
        caller,
        "sealed to " + ", ".join(names),
        moment,
        state.disclosure,
        {"recipients": names},
    )
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise conflict("the finding changed meanwhile: reload it and try again") from None
    return respond(request, caller, finding_out(db, caller, finding, Sight.FULL))


@router.post("/v1/findings/{finding_id}/reproduction/release", response_model=FindingOut)
def release_reproduction(
    request: Request, caller: Caller, db: Db, state: State, finding_id: IntId, body: ReleaseIn
) -> Response:
    """After publication, the tester may make the reproduction material public: the
    exact sealed plaintext, checked against its commitment, logged as a publication."""
    view = load_finding(db, finding_id)
    authorize(caller, Action.RELEASE_REPRODUCTION, view.resource, view.parties)
    finding = view.row
    check_step(finding, FindingStep.RELEASE_REPRODUCTION)
    if finding.reproduction_commitment is None:
        raise conflict("this finding has no reproduction material", code="invalid_transition")
    if finding.released_at is not None:
        raise conflict("the reproduction material is public already", code="exists")
    material = decode_b64(body.material_b64, "material_b64")
    if sha256_bytes(material) != finding.reproduction_commitment:
        raise invalid(
            "the material is not what was sealed (its sha256 differs from the commitment)",
            "commitment_mismatch",
        )
    moment = now(request)
    entry = publication_entry(
        "finding-reproduction", finding.reproduction_commitment, moment.isoformat()
    )
    index = state.log.append_many([entry], tag=f"finding:{finding.id}")
    finding.released_reproduction = material
    finding.released_at = moment
    finding.release_log_index = index
    db.add(LogRecord.publication(index, "finding_reproduction", finding.id, moment))
    record_step(
        db,
        finding,
        FindingStep.RELEASE_REPRODUCTION,
        caller,
        "released by the tester",
        moment,
        state.disclosure,
        {"log_index": index},
    )
    db.commit()
    return respond(request, caller, finding_out(db, caller, finding, Sight.FULL))
