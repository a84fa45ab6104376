"""Bearer tokens scoped to an engagement, a tier, models and quotas; stored only as hashes.

A token reads ``asy_<id>_<secret>``, generated, hashed and checked as
:mod:`assay._util.tokens` does for every service: the id is public (it names the token
in logs and in ``token list``); the store keeps only ``sha256(token)`` and compares it
in constant time, so a leaked database grants nothing.

Quotas hold under concurrency: a request first *reserves* its worst case (one
request, prompt plus maximum new tokens, the most floats it could return) in one
conditional UPDATE, then *settles* the actual usage. Two requests can never both
take the last unit of a quota, whatever the number of workers or gateway processes
sharing the database: the database locks the row for the UPDATE and, on PostgreSQL,
re-evaluates its WHERE clause on the row as the previous writer committed it.

Rate limits are kept in the same row, as one number per token (the Generic Cell Rate
Algorithm's theoretical arrival time), taken with one conditional UPDATE as well, by
the database's clock: every replica sees one limit and one clock.

Over 400 lines because issuing, checking, reserving, settling and rate-limiting are
four views of one row per token, and splitting them would spread its invariants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Double, case, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from assay._util.db import aware, serialized
from assay._util.errors import UsageError
from assay._util.tokens import generate_token, hash_matches, token_status
from assay._util.tokens import token_id as presented_token_id
from assay.gateway._db import TokenRow, open_database, utcnow
from assay.tiers import Tier

TOKEN_PREFIX = "asy"
ALL_MODELS = "*"
RATE_WINDOW_S = 60.0  # rate limits are requests per minute


@dataclass(frozen=True)
class Usage:
    """Counters of one token: what it used, what is reserved in flight, its limits."""

    requests: int
    tokens: int
    floats: int
    max_requests: int | None
    max_tokens: int | None
    max_floats: int | None


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
    max_requests: int | None = None
    max_tokens: int | None = None
    max_floats: int | None = None
    rate_per_minute: int | None = None
    used_requests: int = 0
    used_tokens: int = 0
    used_floats: int = 0

    def allows_model(self, model: str) -> bool:
        """Base models by name; a variant ``MODEL@ADAPTER`` when its base is allowed
        (whose engagement owns the adapter is checked where adapters are served)."""
        base = model.split("@", 1)[0]
        return ALL_MODELS in self.models or model in self.models or base in self.models

    def status(self, now: datetime | None = None) -> str:
        return token_status(
            revoked_at=self.revoked_at, expires_at=self.expires_at, now=now or datetime.now(UTC)
        )


class Unchanged:
    """Marks an argument of :meth:`TokenStore.update` that is left as it is."""


UNCHANGED = Unchanged()


class TokenRejected(Exception):
    """The presented token is unknown, malformed, expired or revoked."""


class RateLimited(Exception):
    """The token's rate limit is reached; ``retry_after`` seconds until the next slot."""

    def __init__(self, limit: int, retry_after: float) -> None:
        super().__init__(f"{limit} requests per minute")
        self.limit = limit
        self.retry_after = retry_after


class QuotaExceeded(Exception):
    """A reservation would take a token over one of its quotas."""

    def __init__(self, which: str, usage: Usage) -> None:
        super().__init__(which)
        self.which = which
        self.usage = usage


class TokenStore:
    """Issue, verify, list, revoke tokens; reserve and settle their quotas."""

    def __init__(self, url_or_engine: str | Engine) -> None:
        self.engine = (
            open_database(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        )

    @classmethod
    def at_path(cls, path: Path) -> TokenStore:
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
        max_requests: int | None = None,
        max_tokens: int | None = None,
        max_floats: int | None = None,
        rate_per_minute: int | None = None,
    ) -> tuple[TokenInfo, str]:
        """Create a token; returns its description and the secret (shown once)."""
        if not engagement.strip():
            raise UsageError("a token needs an engagement name", hint="pass --engagement NAME")
        for name, value in (
            ("max requests", max_requests),
            ("max tokens", max_tokens),
            ("max floats", max_floats),
            ("rate", rate_per_minute),
        ):
            if value is not None and value < 1:
                raise UsageError(f"{name} must be at least 1, got {value}")
        new = generate_token(TOKEN_PREFIX)
        now = utcnow()
        row = TokenRow(
            id=new.id,
            secret_hash=new.hash,
            tier=tier.value,
            engagement=engagement,
            models=list(models) or [ALL_MODELS],
            label=label,
            created_at=now,
            expires_at=now + expires_in if expires_in is not None else None,
            revoked_at=None,
            max_requests=max_requests,
            max_tokens=max_tokens,
            max_floats=max_floats,
            rate_per_minute=rate_per_minute,
            used_requests=0,
            used_tokens=0,
            used_floats=0,
            reserved_requests=0,
            reserved_tokens=0,
            reserved_floats=0,
        )
        with serialized(self.engine), Session(self.engine) as session, session.begin():
            session.add(row)
            info = _info(row)
        return info, new.secret

    def verify(self, presented: str) -> TokenInfo:
        """Return the token's grant, or raise :class:`TokenRejected` saying why."""
        presented_id = presented_token_id(presented, TOKEN_PREFIX)
        if presented_id is None:
            raise TokenRejected("malformed token: expected asy_<id>_<secret>")
        with serialized(self.engine), Session(self.engine) as session:
            row = session.get(TokenRow, presented_id)
            if not hash_matches(row.secret_hash if row is not None else None, presented):
                raise TokenRejected("invalid token")
            assert row is not None
            info = _info(row)
        status = info.status()
        if status != "active":
            raise TokenRejected(f"token {info.id} is {status}")
        return info

    def get(self, token_id: str) -> TokenInfo:
        with serialized(self.engine), Session(self.engine) as session:
            row = session.get(TokenRow, token_id)
            if row is None:
                raise UsageError(
                    f"no token with id {token_id!r}", hint="see `assay gateway token list`"
                )
            return _info(row)

    def list(self, engagement: str | None = None) -> list[TokenInfo]:
        with serialized(self.engine), Session(self.engine) as session:
            query = select(TokenRow).order_by(TokenRow.created_at)
            if engagement is not None:
                query = query.where(TokenRow.engagement == engagement)
            return [_info(r) for r in session.scalars(query).all()]

    def revoke(self, token_id: str) -> TokenInfo:
        with serialized(self.engine), Session(self.engine) as session, session.begin():
            row = session.get(TokenRow, token_id)
            if row is None:
                raise UsageError(
                    f"no token with id {token_id!r}", hint="see `assay gateway token list`"
                )
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _info(row)

    def update(
        self,
        token_id: str,
        *,
        limits: dict[str, int | None] | None = None,
        expires_in: timedelta | Unchanged | None = UNCHANGED,
        label: str | Unchanged | None = UNCHANGED,
    ) -> TokenInfo:
        """Change a token's quotas (``max_requests``, ``max_tokens``, ``max_floats``,
        ``rate_per_minute``; ``None`` removes one), expiry (from now) or label. A lower
        quota than what is already used blocks further requests at once."""
        allowed = {"max_requests", "max_tokens", "max_floats", "rate_per_minute"}
        limits = limits or {}
        unknown = set(limits) - allowed
        if unknown:
            raise UsageError(f"unknown token limit {sorted(unknown)[0]!r}")
        for name, value in limits.items():
            if value is not None and value < 1:
                raise UsageError(f"{name} must be at least 1, got {value}")
        with serialized(self.engine), Session(self.engine) as session, session.begin():
            row = session.get(TokenRow, token_id)
            if row is None:
                raise UsageError(
                    f"no token with id {token_id!r}", hint="see `assay gateway token list`"
                )
            for name, value in limits.items():
                setattr(row, name, value)
            if not isinstance(expires_in, Unchanged):
                row.expires_at = utcnow() + expires_in if expires_in is not None else None
            if not isinstance(label, Unchanged):
                row.label = label
            return _info(row)

    # ---- rate limits ----------------------------------------------------------------

    def take_rate(self, token: TokenInfo) -> None:
        """Admit one request under the token's rate limit or raise :class:`RateLimited`.

        GCRA: a token with rate ``r`` per minute has an emission interval ``T = 60/r`` s
        and a theoretical arrival time ``tat``. A request at ``now`` is admitted when
        ``max(tat, now) + T - now <= 60`` s, and then ``tat`` becomes ``max(tat, now) + T``:
        a burst of up to ``r`` requests, then one every ``T``; ``r`` per minute sustained.
        One conditional UPDATE by the database's clock, so replicas share the limit."""
        limit = token.rate_per_minute
        if limit is None:
            return
        interval = RATE_WINDOW_S / limit
        t, now = TokenRow, _EpochNow()
        start = case((t.rate_tat.is_(None), now), (t.rate_tat < now, now), else_=t.rate_tat)
        statement = (
            update(t)
            .where(t.id == token.id)
            .where(start + interval - now <= RATE_WINDOW_S + interval * 1e-6)
            .values(rate_tat=start + interval)
            .returning(t.id)
        )
        with serialized(self.engine), self.engine.begin() as connection:
            if connection.execute(statement).first() is not None:
                return
            ahead = connection.execute(
                select(t.rate_tat - _EpochNow()).where(t.id == token.id)
            ).scalar()
        wait = (ahead or 0.0) + interval - RATE_WINDOW_S
        raise RateLimited(limit, max(wait, 0.0))

    # ---- quotas -------------------------------------------------------------------

    def reserve(self, token_id: str, *, requests: int, tokens: int, floats: int) -> Usage:
        """Atomically reserve capacity, or raise :class:`QuotaExceeded` naming the quota."""
        t = TokenRow
        statement = (
            update(t)
            .where(t.id == token_id)
            .where(
                or_(
                    t.max_requests.is_(None),
                    t.used_requests + t.reserved_requests + requests <= t.max_requests,
                )
            )
            .where(
                or_(
                    t.max_tokens.is_(None),
                    t.used_tokens + t.reserved_tokens + tokens <= t.max_tokens,
                )
            )
            .where(
                or_(
                    t.max_floats.is_(None),
                    t.used_floats + t.reserved_floats + floats <= t.max_floats,
                )
            )
            .values(
                reserved_requests=t.reserved_requests + requests,
                reserved_tokens=t.reserved_tokens + tokens,
                reserved_floats=t.reserved_floats + floats,
            )
            .returning(*_USAGE_COLUMNS)
        )
        with serialized(self.engine), self.engine.begin() as connection:
            row = connection.execute(statement).first()
        if row is None:
            usage = self.usage(token_id)
            raise QuotaExceeded(_exceeded(usage, requests, tokens, floats), usage)
        return Usage(*row)

    def settle(
        self,
        token_id: str,
        *,
        reserved: tuple[int, int, int],
        used: tuple[int, int, int],
        held: bool = True,
    ) -> Usage:
        """Release a reservation and record what was actually used (never more than
        reserved). ``held=False``: nothing was reserved in the database (a token without
        quotas), so only the usage is recorded and no reserved counter goes negative."""
        u_req, u_tok, u_flt = (min(u, r) for u, r in zip(used, reserved, strict=True))
        r_req, r_tok, r_flt = reserved if held else (0, 0, 0)
        t = TokenRow
        statement = (
            update(t)
            .where(t.id == token_id)
            .values(
                reserved_requests=t.reserved_requests - r_req,
                reserved_tokens=t.reserved_tokens - r_tok,
                reserved_floats=t.reserved_floats - r_flt,
                used_requests=t.used_requests + u_req,
                used_tokens=t.used_tokens + u_tok,
                used_floats=t.used_floats + u_flt,
            )
            .returning(*_USAGE_COLUMNS)
        )
        with serialized(self.engine), self.engine.begin() as connection:
            row = connection.execute(statement).first()
        if row is None:
            raise UsageError(f"no token with id {token_id!r}")
        return Usage(*row)

    def usage(self, token_id: str) -> Usage:
        with serialized(self.engine), Session(self.engine) as session:
            row = session.get(TokenRow, token_id)
            if row is None:
                raise UsageError(f"no token with id {token_id!r}")
            return Usage(
                requests=row.used_requests,
                tokens=row.used_tokens,
                floats=row.used_floats,
                max_requests=row.max_requests,
                max_tokens=row.max_tokens,
                max_floats=row.max_floats,
            )


class _EpochNow(FunctionElement[float]):
    """Seconds since the epoch by the database's clock (one clock for all replicas)."""

    type = Double()
    name = "epoch_now"
    inherit_cache = True


@compiles(_EpochNow)
def _epoch_now(element: _EpochNow, compiler: Any, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS DOUBLE PRECISION)"


@compiles(_EpochNow, "postgresql")
def _epoch_now_postgresql(element: _EpochNow, compiler: Any, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM statement_timestamp()) AS DOUBLE PRECISION)"


@compiles(_EpochNow, "sqlite")
def _epoch_now_sqlite(element: _EpochNow, compiler: Any, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"  # 'now' is fixed within a statement


_USAGE_COLUMNS = (
    TokenRow.used_requests,
    TokenRow.used_tokens,
    TokenRow.used_floats,
    TokenRow.max_requests,
    TokenRow.max_tokens,
    TokenRow.max_floats,
)


def _exceeded(usage: Usage, requests: int, tokens: int, floats: int) -> str:
    if usage.max_requests is not None and usage.requests + requests > usage.max_requests:
        return "requests"
    if usage.max_tokens is not None and usage.tokens + tokens > usage.max_tokens:
        return "tokens"
    if usage.max_floats is not None and usage.floats + floats > usage.max_floats:
        return "floats"
    return "concurrent reservations"


def _info(row: TokenRow) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        tier=Tier(row.tier),
        engagement=row.engagement,
        models=tuple(row.models),
        label=row.label,
        created_at=aware(row.created_at),
        expires_at=aware(row.expires_at) if row.expires_at else None,
        revoked_at=aware(row.revoked_at) if row.revoked_at else None,
        max_requests=row.max_requests,
        max_tokens=row.max_tokens,
        max_floats=row.max_floats,
        rate_per_minute=row.rate_per_minute,
        used_requests=row.used_requests or 0,
        used_tokens=row.used_tokens or 0,
        used_floats=row.used_floats or 0,
    )
