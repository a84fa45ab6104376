"""Findings and the disclosure clock.

::

    filed ──acknowledge──▶ acknowledged ──claim fix──▶ fix claimed ──confirm fix──▶ fix confirmed
      │  ▲                     │    │                     │                            │
      │  └─acknowledge─ disputed ◀─ dispute            reject fix (back to            (grace after
      │                     (the clock runs on)         acknowledged)                  the fix)
      └── extension agreed by both parties ──▶ extended                                  ▼
                                      every state ── deadline passed ──────────────▶ published

A finding is published when its deadline passes: the end of its embargo (90 days
after filing by default, moved only by an extension both parties agreed to), or, once
the tester confirmed the developer's fix, the fix's release plus a grace period (30
days by default). Deadlines are computed from the registry's clock. Publication is
claimed, logged, then stored, so that several processes sweeping at once publish a
finding once, and a crash in between is finished by the next sweep with the same log
entry (see :func:`publish`).

Who may take each step is the policy's decision (:mod:`._policy`); this module says
which steps exist from which state, keeps the trail, and asks :mod:`._webhooks` to
notify the parties in the same transaction.

Longer than most modules: the state machine, the clock and publication are one
contract (a step moves the deadline that publication reads); the routes are apart.
"""

from __future__ import annotations

import secrets
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assay._util.db import aware
from assay._util.errors import UsageError
from assay._util.hashing import canonical_json, sha256_bytes
from assay.registry._clock import utc
from assay.registry._db import (
    Finding,
    FindingEvent,
    LogRecord,
    Model,
    ModelVersion,
    Organisation,
    Submission,
)
from assay.registry._errors import conflict
from assay.registry._log import publication_entry
from assay.registry._policy import Action
from assay.registry._types import FindingState, FindingStep, OrgKind
from assay.registry._visibility import Principal
from assay.registry._webhooks import WebhookPolicy, enqueue

if TYPE_CHECKING:
    from assay.registry._app import RegistryState

S = FindingState
OPEN = frozenset({S.FILED, S.ACKNOWLEDGED, S.DISPUTED, S.EXTENDED})
UNPUBLISHED = frozenset(set(S) - {S.PUBLISHED})
PUBLIC_RECORD_TYPE = "https://assay.dev/finding/public/v1"
PUBLICATION_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Step:
    """A step of the trail: from which states, to which (None: the state stays)."""

    sources: frozenset[FindingState]
    target: FindingState | None
    action: Action | None  # the policy action that guards it (None: the clock's)


STEPS: dict[FindingStep, Step] = {
    FindingStep.ACKNOWLEDGE: Step(
        frozenset({S.FILED, S.DISPUTED}), S.ACKNOWLEDGED, Action.ACKNOWLEDGE
    ),
    FindingStep.DISPUTE: Step(
        frozenset({S.FILED, S.ACKNOWLEDGED, S.EXTENDED}), S.DISPUTED, Action.DISPUTE
    ),
    FindingStep.CLAIM_FIX: Step(OPEN, S.FIX_CLAIMED, Action.CLAIM_FIX),
    FindingStep.CONFIRM_FIX: Step(frozenset({S.FIX_CLAIMED}), S.FIX_CONFIRMED, Action.CONFIRM_FIX),
    FindingStep.REJECT_FIX: Step(frozenset({S.FIX_CLAIMED}), S.ACKNOWLEDGED, Action.REJECT_FIX),
    FindingStep.PROPOSE_EXTENSION: Step(OPEN, None, Action.PROPOSE_EXTENSION),
    FindingStep.EXTEND: Step(OPEN, S.EXTENDED, Action.AGREE_EXTENSION),
    FindingStep.ATTACH_REPRODUCTION: Step(UNPUBLISHED, None, Action.ATTACH_REPRODUCTION),
    FindingStep.PUBLISH: Step(UNPUBLISHED, S.PUBLISHED, None),
    FindingStep.RELEASE_REPRODUCTION: Step(
        frozenset({S.PUBLISHED}), None, Action.RELEASE_REPRODUCTION
    ),
}


# ---- configuration ---------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorityRoute:
    """Which authority hears of national-security findings: an authority organisation
    and, optionally, the developers' jurisdictions and the risk areas it covers (empty:
    all)."""

    authority: str
    jurisdictions: tuple[str, ...] = ()
    risk_areas: tuple[str, ...] = ()

    def covers(self, jurisdiction: str | None, risk_area: str) -> bool:
        return (not self.jurisdictions or jurisdiction in self.jurisdictions) and (
            not self.risk_areas or risk_area in self.risk_areas
        )


@dataclass(frozen=True)
class DisclosurePolicy:
    """The registry's disclosure rules. Without routes, a national-security finding
    goes to every authority of the developer's jurisdiction."""

    embargo: timedelta = timedelta(days=90)
    grace_after_fix: timedelta = timedelta(days=30)
    max_extension: timedelta = timedelta(days=90)
    routes: tuple[AuthorityRoute, ...] = ()


@dataclass(frozen=True)
class Settings:
    """What a registry's configuration file sets."""

    disclosure: DisclosurePolicy = field(default_factory=DisclosurePolicy)
    webhooks: WebhookPolicy = field(default_factory=WebhookPolicy)
    public_url: str | None = None


def _days(table: dict[str, Any], key: str, default: timedelta, where: str) -> timedelta:
    value = table.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UsageError(f"{where}.{key} must be a non-negative number of days")
    return timedelta(days=value)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise UsageError(f"{where} must be a list of names")
    return tuple(value)


def load_settings(path: Path) -> Settings:
    """Read a registry configuration file (TOML; see docs/registry.md)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"disclosure", "webhooks", "public_url"}
    if unknown:
        raise UsageError(f"{path}: unknown settings {', '.join(sorted(unknown))}")
    d = data.get("disclosure", {})
    unknown = set(d) - {"embargo_days", "grace_days", "max_extension_days", "authorities"}
    if unknown:
        raise UsageError(f"{path}: unknown [disclosure] settings {', '.join(sorted(unknown))}")
    routes = []
    for i, route in enumerate(d.get("authorities", [])):
        where = f"disclosure.authorities[{i}]"
        if not isinstance(route, dict) or not isinstance(route.get("org"), str):
            raise UsageError(f'{where} needs org = "<authority organisation>"')
        routes.append(
            AuthorityRoute(
                authority=route["org"],
                jurisdictions=_strings(route.get("jurisdictions"), f"{where}.jurisdictions"),
                risk_areas=_strings(route.get("risk_areas"), f"{where}.risk_areas"),
            )
        )
    base = DisclosurePolicy()
    disclosure = DisclosurePolicy(
        embargo=_days(d, "embargo_days", base.embargo, "disclosure"),
        grace_after_fix=_days(d, "grace_days", base.grace_after_fix, "disclosure"),
        max_extension=_days(d, "max_extension_days", base.max_extension, "disclosure"),
        routes=tuple(routes),
    )
    w = data.get("webhooks", {})
    unknown = set(w) - {"allow_private_addresses", "max_attempts"}
    if unknown:
        raise UsageError(f"{path}: unknown [webhooks] settings {', '.join(sorted(unknown))}")
    webhooks = WebhookPolicy(
        allow_private_addresses=bool(w.get("allow_private_addresses", False)),
        max_attempts=int(w.get("max_attempts", WebhookPolicy.max_attempts)),
    )
    public_url = data.get("public_url")
    if public_url is not None and not (
        isinstance(public_url, str) and public_url.startswith(("http://", "https://"))
    ):
        raise UsageError(f"{path}: public_url must be an http:// or https:// URL")
    return Settings(disclosure=disclosure, webhooks=webhooks, public_url=public_url)


def authorities_for(
    session: Session, policy: DisclosurePolicy, developer: Organisation, risk_area: str
) -> list[Organisation]:
    """The authorities a national-security finding against ``developer`` goes to."""
    authorities = list(
        session.scalars(
            select(Organisation)
            .where(Organisation.kind == OrgKind.AUTHORITY.value)
            .order_by(Organisation.id)
        )
    )
    if not policy.routes:
        return [
            a for a in authorities if a.jurisdiction and a.jurisdiction == developer.jurisdiction
        ]
    wanted = {r.authority for r in policy.routes if r.covers(developer.jurisdiction, risk_area)}
    return [a for a in authorities if a.slug in wanted]


# ---- the clock -------------------------------------------------------------------------


def due_at(finding: Finding, policy: DisclosurePolicy) -> datetime | None:
    """When the finding becomes public (None once it is)."""
    if finding.state == S.PUBLISHED:
        return None
    if finding.state == S.FIX_CONFIRMED and finding.fix_released_at is not None:
        return aware(finding.fix_released_at) + policy.grace_after_fix
    return aware(finding.embargo_ends_at)


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def allowed_from(finding: Finding, step: FindingStep) -> bool:
    """Whether ``step`` may follow the finding's state (nothing but the publication
    itself while a publication is under way)."""
    in_state = FindingState(finding.state) in STEPS[step].sources
    return in_state and (step is FindingStep.PUBLISH or not publishing(finding))


def publishing(finding: Finding) -> bool:
    """A publication is claimed and not finished yet."""
    return finding.publishing_at is not None and finding.published_at is None


def check_step(finding: Finding, step: FindingStep) -> None:
    """409 when ``step`` cannot follow the finding's state."""
    if allowed_from(finding, step):
        return
    current = FindingState(finding.state)
    if publishing(finding):
        raise conflict("the finding is being published", code="invalid_transition")
    possible = ", ".join(sorted(s.value for s in STEPS[step].sources))
    raise conflict(
        f"a finding that is {current.value.replace('_', ' ')} cannot be "
        f"{step.value.replace('_', ' ')} (possible from: {possible})",
        code="invalid_transition",
    )


def record_step(
    session: Session,
    finding: Finding,
    step: FindingStep,
    actor: Principal | None,
    reason: str,
    now: datetime,
    policy: DisclosurePolicy,
    details: dict[str, Any] | None = None,
    *,
    notify: bool = True,
) -> FindingEvent:
    """Take ``step`` (already authorised; the state checked here), append it to the
    trail and queue its notifications, in the caller's transaction."""
    check_step(finding, step)
    current = FindingState(finding.state)
    target = STEPS[step].target or current
    finding.seq += 1
    finding.state = target.value
    finding.updated_at = now
    finding.publish_due_at = due_at(finding, policy)
    event = FindingEvent(
        finding_id=finding.id,
        seq=finding.seq,
        event_id=new_event_id(),
        action=step.value,
        from_state=current.value,
        to_state=target.value,
        actor_org_id=actor.org_id if actor is not None else None,
        actor_user_id=actor.user_id if actor is not None else None,
        reason=reason,
        details=details or {},
        at=now,
    )
    session.add(event)
    session.flush()
    if notify:
        enqueue(session, finding, event)
    return event


def record_filing(
    session: Session, finding: Finding, actor: Principal, reason: str, now: datetime
) -> FindingEvent:
    """The first entry of the trail (the finding row is flushed already)."""
    event = FindingEvent(
        finding_id=finding.id,
        seq=1,
        event_id=new_event_id(),
        action=FindingStep.FILE.value,
        from_state=None,
        to_state=S.FILED.value,
        actor_org_id=actor.org_id,
        actor_user_id=actor.user_id,
        reason=reason,
        details={"authorities": list(finding.authority_org_ids)},
        at=now,
    )
    session.add(event)
    session.flush()
    enqueue(session, finding, event)
    return event


def events_of(session: Session, finding_id: int) -> list[FindingEvent]:
    return list(
        session.scalars(
            select(FindingEvent)
            .where(FindingEvent.finding_id == finding_id)
            .order_by(FindingEvent.seq)
        )
    )


# ---- publication -----------------------------------------------------------------------


def public_record(session: Session, finding: Finding, published_at: datetime) -> dict[str, Any]:
    """What the public reads of a published finding, frozen at publication; its
    digest is what the log's publication entry names."""
    version = session.get(ModelVersion, finding.version_id)
    assert version is not None
    model = session.get(Model, version.model_id)
    assert model is not None
    orgs = {
        o.id: o.slug
        for o in session.scalars(
            select(Organisation).where(
                Organisation.id.in_({finding.developer_org_id, finding.tester_org_id})
            )
        )
    }
    statement = None
    if finding.submission_id is not None:
        sub = session.get(Submission, finding.submission_id)
        statement = sub.statement_sha256 if sub is not None else None
    trail = [
        {
            "action": e.action,
            "at": utc(e.at).isoformat(),
            "by": orgs.get(e.actor_org_id, "authority") if e.actor_org_id else "registry",
        }
        for e in events_of(session, finding.id)
    ]
    return {
        "type": PUBLIC_RECORD_TYPE,
        "id": finding.id,
        "title": finding.title,
        "summary": finding.summary,
        "system": model.name,
        "system_version": version.version,
        "version_id": version.id,
        "developer": orgs[finding.developer_org_id],
        "reporter": orgs[finding.tester_org_id],
        "risk_area": finding.risk_area,
        "severity": finding.severity,
        "national_security": finding.national_security,
        "prevalence": finding.prevalence,
        "impacts": list(finding.impacts),
        "impacted_stakeholders": list(finding.stakeholders),
        "policy_violation": finding.policy_violation,
        "detection": finding.detection,
        "attestation": statement,
        "filed_at": utc(finding.filed_at).isoformat(),
        "published_at": published_at.isoformat(),
        "trail": trail,
    }


def _claim(reg: RegistryState, finding_id: int, now: datetime, *, due_only: bool) -> bool:
    """Claim the publication of a finding (one process wins); keeps an earlier claim's
    moment, so a retry after a crash writes the same log entry."""
    from sqlalchemy import func

    conditions = [
        Finding.id == finding_id,
        Finding.published_at.is_(None),
        or_(Finding.publish_claimed_until.is_(None), Finding.publish_claimed_until < now),
    ]
    if due_only:
        conditions.append(or_(Finding.publish_due_at <= now, Finding.publishing_at.is_not(None)))
    with reg.sessions() as session:
        result = session.execute(
            update(Finding)
            .where(*conditions)
            .values(
                publishing_at=func.coalesce(Finding.publishing_at, now),
                publish_claimed_until=now + PUBLICATION_LEASE,
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return bool(getattr(result, "rowcount", 0) == 1)


def publish(reg: RegistryState, finding_id: int, reason: str, *, due_only: bool = True) -> bool:
    """Publish the finding if it is due (or with ``due_only=False``, at once): claim,
    append the publication to the log, store. True when this call published it."""
    now = reg.clock.now()
    if not _claim(reg, finding_id, now, due_only=due_only):
        return False
    for _ in range(5):
        with reg.sessions() as session:
            finding = session.get(Finding, finding_id)
            assert finding is not None and finding.publishing_at is not None
            if finding.published_at is not None:
                return False
            moment = utc(finding.publishing_at)
            record = public_record(session, finding, moment)
            digest = sha256_bytes(canonical_json(record))
            entry = publication_entry("finding", digest, moment.isoformat())
            index = reg.log.find(entry)
            if index is None:
                index = reg.log.append_many([entry], tag=f"finding:{finding_id}")
            record_step(
                session,
                finding,
                FindingStep.PUBLISH,
                None,
                reason,
                moment,
                reg.disclosure,
                {"log_index": index, "digest": digest},
            )
            finding.published_at = moment
            finding.public_record = record
            finding.public_digest = digest
            finding.publication_log_index = index
            session.add(LogRecord.publication(index, "finding", finding_id, moment))
            try:
                session.commit()
                return True
            except IntegrityError:  # another step or process got there first; look again
                session.rollback()
    return False


def publication_reason(finding: Finding) -> str:
    if finding.state == S.FIX_CONFIRMED:
        return "the fix was confirmed and its grace period ended"
    return "the embargo ended"


def sweep(reg: RegistryState) -> list[int]:
    """Publish every finding whose deadline has passed (and finish publications a
    crashed process left half done). Safe to run in several processes at once."""
    now = reg.clock.now()
    with reg.sessions() as session:
        due = list(
            session.scalars(
                select(Finding)
                .where(
                    Finding.published_at.is_(None),
                    or_(Finding.publish_due_at <= now, Finding.publishing_at.is_not(None)),
                )
                .order_by(Finding.id)
                .limit(500)
            )
        )
        reasons = {f.id: publication_reason(f) for f in due}
    return [fid for fid, reason in reasons.items() if publish(reg, fid, reason)]
