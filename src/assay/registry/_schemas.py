"""Request and response bodies of the registry's JSON API.

Longer than most modules: declarations only (Pydantic models with their bounds), one
per body of the API, kept together so the API's shapes read in one place.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from assay.registry._types import (
    DocumentKind,
    EngagementState,
    FindingState,
    FindingStep,
    KeyKind,
    OrgKind,
    PrevalenceCategory,
    ReleaseStatus,
    Role,
    Scope,
    Severity,
    Visibility,
)
from assay.tiers import Tier

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
    token_id: str | None = Field(description="null when signed in through the browser")


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


# ---- findings (fields of a standardised AI flaw report) --------------------------------

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]


class IntervalIn(Input):
    low: float = Field(ge=0, le=1)
    high: float = Field(ge=0, le=1)
    level: float = Field(default=0.95, gt=0, lt=1)


class Prevalence(Input):
    """How often the flaw shows: the flaw report card's category and, when measured,
    the rate with its interval and the audit (submission, suite, metric) it came from.
    With a submission, suite and metric, the registry fills in or checks the rate and
    interval against the submitted report.json."""

    category: PrevalenceCategory = PrevalenceCategory.UNKNOWN
    rate: float | None = Field(default=None, ge=0, le=1)
    interval: IntervalIn | None = None
    n: int | None = Field(default=None, ge=1, le=10**9)
    submission_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    suite: Short | None = None
    metric: Short | None = None


class Detection(Input):
    """How the flaw was found: the access tier and the technique."""

    tier: Tier
    technique: Label = Field(
        description="e.g. the suite, a white-box technique, manual red-teaming"
    )
    suite: Short | None = None


class SealedBoxIn(Input):
    recipient_key_id: Annotated[str, StringConstraints(max_length=80)]
    sealed_b64: Annotated[str, StringConstraints(min_length=1, max_length=3_000_000)]


class ReproductionIn(Input):
    """Reproduction material sealed on the tester's machine to each recipient's X25519
    key (the developer's and each notified authority's), and a commitment to it."""

    commitment: Digest = Field(
        description="sha256 of the sealed plaintext (a JSON envelope with a random salt)"
    )
    boxes: list[SealedBoxIn] = Field(min_length=1, max_length=50)


class FindingIn(Input):
    version_id: int = Field(ge=1, le=2**31 - 1, description="the system version")
    engagement_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="none for independent research"
    )
    submission_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="the submitted attestation it rests on"
    )
    disclosure: dict[str, Any] | None = Field(
        default=None,
        description="`assay disclose` output for the submission: sample records, checked "
        "against the attestation's signed Merkle root",
    )
    title: Name
    summary: Annotated[str, StringConstraints(min_length=1, max_length=5000)] = Field(
        description="what the public reads once the finding is published"
    )
    description: Annotated[str, StringConstraints(min_length=1, max_length=20_000)] = Field(
        description="flaw description for the parties (never public)"
    )
    policy_violation: Text = ""
    context_info: Text = ""
    risk_area: Slug
    severity: Severity
    national_security: bool = False
    prevalence: Prevalence = Field(default_factory=Prevalence)
    impacts: list[Label] = Field(default_factory=list, max_length=20)
    impacted_stakeholders: list[Label] = Field(default_factory=list, max_length=20)
    detection: Detection
    observed_at: datetime | None = None
    reproduction: ReproductionIn | None = None
    reason: Text = ""


class StepIn(Input):
    reason: Text = ""


class ClaimFixIn(Input):
    reason: Text = Field(default="", description="what was fixed, and how")
    fix_released_at: datetime | None = Field(
        default=None, description="when the fix was released (default: now)"
    )


class ExtensionIn(Input):
    days: int = Field(ge=1, le=3650)
    reason: Text = ""


class ReleaseIn(Input):
    material_b64: Annotated[str, StringConstraints(min_length=1, max_length=3_000_000)]


class RecipientOut(BaseModel):
    org: str
    kind: OrgKind
    role: str = Field(description="developer, authority (notified) or tester (optional)")
    required: bool
    key_id: str | None
    public_key: str | None = Field(description="X25519, base64 (null: none registered)")


class TrailOut(BaseModel):
    seq: int
    event_id: str
    action: FindingStep
    from_state: FindingState | None
    to_state: FindingState
    by: str
    at: datetime
    reason: str | None = Field(description="null where you see the summary only")
    details: dict[str, Any] | None = None


class FindingOut(BaseModel):
    """A finding as the caller may see it: ``sight`` says how much (``summary``: the
    public face of a published finding; ``full``: everything the registry holds)."""

    id: int
    sight: str
    title: str
    summary: str
    state: FindingState
    system: str
    system_version: str
    version_id: int
    developer: str
    reporter: str
    risk_area: str
    severity: Severity
    national_security: bool
    prevalence: dict[str, Any]
    impacts: list[str]
    impacted_stakeholders: list[str]
    policy_violation: str
    detection: dict[str, Any]
    submission_id: int | None
    attestation: str | None
    filed_at: datetime
    published_at: datetime | None
    publication_log_index: int | None
    public_digest: str | None
    reproduction_released: bool
    trail: list[TrailOut]
    # the parties' view only
    description: str | None = None
    context_info: str | None = None
    observed_at: datetime | None = None
    engagement_id: int | None = None
    disclosure: dict[str, Any] | None = None
    authorities: list[str] | None = None
    embargo_ends_at: datetime | None = None
    fix_released_at: datetime | None = None
    publish_due_at: datetime | None = None
    pending_extension: dict[str, Any] | None = None
    reproduction_recipients: list[str] | None = None
    reproduction_commitment: str | None = None
    allowed_actions: list[str] | None = None


class BoxOut(BaseModel):
    recipient: str
    recipient_key_id: str
    sealed_b64: str
    created_at: datetime


class ReproductionOut(BaseModel):
    finding_id: int
    commitment: str | None
    boxes: list[BoxOut] = Field(description="the boxes sealed to your organisation's keys")
    released_b64: str | None = Field(
        description="the material itself, once the tester released it after publication"
    )


class PublicationProofOut(BaseModel):
    finding_id: int
    record: dict[str, Any] = Field(description="the public record as published")
    digest: str = Field(description="sha256 of the record's canonical JSON (RFC 8785)")
    entry: str = Field(description="the log entry (its leaf data)")
    log_index: int
    proof: dict[str, Any] = Field(description="inclusion proof bundle under a fresh checkpoint")


# ---- webhooks --------------------------------------------------------------------------


class WebhookIn(Input):
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]{1,490}$")]
    description: Annotated[str, StringConstraints(max_length=200)] = ""


class WebhookOut(BaseModel):
    id: int
    url: str
    description: str
    created_at: datetime
    disabled_at: datetime | None
    pending: int
    delivered: int
    failed: int


class NewWebhookOut(WebhookOut):
    secret: str = Field(description="whsec_...: verifies deliveries; shown this once")


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    failed_at: datetime | None
    last_status: int | None
    last_error: str | None
