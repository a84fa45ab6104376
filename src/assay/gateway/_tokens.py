"""Bearer tokens scoped to an engagement, a tier and models; stored only as hashes.

A token reads ``asy_<id>_<secret>``. The id is public (it names the token in logs
and in ``token list``); the store keeps only ``sha256(token)`` and compares it in
constant time, so a leaked database grants nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import JSON, DateTime, String, create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

from assay._util.errors import UsageError
from assay.gateway._tiers import Tier

TOKEN_PREFIX = "asy"
ALL_MODELS = "*"


class _Base(DeclarativeBase):
    pass


class _TokenRow(_Base):
    __tablename__ = "gateway_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16))
    engagement: Mapped[str] = mapped_column(String(200))
    models: Mapped[list[str]] = mapped_column(JSON)
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class TokenInfo:
    """What a token grants (never the secret)."""

    id: str
    tier: Tier
    engagement: str
    models: tuple[str, ...]
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def allows_model(self, model: str) -> bool:
        return ALL_MODELS in self.models or model in self.models

    def status(self, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and _aware(self.expires_at) <= now:
            return "expired"
        return "active"


class TokenRejected(Exception):
    """The presented token is unknown, malformed, expired or revoked."""


class TokenStore:
    """Issue, verify, list and revoke gateway tokens (SQLite file or any SQLAlchemy URL)."""

    def __init__(self, url: str) -> None:
        if url == "sqlite://":
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            engine = create_engine(url)
        self._engine: Engine = engine
        _Base.metadata.create_all(engine)

    @classmethod
    def at_path(cls, path: Path) -> TokenStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{path}")

    @classmethod
    def in_memory(cls) -> TokenStore:
        return cls("sqlite://")

    def issue(
        self,
        *,
        tier: Tier,
        engagement: str,
        models: Sequence[str] = (ALL_MODELS,),
        expires_in: timedelta | None = None,
        label: str | None = None,
    ) -> tuple[TokenInfo, str]:
        """Create a token; returns its description and the secret (shown once)."""
        if not engagement.strip():
            raise UsageError("a token needs an engagement name", hint="pass --engagement NAME")
        token_id = secrets.token_hex(6)
        secret = f"{TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
        now = datetime.now(UTC)
        row = _TokenRow(
            id=token_id,
            secret_hash=_hash(secret),
            tier=tier.value,
            engagement=engagement,
            models=list(models) or [ALL_MODELS],
            label=label,
            created_at=now,
            expires_at=now + expires_in if expires_in is not None else None,
            revoked_at=None,
        )
        with Session(self._engine) as session, session.begin():
            session.add(row)
            info = _info(row)
        return info, secret

    def verify(self, presented: str) -> TokenInfo:
        """Return the token's grant, or raise :class:`TokenRejected` saying why."""
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise TokenRejected("malformed token: expected asy_<id>_<secret>")
        with Session(self._engine) as session:
            row = session.get(_TokenRow, parts[1])
            # Compare even for unknown ids so timing does not reveal which ids exist.
            expected = row.secret_hash if row is not None else _hash("unknown")
            if not hmac.compare_digest(expected, _hash(presented)) or row is None:
                raise TokenRejected("invalid token")
            info = _info(row)
        status = info.status()
        if status != "active":
            raise TokenRejected(f"token {info.id} is {status}")
        return info

    def list(self) -> list[TokenInfo]:
        with Session(self._engine) as session:
            rows = session.scalars(select(_TokenRow).order_by(_TokenRow.created_at)).all()
            return [_info(r) for r in rows]

    def revoke(self, token_id: str) -> TokenInfo:
        with Session(self._engine) as session, session.begin():
            row = session.get(_TokenRow, token_id)
            if row is None:
                raise UsageError(
                    f"no token with id {token_id!r}", hint="see `assay gateway token list`"
                )
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
            return _info(row)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _info(row: _TokenRow) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        tier=Tier(row.tier),
        engagement=row.engagement,
        models=tuple(row.models),
        label=row.label,
        created_at=_aware(row.created_at),
        expires_at=_aware(row.expires_at) if row.expires_at else None,
        revoked_at=_aware(row.revoked_at) if row.revoked_at else None,
    )
