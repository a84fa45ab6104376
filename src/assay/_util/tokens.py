"""Bearer tokens as the gateway and the registry both handle them.

A token reads ``<prefix>_<id>_<secret>``. The id is public (it names the token in
listings and logs); a store keeps only ``sha256(token)`` and compares it in constant
time, also for ids it does not know, so neither a leaked database nor response
timing tells an attacker anything useful. Expiry and revocation are timestamps; a
token is usable only while it is :data:`ACTIVE`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

ACTIVE = "active"
EXPIRED = "expired"
REVOKED = "revoked"

_ID_BYTES = 6
_SECRET_BYTES = 32
_UNKNOWN = hashlib.sha256(b"unknown token").hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A freshly generated token: its public id, the secret (shown once) and its hash."""

    id: str
    secret: str
    hash: str


def generate_token(prefix: str) -> NewToken:
    """A new random token ``<prefix>_<id>_<secret>`` with its storable hash."""
    if not prefix.isalnum():
        raise ValueError("a token prefix is letters and digits only")
    token_id = secrets.token_hex(_ID_BYTES)
    secret = f"{prefix}_{token_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    return NewToken(id=token_id, secret=secret, hash=token_hash(secret))


def token_hash(secret: str) -> str:
    """What a store keeps instead of the token: its sha256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_id(presented: str, prefix: str) -> str | None:
    """The id part of a presented token, or None when it is not ``<prefix>_<id>_<secret>``."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != prefix or not parts[1] or not parts[2]:
        return None
    return parts[1]


def hash_matches(stored_hash: str | None, presented: str) -> bool:
    """Constant-time comparison of a presented token with a stored hash. Pass None when
    no token has the presented id: the comparison still runs, so timing does not reveal
    which ids exist."""
    expected = stored_hash if stored_hash is not None else _UNKNOWN
    return hmac.compare_digest(expected, token_hash(presented)) and stored_hash is not None


def token_status(*, revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> str:
    """:data:`REVOKED`, :data:`EXPIRED` or :data:`ACTIVE` (revocation wins)."""
    if revoked_at is not None:
        return REVOKED
    if expires_at is not None and expires_at <= now:
        return EXPIRED
    return ACTIVE
