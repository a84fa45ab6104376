"""Organisations, users, API tokens and browser sessions; the one dependency that
turns a request's credentials into a :class:`Principal`.

Tokens read ``asr_<id>_<secret>`` and share their format, hashing, constant-time
check and expiry rules with the gateway's (:mod:`assay._util.tokens`). A token's
scopes are capped by its user's current role, so demoting a user takes effect at once.

A browser session is a cookie (``assay_session``: ``ass_<id>_<secret>``, stored
hashed like a token, HttpOnly, SameSite=Lax, Secure when the registry is reached over
HTTPS) made by logging in with a user's password (argon2id). A session principal has
the scopes its user's role allows; every unsafe request it makes must carry the
session's CSRF token (a form field ``csrf`` or the ``X-CSRF-Token`` header). Failed
log-ins are counted per user name in the database, so the limit holds across
processes.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from assay._util.db import aware
from assay._util.errors import UsageError
from assay._util.tokens import ACTIVE, generate_token, hash_matches, token_id, token_status
from assay.registry._clock import Clock
from assay.registry._db import ApiToken, LoginFailure, Organisation, User, WebSession
from assay.registry._errors import RegistryError, forbidden, unauthorized
from assay.registry._types import ROLE_SCOPES, OrgKind, Role, Scope
from assay.registry._visibility import PUBLIC, Principal

TOKEN_PREFIX = "asr"
TOKEN_ENV = "ASSAY_REGISTRY_TOKEN"
SESSION_PREFIX = "ass"
SESSION_COOKIE = "assay_session"
SESSION_LIFETIME = timedelta(hours=12)
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MIN_PASSWORD = 12
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_ATTEMPTS = 5  # failures per user name in the window before log-in is refused
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106) parameters
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


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


def _token_principal(request: Request, presented: str) -> Principal:
    state = request.app.state.registry
    clock: Clock = state.clock
    with state.sessions() as session:
        return principal_for(session, presented, clock.now())


async def resolve_principal(request: Request) -> Principal:
    """The FastAPI dependency every route uses: the public without credentials, the
    token's principal with a bearer token (401 for one that does not hold), the
    session's principal with a session cookie (the public when it has expired; 403 for
    an unsafe request without its CSRF token)."""
    principal = await _resolve(request)
    request.state.principal = principal  # for error pages
    return principal


async def _resolve(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise unauthorized("send 'Authorization: Bearer <token>'")
        return await run_in_threadpool(_token_principal, request, value.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return PUBLIC
    found = await run_in_threadpool(session_principal, request, cookie)
    if found is None:
        return PUBLIC
    principal, csrf = found
    request.state.csrf_token = csrf  # the pages put it in their forms
    if request.method not in SAFE_METHODS:
        given: str | None = request.headers.get(CSRF_HEADER)
        content_type = request.headers.get("content-type", "")
        if given is None and content_type.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            field = (await request.form()).get(CSRF_FIELD)
            given = field if isinstance(field, str) else None
        if not given or not hmac.compare_digest(given, csrf):
            raise forbidden("missing or wrong CSRF token: reload the page and try again")
    return principal


# ---- passwords and browser sessions ----------------------------------------------------


def set_password(session: Session, name: str, password: str) -> None:
    """Set a user's log-in password (stored as an argon2id hash)."""
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password has at least {MIN_PASSWORD} characters")
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UsageError(f"no user named {name!r}", hint="add one with `assay registry user add`")
    user.password_hash = _HASHER.hash(password)


def check_password(session: Session, name: str, password: str, now: datetime) -> User:
    """The user whose name and password these are; RegistryError 429 when the name has
    failed too often lately, 401 when they do not match (and counted)."""
    since = now - LOGIN_WINDOW
    failures = session.scalar(
        select(func.count(LoginFailure.id)).where(
            LoginFailure.user_name == name, LoginFailure.at > since
        )
    )
    if (failures or 0) >= LOGIN_ATTEMPTS:
        raise RegistryError(
            429,
            f"too many failed log-ins for this name: try again in {LOGIN_WINDOW.seconds // 60} "
            "minutes",
            code="rate_limited",
            headers={"Retry-After": str(LOGIN_WINDOW.seconds)},
        )
    user = session.scalar(select(User).where(User.name == name))
    stored = user.password_hash if user is not None else None
    try:
        ok = _HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or user.disabled_at is not None:
        session.add(LoginFailure(user_name=name[:200], at=now))
        session.commit()
        raise unauthorized("wrong user name or password")
    if _HASHER.check_needs_rehash(stored or ""):
        user.password_hash = _HASHER.hash(password)
    return user


@dataclass(frozen=True)
class NewSession:
    cookie: str
    csrf: str
    expires_at: datetime


def open_session(session: Session, user: User, now: datetime) -> NewSession:
    new = generate_token(SESSION_PREFIX)
    csrf = secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    session.add(
        WebSession(
            id=new.id,
            user_id=user.id,
            token_hash=new.hash,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
            revoked_at=None,
        )
    )
    session.flush()
    return NewSession(cookie=new.secret, csrf=csrf, expires_at=expires)


def close_session(session: Session, cookie: str, now: datetime) -> None:
    sid = token_id(cookie, SESSION_PREFIX)
    row = session.get(WebSession, sid) if sid is not None else None
    if row is not None and hash_matches(row.token_hash, cookie) and row.revoked_at is None:
        row.revoked_at = now
        session.commit()


def session_principal(request: Request, cookie: str) -> tuple[Principal, str] | None:
    """The principal of a session cookie and its CSRF token; None when the cookie does
    not stand for a live session (expired, revoked, unknown, its user disabled)."""
    sid = token_id(cookie, SESSION_PREFIX)
    if sid is None:
        return None
    state = request.app.state.registry
    now = state.clock.now()
    with state.sessions() as session:
        row = session.get(WebSession, sid)
        if row is None or not hash_matches(row.token_hash, cookie):
            return None
        if row.revoked_at is not None or aware(row.expires_at) <= now:
            return None
        user = session.get(User, row.user_id)
        if user is None or user.disabled_at is not None:
            return None
        org = session.get(Organisation, user.org_id)
        assert org is not None
        role = Role(user.role)
        principal = Principal(
            org_id=org.id,
            org_slug=org.slug,
            org_kind=OrgKind(org.kind),
            user_id=user.id,
            role=role,
            scopes=ROLE_SCOPES[role],
            session_id=row.id,
        )
        return principal, row.csrf_token
