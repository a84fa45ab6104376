"""Reproduction material, sealed on the tester's machine.

The sealed plaintext is one JSON document (RFC 8785 canonical) holding the file, its
name and media type, and a random salt; its sha256 is the finding's commitment. Each
recipient gets the same plaintext in a sealed box to its X25519 key, so each can check
what it opened against the commitment, and a later public release of the material can
be checked against it by anyone; the salt keeps the commitment from confirming a
guess of the content.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay._util.errors import UsageError
from assay._util.hashing import canonical_json, sha256_bytes
from assay.registry._sealed import SealingKey, parse_sealing_public, seal

REPRODUCTION_TYPE = "https://assay.dev/finding/reproduction/v1"
MAX_MATERIAL = 1024 * 1024


@dataclass(frozen=True)
class Material:
    filename: str
    media_type: str
    content: bytes


def envelope(path: Path) -> bytes:
    """The plaintext to seal for the file at ``path``."""
    content = path.read_bytes()
    if len(content) > MAX_MATERIAL:
        raise UsageError(f"reproduction material is at most {MAX_MATERIAL} bytes")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return canonical_json(
        {
            "type": REPRODUCTION_TYPE,
            "salt": secrets.token_hex(32),
            "filename": path.name,
            "media_type": media_type,
            "content_b64": base64.b64encode(content).decode(),
        }
    )


def commitment(plaintext: bytes) -> str:
    return sha256_bytes(plaintext)


def sealed_boxes(plaintext: bytes, recipients: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``reproduction`` field of a filing: a box for each recipient with a key
    (``GET /v1/findings/recipients`` lists them), and the commitment."""
    boxes = []
    for recipient in recipients:
        if recipient.get("key_id") is None:
            if recipient.get("required"):
                raise UsageError(
                    f"{recipient['org']} has no sealing key registered: it must publish one "
                    "(`assay registry keys publish`) before it can receive the material"
                )
            continue
        public = parse_sealing_public(recipient["public_key"])
        boxes.append(
            {
                "recipient_key_id": recipient["key_id"],
                "sealed_b64": base64.b64encode(seal(public, plaintext)).decode(),
            }
        )
    return {"commitment": commitment(plaintext), "boxes": boxes}


def read_material(plaintext: bytes, expected: str | None) -> Material:
    """The file inside opened (or released) material, after checking the commitment."""
    if expected is not None and commitment(plaintext) != expected:
        raise UsageError(
            "the reproduction material does not match the finding's commitment: "
            "it is not what the tester sealed"
        )
    try:
        data = json.loads(plaintext)
        content = base64.b64decode(data["content_b64"], validate=True)
        name = Path(str(data["filename"])).name or "reproduction"
        return Material(name, str(data.get("media_type", "")), content)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise UsageError("the reproduction material is not an assay reproduction") from None


def open_box(key: SealingKey, sealed_b64: str, expected: str | None) -> tuple[bytes, Material]:
    plaintext = key.open(base64.b64decode(sealed_b64))
    return plaintext, read_material(plaintext, expected)
