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
