"""DSSE envelopes (Dead Simple Signing Envelope, v1) with Ed25519 signatures."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from assay.attest._keys import SigningKey

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """Pre-authentication encoding: what is actually signed."""
    type_bytes = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def sign_envelope(
    payload: bytes, keys: list[SigningKey], payload_type: str = IN_TOTO_PAYLOAD_TYPE
) -> dict[str, Any]:
    message = pae(payload_type, payload)
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [
            {"keyid": k.key_id, "sig": base64.b64encode(k.sign(message)).decode()} for k in keys
        ],
    }


def add_signature(envelope: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """Co-sign an existing envelope (for example with the developer's gateway key).

    A previous signature by the same key is replaced; the others are kept as they are.
    """
    payload_type, payload, signatures = parse_envelope(envelope)
    signature = key.sign(pae(payload_type, payload))
    kept = [
        {"keyid": k, "sig": base64.b64encode(s).decode()} for k, s in signatures if k != key.key_id
    ]
    kept.append({"keyid": key.key_id, "sig": base64.b64encode(signature).decode()})
    return {"payloadType": payload_type, "payload": envelope["payload"], "signatures": kept}


class EnvelopeError(Exception):
    """The envelope is malformed or a signature does not verify."""


_MAX_SIGNATURES = 32
_SIGNATURE_SIZE = 64
_URLSAFE = str.maketrans("-_", "+/")


def dsse_b64decode(text: str, what: str) -> bytes:
    """Base64 as DSSE consumers must read it: standard or URL-safe, padded or not."""
    if ("+" in text and "-" in text) or ("/" in text and "_" in text):
        raise EnvelopeError(f"{what} mixes standard and URL-safe base64")
    unpadded = text.translate(_URLSAFE).rstrip("=")
    if len(text) - len(text.rstrip("=")) > 2 or len(unpadded) % 4 == 1:
        raise EnvelopeError(f"{what} is not valid base64")
    try:
        return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
    except ValueError:
        raise EnvelopeError(f"{what} is not valid base64") from None


def parse_envelope(envelope: Any) -> tuple[str, bytes, list[tuple[str, bytes]]]:
    """Read a DSSE envelope by the spec's parsing rules: ``payload``, ``payloadType``,
    ``signatures`` and each ``sig`` are required; ``keyid`` may be unset or empty (the
    same thing); unrecognised fields are ignored; base64 may be standard or URL-safe."""
    if not isinstance(envelope, dict):
        raise EnvelopeError("the envelope is not a JSON object")
    missing = {"payload", "payloadType", "signatures"} - set(envelope)
    if missing:
        raise EnvelopeError("the envelope lacks " + ", ".join(sorted(missing)))
    payload_type, payload_b64, entries = (
        envelope["payloadType"],
        envelope["payload"],
        envelope["signatures"],
    )
    if not isinstance(payload_type, str) or not payload_type:
        raise EnvelopeError("payloadType must be a non-empty string")
    if not isinstance(payload_b64, str):
        raise EnvelopeError("payload must be a base64 string")
    if not isinstance(entries, list) or not entries:
        raise EnvelopeError("signatures must be a non-empty list")
    if len(entries) > _MAX_SIGNATURES:
        raise EnvelopeError(f"more than {_MAX_SIGNATURES} signatures")
    payload = dsse_b64decode(payload_b64, "the payload")
    signatures: list[tuple[str, bytes]] = []
    for entry in entries:
        if not isinstance(entry, dict) or "sig" not in entry:
            raise EnvelopeError("a signature entry must be an object with a sig")
        keyid, sig_b64 = entry.get("keyid") or "", entry["sig"]
        if not isinstance(keyid, str) or not isinstance(sig_b64, str):
            raise EnvelopeError("a signature's keyid and sig are strings")
        sig = dsse_b64decode(sig_b64, f"the signature by {keyid or 'an unnamed key'}")
        signatures.append((keyid, sig))
    return payload_type, payload, signatures


def verify_envelope(
    envelope: Any, trusted: dict[str, Ed25519PublicKey], payload_type: str | None = None
) -> tuple[bytes, list[str]]:
    """Return the payload and the trusted key ids whose signatures verify.

    ``keyid`` is only a hint (DSSE): a signature whose keyid names a trusted key must
    verify with that key or the envelope is refused; one with an empty or unknown keyid
    is tried against every trusted key and counts for the one it verifies with.
    Raises :class:`EnvelopeError` unless at least one trusted key signed.
    ``payload_type``, when given, must match exactly.
    """
    actual_type, payload, signatures = parse_envelope(envelope)
    if payload_type is not None and actual_type != payload_type:
        raise EnvelopeError(f"payloadType is {actual_type!r}, expected {payload_type!r}")
    message = pae(actual_type, payload)
    verified: list[str] = []
    for keyid, sig in signatures:
        named = trusted.get(keyid)
        if named is not None:
            if not _verifies(named, sig, message):
                raise EnvelopeError(f"the signature by {keyid} does not verify")
            found: str | None = keyid
        else:
            found = next((k for k, pub in trusted.items() if _verifies(pub, sig, message)), None)
        if found is not None and found not in verified:
            verified.append(found)
    if not verified:
        raise EnvelopeError("no signature by a trusted key")
    return payload, verified


def _verifies(public: Ed25519PublicKey, sig: bytes, message: bytes) -> bool:
    if len(sig) != _SIGNATURE_SIZE:
        return False
    try:
        public.verify(sig, message)
    except InvalidSignature:
        return False
    return True


def decode_json_payload(payload: bytes) -> dict[str, Any]:
    try:
        data = strict_json_loads(payload)
    except ValueError:
        raise EnvelopeError("the payload is not JSON") from None
    if not isinstance(data, dict):
        raise EnvelopeError("the payload is not a JSON object")
    return data


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A ``json.loads`` object hook that refuses an object with a key twice."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"duplicate key {key!r}")
        data[key] = value
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json_loads(data: str | bytes) -> Any:
    """JSON as the RFC has it: no duplicate keys, no NaN or Infinity."""
    return json.loads(data, object_pairs_hook=no_duplicate_keys, parse_constant=_no_constant)
