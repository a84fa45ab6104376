"""The registry's vocabulary: kinds of organisation, roles, token scopes, states."""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    DEVELOPER = "developer"
    TESTER = "tester"
    AUTHORITY = "authority"


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


class Scope(StrEnum):
    """What an API token may do: read restricted data, change things, administer its
    organisation (keys, users' tokens)."""

    READ = "read"
    SUBMIT = "submit"
    ADMIN = "admin"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.MEMBER: frozenset({Scope.READ, Scope.SUBMIT}),
}


class KeyKind(StrEnum):
    SIGNING = "signing"  # Ed25519: attestations, co-signatures
    SEALING = "sealing"  # X25519: sealed boxes (gateway tokens, private material)


class ReleaseStatus(StrEnum):
    INTERNAL = "internal"
    API = "api"
    OPEN_WEIGHTS = "open_weights"


class DocumentKind(StrEnum):
    MODEL_CARD = "model_card"
    METHODOLOGY = "methodology"
    TRAINING_DATA = "training_data"
    SAFETY_CASE = "safety_case"
    OTHER = "other"


class Visibility(StrEnum):
    """Who may read a document or a submission: anyone, or the engagement's parties
    (and, for submissions, authorities)."""

    PUBLIC = "public"
    PARTIES = "parties"


class EngagementState(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    ACCESS_GRANTED = "access_granted"
    TESTING = "testing"
    REPORTED = "reported"
    CLOSED = "closed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class Transition(StrEnum):
    """Engagement actions that change its state."""

    ACCEPT = "accept"
    DECLINE = "decline"
    GRANT_ACCESS = "grant_access"
    START = "start"
    REPORT = "report"
    CLOSE = "close"
    CANCEL = "cancel"


class FindingState(StrEnum):
    """Where a finding stands on its way to publication."""

    FILED = "filed"
    ACKNOWLEDGED = "acknowledged"
    DISPUTED = "disputed"
    FIX_CLAIMED = "fix_claimed"
    FIX_CONFIRMED = "fix_confirmed"
    EXTENDED = "extended"
    PUBLISHED = "published"


class FindingStep(StrEnum):
    """What the trail of a finding records (each with actor, time and reason)."""

    FILE = "filed"
    ACKNOWLEDGE = "acknowledged"
    DISPUTE = "disputed"
    CLAIM_FIX = "fix_claimed"
    CONFIRM_FIX = "fix_confirmed"
    REJECT_FIX = "fix_rejected"
    PROPOSE_EXTENSION = "extension_proposed"
    EXTEND = "extended"
    ATTACH_REPRODUCTION = "reproduction_sealed"
    PUBLISH = "published"
    RELEASE_REPRODUCTION = "reproduction_released"


class Severity(StrEnum):
    """The flaw report card's severity scale (Longpre et al. 2025)."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NEGLIGIBLE = "negligible"


class PrevalenceCategory(StrEnum):
    """The flaw report card's prevalence scale, beside the measured rate."""

    WIDESPREAD = "widespread"
    COMMON = "common"
    OCCASIONAL = "occasional"
    RARE = "rare"
    UNKNOWN = "unknown"
