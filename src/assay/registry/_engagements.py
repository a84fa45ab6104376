"""The engagement state machine.

::

    requested ──accept──▶ accepted ──grant_access──▶ access_granted ──start──▶ testing
        │                    │                            │                      │
     decline              cancel                       cancel                 report (a submission)
        ▼                    ▼                            ▼                      ▼
    declined             cancelled                    cancelled              reported ──close──▶ closed

Who may take each step is the policy's decision (:mod:`._policy`); this module says
only which steps exist from which state. Every step, and every re-grant of access,
is an :class:`EngagementEvent`, a history that is never changed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from assay.registry._db import Engagement, EngagementEvent
from assay.registry._errors import conflict
from assay.registry._policy import Action
from assay.registry._types import EngagementState, Transition
from assay.registry._visibility import Principal

S = EngagementState

TRANSITIONS: dict[Transition, dict[EngagementState, EngagementState]] = {
    Transition.ACCEPT: {S.REQUESTED: S.ACCEPTED},
    Transition.DECLINE: {S.REQUESTED: S.DECLINED},
    # a new grant (a rotated token) keeps a later state
    Transition.GRANT_ACCESS: {
        S.ACCEPTED: S.ACCESS_GRANTED,
        S.ACCESS_GRANTED: S.ACCESS_GRANTED,
        S.TESTING: S.TESTING,
    },
    Transition.START: {S.ACCESS_GRANTED: S.TESTING},
    Transition.REPORT: {S.TESTING: S.REPORTED, S.REPORTED: S.REPORTED},
    Transition.CLOSE: {S.REPORTED: S.CLOSED},
    Transition.CANCEL: {
        S.REQUESTED: S.CANCELLED,
        S.ACCEPTED: S.CANCELLED,
        S.ACCESS_GRANTED: S.CANCELLED,
        S.TESTING: S.CANCELLED,
    },
}

# the policy action that guards each transition
TRANSITION_ACTIONS: dict[Transition, Action] = {
    Transition.ACCEPT: Action.ACCEPT,
    Transition.DECLINE: Action.DECLINE,
    Transition.GRANT_ACCESS: Action.GRANT_ACCESS,
    Transition.START: Action.START,
    Transition.REPORT: Action.SUBMIT,
    Transition.CLOSE: Action.CLOSE,
    Transition.CANCEL: Action.CANCEL,
}


def next_state(engagement: Engagement, transition: Transition) -> EngagementState:
    """The state ``transition`` leads to; 409 when it is not possible from here."""
    current = EngagementState(engagement.state)
    target = TRANSITIONS[transition].get(current)
    if target is None:
        allowed = ", ".join(s.value for s in TRANSITIONS[transition]) or "nowhere"
        raise conflict(
            f"cannot {transition.value.replace('_', ' ')} an engagement that is "
            f"{current.value} (possible from: {allowed})",
            code="invalid_transition",
        )
    return target


def record(
    session: Session,
    engagement: Engagement,
    action: str,
    from_state: EngagementState | None,
    to_state: EngagementState,
    principal: Principal,
    reason: str,
    now: datetime,
) -> EngagementEvent:
    assert principal.org_id is not None
    event = EngagementEvent(
        engagement_id=engagement.id,
        action=action,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value,
        actor_org_id=principal.org_id,
        actor_user_id=principal.user_id,
        reason=reason,
        at=now,
    )
    session.add(event)
    return event


def apply(
    session: Session,
    engagement: Engagement,
    transition: Transition,
    principal: Principal,
    reason: str,
    now: datetime,
) -> EngagementEvent:
    """Move the engagement (the caller has authorised ``principal``) and record it."""
    current = EngagementState(engagement.state)
    target = next_state(engagement, transition)
    engagement.state = target.value
    engagement.updated_at = now
    return record(session, engagement, transition.value, current, target, principal, reason, now)
