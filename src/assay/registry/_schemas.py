"""Request and response bodies of the registry's JSON API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from assay.gateway import Tier
from assay.registry._types import (
    DocumentKind,
    EngagementState,
    KeyKind,
    OrgKind,
    ReleaseStatus,
    Role,
    Scope,
    Visibility,
)

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(max_length=20_000)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
T = TypeVar("T")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a listing; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[T]
    next_cursor: str | None


# ---- organisations, keys, tokens -------------------------------------------------------


class OrgOut(BaseModel):
    slug: str
    name: str
    kind: OrgKind
    jurisdiction: str | None
    created_at: datetime


class KeyIn(Input):
    kind: KeyKind
    public_key: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="Ed25519: PEM (SubjectPublicKeyInfo); X25519: the 32 raw bytes in base64"
    )
    label: Name | None = None


class KeyOut(BaseModel):
    id: str
    kind: KeyKind
    public_key: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class WhoAmI(BaseModel):
    org: str
    kind: OrgKind
    user: str
    role: Role
    scopes: list[Scope]
    token_id: str


class TokenIn(Input):
    user: Name
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.READ], max_length=3)
    expires_in_days: int | None = Field(default=90, ge=1, le=3650)
    label: Name | None = None


class TokenOut(BaseModel):
    id: str
    user: str
    scopes: list[str]
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    status: str


class IssuedTokenOut(TokenOut):
    token: str = Field(description="the secret, shown this once")


# ---- models, versions, documents -------------------------------------------------------


class ModelIn(Input):
    name: Name
    description: Text = ""


class Fingerprint(Input):
    algorithm: Short
    digest: Digest


class VersionIn(Input):
    version: Short
    release_status: ReleaseStatus
    fingerprints: list[Fingerprint] = Field(min_length=1, max_length=16)


class DocumentIn(Input):
    kind: DocumentKind
    filename: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.()-]{0,199}$")]
    media_type: Annotated[str, StringConstraints(max_length=100)]
    visibility: Visibility = Visibility.PUBLIC
    content_b64: str = Field(description="the file, base64")
    sha256: Digest | None = Field(default=None, description="checked when given")


class DocumentOut(BaseModel):
    id: int
    kind: DocumentKind
    filename: str
    media_type: str
    size: int
    sha256: str
    visibility: Visibility
    created_at: datetime


class SubmissionBrief(BaseModel):
    id: int
    tester: str
    tier: str
    decision: Any
    visibility: Visibility
    created_at: datetime


class VersionOut(BaseModel):
    id: int
    model_id: int
    model: str
    developer: str
    version: str
    release_status: ReleaseStatus
    fingerprints: list[Fingerprint]
    created_at: datetime
    documents: list[DocumentOut] = []
    audits: list[SubmissionBrief] = []


class ModelOut(BaseModel):
    id: int
    developer: str
    name: str
    description: str
    created_at: datetime
    versions: list[VersionOut] = []


# ---- services and engagements ----------------------------------------------------------


class Accreditation(Input):
    body: Name = Field(description="the accrediting body")
    claim: Name = Field(description="what is accredited")
    expires_on: date | None = None


class Price(Input):
    amount: float | None = Field(default=None, ge=0, le=1e12)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    note: Annotated[str, StringConstraints(max_length=500)] = ""


class ServiceIn(Input):
    name: Name
    description: Text = ""
    suites: list[Short] = Field(default_factory=list, max_length=200)
    plans: list[Short] = Field(default_factory=list, max_length=50)
    tiers: list[Tier] = Field(min_length=1, max_length=3)
    accreditations: list[Accreditation] = Field(default_factory=list, max_length=20)
    turnaround_days: int | None = Field(default=None, ge=1, le=3650)
    price: Price = Field(default_factory=Price)


class ServiceOut(BaseModel):
    id: int
    tester: str
    name: str
    description: str
    suites: list[str]
    plans: list[str]
    tiers: list[Tier]
    accreditations: list[Accreditation]
    turnaround_days: int | None
    price: Price
    created_at: datetime
    withdrawn_at: datetime | None


class EngagementScope(Input):
    """What an engagement covers."""

    suites: list[Short] = Field(default_factory=list, max_length=200)
    plan: Short | None = None
    tier: Tier
    starts_on: date | None = None
    ends_on: date | None = None
    query_budget: int | None = Field(default=None, ge=1, le=10**12)


class EngagementIn(Input):
    service_id: int = Field(ge=1, le=2**31 - 1)
    version_id: int = Field(ge=1, le=2**31 - 1)
    scope: EngagementScope
    reason: Text = ""


class TransitionIn(Input):
    reason: Text = ""


class EventOut(BaseModel):
    action: str
    from_state: EngagementState | None
    to_state: EngagementState
    actor: str
    reason: str
    at: datetime


class EngagementOut(BaseModel):
    id: int
    service_id: int
    developer: str
    tester: str
    version_id: int
    model: str
    version: str
    state: EngagementState
    scope: EngagementScope
    created_at: datetime
    updated_at: datetime
    history: list[EventOut] = []


class AccessIn(Input):
    gateway_url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]{1,490}$")]
    tier: Tier
    recipient_key_id: Annotated[str, StringConstraints(max_length=80)]
    sealed_token_b64: Annotated[str, StringConstraints(max_length=8000)]


class AccessOut(BaseModel):
    engagement_id: int
    gateway_url: str
    tier: Tier
    recipient_key_id: str
    sealed_token_b64: str
    created_at: datetime


# ---- submissions -----------------------------------------------------------------------


class SubmissionIn(Input):
    attestation: dict[str, Any] = Field(description="attestation.json (a DSSE envelope)")
    report: Annotated[str, StringConstraints(max_length=16 * 1024 * 1024)] | None = Field(
        default=None,
        description="report.json, optional: the file's exact text (its digest is signed)",
    )
    visibility: Visibility = Visibility.PARTIES


class CosignIn(Input):
    keyid: Annotated[str, StringConstraints(max_length=80)]
    sig: Annotated[str, StringConstraints(max_length=200)]


class SubmissionOut(BaseModel):
    id: int
    engagement_id: int
    tester: str
    developer: str
    version_id: int
    model: str
    version: str
    statement_sha256: str
    summary: dict[str, Any]
    signers: list[str]
    cosigners: list[str]
    visibility: Visibility
    log_index: int
    created_at: datetime
    published_at: datetime | None


class LogInfo(BaseModel):
    origin: str
    size: int
    key_id: str
    public_key: str = Field(description="the log's Ed25519 public key (PEM)")
    verifier_key: str = Field(description="the checkpoint note verifier key (name+id+key)")


class LogEntryOut(BaseModel):
    index: int
    data: str = Field(description="the entry's bytes (UTF-8 JSON: kind and sha256)")
    kind: str | None
    subject_type: str | None
    subject_id: int | None


class ProofOut(BaseModel):
    tree_size: int
    hashes: list[str]
