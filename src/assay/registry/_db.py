"""The registry's tables (SQLAlchemy 2, typed) and its database.

Histories are append-only: classes marked :class:`AppendOnly` are refused UPDATE and
DELETE by the ORM (a flush or a bulk statement raises :class:`AppendOnlyError`) and,
below it, by database triggers created in the migrations.

Longer than most modules: declarations only, one class per table.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    sessionmaker,
)

from assay._util.db import migrate, open_engine

MIGRATIONS = Path(__file__).parent / "migrations"
TZ = DateTime(timezone=True)


class Base(DeclarativeBase):
    pass


class AppendOnly:
    """Marks a table whose rows are written once and never changed or removed."""


class AppendOnlyError(RuntimeError):
    """Something tried to change or remove a row of an append-only history."""


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    jurisdiction: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZ)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    disabled_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)


class OrgKey(Base):
    """A public key registered to one organisation (a key id belongs to one org only)."""

    __tablename__ = "org_keys"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # ed25519:<hex> / x25519:<hex>
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(Text)  # PEM (Ed25519) or base64 raw (X25519)
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    revoked_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)


class Model(Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(TZ)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    release_status: Mapped[str] = mapped_column(String(16))
    # [{"algorithm": ..., "digest": ...}]: weights manifests, endpoint identities
    fingerprints: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TZ)


class Document(Base):
    """An outside-the-box document of a model version; its bytes live in the database."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(71))
    visibility: Mapped[str] = mapped_column(String(16))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(TZ)


class Service(Base):
    """A testing organisation's offer: suites and plans, tiers, accreditation, price."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    suites: Mapped[list[str]] = mapped_column(JSON)
    plans: Mapped[list[str]] = mapped_column(JSON)
    tiers: Mapped[list[str]] = mapped_column(JSON)
    accreditations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    turnaround_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    price: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TZ)
    withdrawn_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)


class Engagement(Base):
    """A developer's request for a service, and its current state (the history of
    states is in :class:`EngagementEvent`)."""

    __tablename__ = "engagements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    developer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    tester_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    # {"suites": [...], "plan": str|None, "tier": str, "starts_on": date|None,
    #  "ends_on": date|None, "query_budget": int|None}
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class EngagementEvent(AppendOnly, Base):
    __tablename__ = "engagement_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20))
    actor_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(TZ)


class AccessGrant(AppendOnly, Base):
    """Gateway access handed to the tester: the token sealed to the tester's key, so
    the registry stores only ciphertext. A newer grant supersedes an older one."""

    __tablename__ = "access_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    gateway_url: Mapped[str] = mapped_column(String(500))
    tier: Mapped[str] = mapped_column(String(16))
    recipient_key_id: Mapped[str] = mapped_column(ForeignKey("org_keys.id"))
    sealed_token: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZ)


class Submission(Base):
    """An accepted audit: the signed envelope as received, what it says, its log entry."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    statement_sha256: Mapped[str] = mapped_column(String(71), unique=True)
    envelope: Mapped[dict[str, Any]] = mapped_column(JSON)
    report: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # what the signed statement says, kept for listing without re-parsing
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    signers: Mapped[list[str]] = mapped_column(JSON)
    visibility: Mapped[str] = mapped_column(String(16))
    log_index: Mapped[int] = mapped_column(BigInteger)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    published_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    publication_log_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Cosignature(AppendOnly, Base):
    """A signature over a submitted statement added later (the developer's)."""

    __tablename__ = "cosignatures"
    __table_args__ = (UniqueConstraint("submission_id", "key_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    key_id: Mapped[str] = mapped_column(ForeignKey("org_keys.id"))
    signature: Mapped[str] = mapped_column(String(200))  # base64, as in the envelope
    created_at: Mapped[datetime] = mapped_column(TZ)


class LogRecord(AppendOnly, Base):
    """What each transparency-log entry stands for (the log itself holds only digests)."""

    __tablename__ = "log_records"

    log_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40))  # submission, publication, ...
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TZ)

    @classmethod
    def publication(cls, index: int, subject_type: str, subject_id: int, at: datetime) -> LogRecord:
        """The record of entry ``index``: the publication of a subject at ``at``."""
        return cls(
            log_index=index,
            kind="publication",
            subject_type=subject_type,
            subject_id=subject_id,
            created_at=at,
        )


class Finding(Base):
    """A flaw a testing organisation reports against a model version, with the fields
    of a standardised AI flaw report, and where it stands on the disclosure clock (its
    trail is in :class:`FindingEvent`)."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    developer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    tester_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    engagement_id: Mapped[int | None] = mapped_column(
        ForeignKey("engagements.id"), nullable=True, index=True
    )
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id"), nullable=True, index=True
    )
    state: Mapped[str] = mapped_column(String(20), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # events in the trail so far
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)  # what the public reads once published
    description: Mapped[str] = mapped_column(Text)  # the parties' full description
    policy_violation: Mapped[str] = mapped_column(Text, default="")
    context_info: Mapped[str] = mapped_column(Text, default="")
    risk_area: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    national_security: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"category", "rate", "interval": {"low", "high", "level"}, "n", "submission_id",
    #  "suite", "metric"}
    prevalence: Mapped[dict[str, Any]] = mapped_column(JSON)
    impacts: Mapped[list[str]] = mapped_column(JSON)
    stakeholders: Mapped[list[str]] = mapped_column(JSON)
    detection: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"tier", "technique", "suite"}
    observed_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    disclosure: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    authority_org_ids: Mapped[list[int]] = mapped_column(JSON)
    reproduction_commitment: Mapped[str | None] = mapped_column(String(71), nullable=True)
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    filed_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)
    embargo_ends_at: Mapped[datetime] = mapped_column(TZ)
    fix_released_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    publish_due_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True, index=True)
    # {"org_id", "days", "at", "reason"}: an extension one party proposed
    pending_extension: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # publication is claimed first (so one process publishes), then logged, then stored
    publishing_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    publish_claimed_until: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    public_record: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    public_digest: Mapped[str | None] = mapped_column(String(71), nullable=True)
    publication_log_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    released_reproduction: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    release_log_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class FindingEvent(AppendOnly, Base):
    """One step of a finding's trail: what, by whom (none: the registry's clock), when,
    why. ``seq`` numbers the steps of one finding, so two concurrent steps cannot both
    follow the same state."""

    __tablename__ = "finding_events"
    __table_args__ = (UniqueConstraint("finding_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20))
    actor_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(TZ)


class ReproductionBox(AppendOnly, Base):
    """Reproduction material sealed to one recipient's X25519 key: only that recipient
    can open it; the registry holds ciphertext."""

    __tablename__ = "reproduction_boxes"
    __table_args__ = (UniqueConstraint("finding_id", "recipient_key_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    recipient_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    recipient_key_id: Mapped[str] = mapped_column(ForeignKey("org_keys.id"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZ)


class Webhook(Base):
    """An organisation's endpoint for signed notifications (Standard Webhooks)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))  # whsec_<base64>, signs deliveries
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(TZ)
    disabled_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)


class OutboxMessage(Base):
    """A notification waiting for (or past) delivery to one webhook. Written in the
    transaction of the event it announces, so none is lost; delivered at least once,
    each carrying its event id for the receiver to drop repeats."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("event_id", "webhook_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    body: Mapped[str] = mapped_column(Text)  # the exact JSON sent
    created_at: Mapped[datetime] = mapped_column(TZ)
    next_attempt_at: Mapped[datetime] = mapped_column(TZ, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class WebSession(Base):
    """A browser session: the cookie's secret is stored hashed, like API tokens."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ)
    revoked_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)


class LoginFailure(Base):
    """A failed log-in, counted to slow down password guessing."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_name: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(TZ)


APPEND_ONLY_TABLES = tuple(
    table.name
    for table in Base.metadata.sorted_tables
    if any(
        issubclass(m.class_, AppendOnly) and m.persist_selectable is table
        for m in Base.registry.mappers
    )
)


class RegistrySession(Session):
    """Sessions of the registry: append-only rows cannot be changed through them."""


@event.listens_for(RegistrySession, "before_flush")
def _refuse_changes(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.dirty:
        if isinstance(obj, AppendOnly) and session.is_modified(obj):
            raise AppendOnlyError(f"{type(obj).__name__} rows are append-only: not updated")
    for obj in session.deleted:
        if isinstance(obj, AppendOnly):
            raise AppendOnlyError(f"{type(obj).__name__} rows are append-only: not deleted")


@event.listens_for(RegistrySession, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete:
        for mapper in state.all_mappers:
            if issubclass(mapper.class_, AppendOnly):
                raise AppendOnlyError(
                    f"{mapper.class_.__name__} rows are append-only: bulk change refused"
                )


def open_database(url: str) -> Engine:
    """Open (creating or migrating) the registry database at ``url``."""
    engine = open_engine(url)
    migrate(engine, MIGRATIONS)
    return engine


def session_factory(engine: Engine, *, public_url: str = "") -> sessionmaker[RegistrySession]:
    """Sessions of the registry; ``public_url`` is how links in notifications begin."""
    return sessionmaker(
        engine, class_=RegistrySession, expire_on_commit=False, info={"public_url": public_url}
    )
