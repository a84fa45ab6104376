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


_ENVELOPE_FIELDS = {"payload", "payloadType", "signatures"}
_SIGNATURE_FIELDS = {"keyid", "sig"}
_MAX_SIGNATURES = 32
_SIGNATURE_SIZE = 64


def strict_b64decode(text: str, what: str) -> bytes:
    """Standard base64 with padding, in its one canonical spelling (no spare bits set)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise EnvelopeError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode() != text:
        raise EnvelopeError(f"{what} is not canonical base64")
    return raw


def parse_envelope(envelope: Any) -> tuple[str, bytes, list[tuple[str, bytes]]]:
    """Check the envelope's shape: payload type, payload, and (keyid, signature) pairs."""
    if not isinstance(envelope, dict):
        raise EnvelopeError("the envelope is not a JSON object")
    if set(envelope) != _ENVELOPE_FIELDS:
        raise EnvelopeError(
            "the envelope must have exactly payload, payloadType and signatures; got "
            + ", ".join(sorted(map(str, envelope)))
        )
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
    payload = strict_b64decode(payload_b64, "the payload")
    signatures: list[tuple[str, bytes]] = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != _SIGNATURE_FIELDS:
            raise EnvelopeError("a signature entry must be an object with exactly keyid and sig")
        keyid, sig_b64 = entry["keyid"], entry["sig"]
        if not isinstance(keyid, str) or not keyid or not isinstance(sig_b64, str):
            raise EnvelopeError("a signature entry needs a keyid and a sig string")
        if any(keyid == k for k, _ in signatures):
            raise EnvelopeError(f"two signatures claim the key {keyid}")
        sig = strict_b64decode(sig_b64, f"the signature by {keyid}")
        if len(sig) != _SIGNATURE_SIZE:
            raise EnvelopeError(f"the signature by {keyid} is not {_SIGNATURE_SIZE} bytes")
        signatures.append((keyid, sig))
    return payload_type, payload, signatures


def verify_envelope(
    envelope: Any, trusted: dict[str, Ed25519PublicKey], payload_type: str | None = None
) -> tuple[bytes, list[str]]:
    """Return the payload and the trusted key ids whose signatures verify.

    Raises :class:`EnvelopeError` unless at least one trusted key signed it, or when
    any signature by a trusted key fails. Signatures by unknown key ids are ignored,
    never trusted. ``payload_type``, when given, must match exactly.
    """
    actual_type, payload, signatures = parse_envelope(envelope)
    if payload_type is not None and actual_type != payload_type:
        raise EnvelopeError(f"payloadType is {actual_type!r}, expected {payload_type!r}")
    message = pae(actual_type, payload)
    verified: list[str] = []
    for keyid, sig in signatures:
        public = trusted.get(keyid)
        if public is None:
            continue
        try:
            public.verify(sig, message)
        except InvalidSignature:
            raise EnvelopeError(f"the signature by {keyid} does not verify") from None
        verified.append(keyid)
    if not verified:
        raise EnvelopeError("no signature by a trusted key")
    return payload, verified


def decode_json_payload(payload: bytes) -> dict[str, Any]:
    try:
        data = strict_json_loads(payload)
    except ValueError:
        raise EnvelopeError("the payload is not JSON") from None
    if not isinstance(data, dict):
        raise EnvelopeError("the payload is not a JSON object")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
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
    return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
