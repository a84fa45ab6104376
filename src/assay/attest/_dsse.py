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
    """Co-sign an existing envelope (for example the developer's gateway key)."""
    payload = base64.b64decode(envelope["payload"], validate=True)
    signature = key.sign(pae(envelope["payloadType"], payload))
    signatures = [s for s in envelope["signatures"] if s.get("keyid") != key.key_id]
    signatures.append({"keyid": key.key_id, "sig": base64.b64encode(signature).decode()})
    return {**envelope, "signatures": signatures}


class EnvelopeError(Exception):
    """The envelope is malformed or a signature does not verify."""


def verify_envelope(envelope: Any, trusted: dict[str, Ed25519PublicKey]) -> tuple[bytes, list[str]]:
    """Return the payload and the trusted key ids whose signatures verify.

    Raises :class:`EnvelopeError` unless at least one trusted key signed it.
    Signatures by unknown key ids are ignored, never trusted.
    """
    if not isinstance(envelope, dict):
        raise EnvelopeError("the envelope is not a JSON object")
    payload_type = envelope.get("payloadType")
    payload_b64 = envelope.get("payload")
    signatures = envelope.get("signatures")
    if (
        not isinstance(payload_type, str)
        or not isinstance(payload_b64, str)
        or not isinstance(signatures, list)
    ):
        raise EnvelopeError("the envelope needs payloadType, payload and signatures")
    try:
        payload = base64.b64decode(payload_b64, validate=True)
    except ValueError:
        raise EnvelopeError("the payload is not valid base64") from None
    message = pae(payload_type, payload)
    verified: list[str] = []
    for entry in signatures:
        if not isinstance(entry, dict):
            raise EnvelopeError("a signature entry is not an object")
        keyid, sig_b64 = entry.get("keyid"), entry.get("sig")
        if not isinstance(keyid, str) or not isinstance(sig_b64, str):
            raise EnvelopeError("a signature entry needs keyid and sig")
        public = trusted.get(keyid)
        if public is None:
            continue
        try:
            public.verify(base64.b64decode(sig_b64, validate=True), message)
        except (InvalidSignature, ValueError):
            raise EnvelopeError(f"the signature by {keyid} does not verify") from None
        verified.append(keyid)
    if not verified:
        raise EnvelopeError("no signature by a trusted key")
    return payload, verified


def decode_json_payload(payload: bytes) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except ValueError:
        raise EnvelopeError("the payload is not JSON") from None
    if not isinstance(data, dict):
        raise EnvelopeError("the payload is not a JSON object")
    return data
