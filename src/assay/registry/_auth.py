"""Organisations, users and API tokens; the one dependency that turns a request's
credentials into a :class:`Principal`.

Tokens read ``asr_<id>_<secret>`` and share their format, hashing, constant-time
check and expiry rules with the gateway's (:mod:`assay._util.tokens`). A token's
scopes are capped by its user's current role, so demoting a user takes effect at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay._util.db import aware
from assay._util.errors import UsageError
from assay._util.tokens import ACTIVE, generate_token, hash_matches, token_id, token_status
from assay.registry._clock import Clock
from assay.registry._db import ApiToken, Organisation, User
from assay.registry._errors import unauthorized
from assay.registry._types import ROLE_SCOPES, OrgKind, Role, Scope
from assay.registry._visibility import PUBLIC, Principal

TOKEN_PREFIX = "asr"
TOKEN_ENV = "ASSAY_REGISTRY_TOKEN"
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def check_slug(slug: str) -> str:
    if not _SLUG.fullmatch(slug):
        raise UsageError(
            f"invalid organisation name {slug!r}",
            hint="use lowercase letters, digits and '-', at most 63, starting with a letter or digit",
        )
    return slug


def create_org(
    session: Session,
    slug: str,
    *,
    kind: OrgKind,
    name: str | None,
    jurisdiction: str | None,
    now: datetime,
) -> Organisation:
    check_slug(slug)
    if session.scalar(select(Organisation).where(Organisation.slug == slug)) is not None:
        raise UsageError(f"an organisation named {slug!r} exists already")
    org = Organisation(
        slug=slug, name=name or slug, kind=kind.value, jurisdiction=jurisdiction, created_at=now
    )
    session.add(org)
    session.flush()
    return org


def add_user(session: Session, org_slug: str, name: str, *, role: Role, now: datetime) -> User:
    org = session.scalar(select(Organisation).where(Organisation.slug == org_slug))
    if org is None:
        raise UsageError(
            f"no organisation named {org_slug!r}", hint="see `assay registry org list`"
        )
    if not name.strip() or len(name) > 200:
        raise UsageError("a user name is 1-200 characters")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise UsageError(f"a user named {name!r} exists already")
    user = User(org_id=org.id, name=name, role=role.value, created_at=now)
    session.add(user)
    session.flush()
    return user


def normalise_scopes(scopes: Iterable[Scope | str], role: Role) -> list[str]:
    """The scopes a new token gets: those asked for, plus read (every token can read
    what its organisation may read); refused when the user's role does not allow one."""
    wanted = {Scope(s) for s in scopes} | {Scope.READ}
    beyond = wanted - ROLE_SCOPES[role]
    if beyond:
        names = ", ".join(sorted(s.value for s in beyond))
        raise UsageError(f"a {role.value} cannot hold a token with the {names} scope")
    return sorted(s.value for s in wanted)


@dataclass(frozen=True)
class IssuedToken:
    id: str
    secret: str
    scopes: list[str]
    expires_at: datetime | None


def issue_token(
    session: Session,
    user: User,
    *,
    scopes: Iterable[Scope | str],
    expires_in: timedelta | None,
    label: str | None,
    now: datetime,
) -> IssuedToken:
    """A new API token for ``user``; the secret is returned once and never stored."""
    if user.disabled_at is not None:
        raise UsageError(f"user {user.name!r} is disabled")
    granted = normalise_scopes(scopes, Role(user.role))
    new = generate_token(TOKEN_PREFIX)
    expires_at = now + expires_in if expires_in is not None else None
    session.add(
        ApiToken(
            id=new.id,
            user_id=user.id,
            org_id=user.org_id,
            token_hash=new.hash,
            scopes=granted,
            label=label,
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
        )
    )
    session.flush()
    return IssuedToken(id=new.id, secret=new.secret, scopes=granted, expires_at=expires_at)


def token_state(row: ApiToken, now: datetime) -> str:
    return token_status(
        revoked_at=aware(row.revoked_at) if row.revoked_at else None,
        expires_at=aware(row.expires_at) if row.expires_at else None,
        now=now,
    )


def principal_for(session: Session, presented: str, now: datetime) -> Principal:
    """The principal a presented token stands for; RegistryError 401 when it does not
    stand for one (malformed, unknown, expired, revoked, its user disabled)."""
    tid = token_id(presented, TOKEN_PREFIX)
    if tid is None:
        raise unauthorized("malformed token: expected asr_<id>_<secret>")
    row = session.get(ApiToken, tid)
    if not hash_matches(row.token_hash if row is not None else None, presented) or row is None:
        raise unauthorized("invalid token")
    state = token_state(row, now)
    if state != ACTIVE:
        raise unauthorized(f"token {row.id} is {state}")
    user = session.get(User, row.user_id)
    org = session.get(Organisation, row.org_id)
    if user is None or org is None or user.disabled_at is not None:
        raise unauthorized(f"token {row.id} belongs to a disabled user")
    role = Role(user.role)
    scopes = frozenset(Scope(s) for s in row.scopes) & ROLE_SCOPES[role]
    return Principal(
        org_id=org.id,
        org_slug=org.slug,
        org_kind=OrgKind(org.kind),
        user_id=user.id,
        role=role,
        scopes=scopes,
        token_id=row.id,
    )


def resolve_principal(request: Request) -> Principal:
    """The FastAPI dependency every route uses: the public without credentials, the
    token's principal with them, 401 for credentials that do not hold."""
    header = request.headers.get("authorization")
    if header is None:
        return PUBLIC
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise unauthorized("send 'Authorization: Bearer <token>'")
    state = request.app.state.registry
    clock: Clock = state.clock
    with state.sessions() as session:
        return principal_for(session, value.strip(), clock.now())
