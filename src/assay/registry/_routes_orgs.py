"""Organisations, their public keys, the caller's identity, API tokens."""

from __future__ import annotations

import base64
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy import select

from assay._util.errors import UsageError
from assay.attest import key_id
from assay.registry._auth import issue_token, token_state
from assay.registry._db import ApiToken, Organisation, OrgKey, User
from assay.registry._deps import Caller, Db, Paging, now, paginate, respond
from assay.registry._errors import conflict, invalid, not_found
from assay.registry._policy import Action, authorize
from assay.registry._resources import org_by_slug, org_resource
from assay.registry._schemas import (
    IssuedTokenOut,
    KeyIn,
    KeyOut,
    OrgOut,
    Page,
    TokenIn,
    TokenOut,
    WhoAmI,
)
from assay.registry._sealed import parse_sealing_public, sealing_key_id
from assay.registry._types import KeyKind, OrgKind, Scope
from assay.registry._visibility import Resource

router = APIRouter(tags=["organisations"])
Slug = Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")


def org_out(org: Organisation) -> OrgOut:
    return OrgOut(
        slug=org.slug,
        name=org.name,
        kind=OrgKind(org.kind),
        jurisdiction=org.jurisdiction,
        created_at=org.created_at,
    )


def key_out(key: OrgKey) -> KeyOut:
    return KeyOut(
        id=key.id,
        kind=KeyKind(key.kind),
        public_key=key.public_key,
        label=key.label,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.get("/v1/whoami", response_model=WhoAmI)
def whoami(request: Request, caller: Caller, db: Db) -> Response:
    """The organisation, user, role and scopes of the presented token."""
    authorize(caller, Action.WHOAMI)
    org = db.get(Organisation, caller.org_id)
    user = db.get(User, caller.user_id)
    assert org is not None and user is not None and caller.role is not None
    assert caller.org_kind is not None
    return respond(
        request,
        caller,
        WhoAmI(
            org=org.slug,
            kind=caller.org_kind,
            user=user.name,
            role=caller.role,
            scopes=sorted(caller.scopes),
            token_id=caller.token_id,
        ),
    )


@router.get("/v1/orgs", response_model=Page[OrgOut])
def list_orgs(request: Request, caller: Caller, db: Db, page: Paging) -> Response:
    """Every organisation: developers, testing organisations, authorities."""
    authorize(caller, Action.READ_PUBLIC)
    rows, cursor = paginate(db, select(Organisation), Organisation.id, page, lambda _: True)
    return respond(
        request, caller, Page[OrgOut](items=[org_out(o) for o in rows], next_cursor=cursor)
    )


@router.get("/v1/orgs/{slug}", response_model=OrgOut)
def show_org(request: Request, caller: Caller, db: Db, slug: str = Slug) -> Response:
    org = org_by_slug(db, slug)
    authorize(caller, Action.READ_PUBLIC, org_resource(org))
    return respond(request, caller, org_out(org))


@router.get("/v1/orgs/{slug}/keys", response_model=list[KeyOut])
def list_keys(request: Request, caller: Caller, db: Db, slug: str = Slug) -> Response:
    """The organisation's public keys, revoked ones included (with the time of revocation),
    so old signatures stay checkable."""
    org = org_by_slug(db, slug)
    authorize(caller, Action.READ_PUBLIC, org_resource(org))
    keys = db.scalars(select(OrgKey).where(OrgKey.org_id == org.id).order_by(OrgKey.created_at))
    return respond(request, caller, [key_out(k).model_dump(mode="json") for k in keys])


def _parse_key(body: KeyIn) -> tuple[str, str]:
    """(key id, canonical public key text) of a submitted public key."""
    if body.kind is KeyKind.SIGNING:
        try:
            public = load_pem_public_key(body.public_key.encode())
        except (ValueError, TypeError):
            raise invalid("public_key is not a PEM public key") from None
        if not isinstance(public, Ed25519PublicKey):
            raise invalid("a signing key must be Ed25519")
        return key_id(public), body.public_key.strip() + "\n"
    try:
        raw = parse_sealing_public(body.public_key)
    except UsageError as exc:
        raise invalid(exc.message) from None
    return sealing_key_id(raw), base64.b64encode(raw).decode()


@router.post("/v1/orgs/{slug}/keys", response_model=KeyOut, status_code=201)
def add_key(request: Request, caller: Caller, db: Db, body: KeyIn, slug: str = Slug) -> Response:
    """Register a public key: Ed25519 for signing attestations, X25519 for sealed boxes."""
    org = org_by_slug(db, slug)
    authorize(caller, Action.MANAGE_KEYS, org_resource(org))
    kid, text = _parse_key(body)
    existing = db.get(OrgKey, kid)
    if existing is not None:
        if existing.org_id != org.id:
            raise conflict("this key is registered to another organisation", "key_taken")
        return respond(request, caller, key_out(existing))
    key = OrgKey(
        id=kid,
        org_id=org.id,
        kind=body.kind.value,
        public_key=text,
        label=body.label,
        created_at=now(request),
        revoked_at=None,
    )
    db.add(key)
    db.commit()
    return respond(request, caller, key_out(key), status_code=201)


@router.post("/v1/orgs/{slug}/keys/{key_id}/revoke", response_model=KeyOut)
def revoke_key(
    request: Request,
    caller: Caller,
    db: Db,
    slug: str = Slug,
    key_id: str = Path(max_length=80),
) -> Response:
    """Revoke a key: it no longer signs submissions nor receives sealed tokens."""
    org = org_by_slug(db, slug)
    authorize(caller, Action.MANAGE_KEYS, org_resource(org))
    key = db.get(OrgKey, key_id)
    if key is None or key.org_id != org.id:
        raise not_found("key")
    if key.revoked_at is None:
        key.revoked_at = now(request)
        db.commit()
    return respond(request, caller, key_out(key))


def token_out(token: ApiToken, user: User, request: Request) -> TokenOut:
    return TokenOut(
        id=token.id,
        user=user.name,
        scopes=token.scopes,
        label=token.label,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        status=token_state(token, now(request)),
    )


@router.get("/v1/tokens", response_model=list[TokenOut])
def list_tokens(request: Request, caller: Caller, db: Db) -> Response:
    """Your organisation's API tokens (never their secrets)."""
    org = db.get(Organisation, caller.org_id) if caller.org_id is not None else None
    authorize(caller, Action.MANAGE_TOKENS, org_resource(org) if org is not None else None)
    rows = db.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.org_id == caller.org_id)
        .order_by(ApiToken.created_at)
    )
    return respond(
        request, caller, [token_out(t, u, request).model_dump(mode="json") for t, u in rows]
    )


@router.post("/v1/tokens", response_model=IssuedTokenOut, status_code=201)
def create_token(request: Request, caller: Caller, db: Db, body: TokenIn) -> Response:
    """Issue a token for a user of your organisation; the secret is in this response only."""
    org = db.get(Organisation, caller.org_id) if caller.org_id is not None else None
    authorize(caller, Action.MANAGE_TOKENS, org_resource(org) if org is not None else None)
    user = db.scalar(select(User).where(User.name == body.user, User.org_id == caller.org_id))
    if user is None:
        raise not_found("user in your organisation")
    try:
        issued = issue_token(
            db,
            user,
            scopes=body.scopes or [Scope.READ],
            expires_in=timedelta(days=body.expires_in_days) if body.expires_in_days else None,
            label=body.label,
            now=now(request),
        )
    except UsageError as exc:
        raise invalid(exc.message) from None
    db.commit()
    row = db.get(ApiToken, issued.id)
    assert row is not None
    out = IssuedTokenOut(**token_out(row, user, request).model_dump(), token=issued.secret)
    return respond(request, caller, out, status_code=201)


@router.post("/v1/tokens/{token_id}/revoke", response_model=TokenOut)
def revoke_token(
    request: Request,
    caller: Caller,
    db: Db,
    token_id: str = Path(pattern=r"^[0-9a-f]{1,32}$"),
) -> Response:
    """Revoke one of your organisation's tokens; it stops working at once."""
    token = db.get(ApiToken, token_id)
    # a token is seen by its own organisation only: 404 for anyone else
    resource = Resource(kind="token", owner_org_id=token.org_id if token else None)
    authorize(caller, Action.MANAGE_TOKENS, resource)
    assert token is not None
    if token.revoked_at is None:
        token.revoked_at = now(request)
        db.commit()
    user = db.get(User, token.user_id)
    assert user is not None
    return respond(request, caller, token_out(token, user, request))
