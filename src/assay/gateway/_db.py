"""The gateway's database: tokens with their quotas and usage, the request log (the
Merkle log tables of :mod:`assay.attest`), and fine-tuning jobs. SQLite by default, any
SQLAlchemy URL (PostgreSQL) works; the schema is managed by Alembic migrations that run
when the database opens (engines and migrations as :mod:`assay._util.db` opens them for
every service)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Double, Integer, String, Text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from assay._util.db import migrate, open_engine

MIGRATIONS = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    pass


class TokenRow(Base):
    __tablename__ = "gateway_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16))
    engagement: Mapped[str] = mapped_column(String(200), index=True)
    models: Mapped[list[str]] = mapped_column(JSON)
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    max_requests: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    max_tokens: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    max_floats: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    used_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    used_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    used_floats: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_requests: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_floats: Mapped[int] = mapped_column(BigInteger, default=0)
    # the rate limit's theoretical arrival time (GCRA), epoch seconds by the database clock
    rate_tat: Mapped[float | None] = mapped_column(Double, nullable=True)


class JobRow(Base):
    __tablename__ = "finetune_jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    engagement: Mapped[str] = mapped_column(String(200), index=True)
    token_id: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(300))
    adapter: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    n_examples: Mapped[int] = mapped_column(Integer)
    losses: Mapped[list[dict[str, float]]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # worker starts so far
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


def open_database(url: str) -> Engine:
    """Open (creating or migrating) the gateway database at ``url``."""
    engine = open_engine(url)
    migrate(engine, MIGRATIONS)
    return engine
