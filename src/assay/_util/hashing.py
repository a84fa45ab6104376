"""Digests in one canonical spelling (``sha256:<hex>``) and the one canonical JSON.

Every byte string that assay hashes or signs from a JSON value is its RFC 8785 (JSON
Canonicalization Scheme) form, produced here by the ``rfc8785`` package: sorted keys
(by UTF-16 code units), no whitespace, ECMAScript number formatting, UTF-8.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import rfc8785

_CHUNK = 1 << 20


class CanonicalJSONError(ValueError):
    """The value has no RFC 8785 form (NaN or infinity, an integer beyond ±2**53,
    a lone surrogate, a non-string key, a non-JSON type)."""


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def canonical_json(obj: Any) -> bytes:
    """The RFC 8785 canonical JSON bytes of ``obj``, for hashing and signing."""
    try:
        return rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, UnicodeError, TypeError, ValueError) as exc:
        raise CanonicalJSONError(f"no canonical JSON form: {exc}") from None


def sha256_json(obj: Any) -> str:
    return sha256_bytes(canonical_json(obj))
