"""Signed attestations: DSSE over an in-toto statement, verified offline."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.attest import (
    EnvelopeError,
    add_signature,
    load_or_create_key,
    pae,
    sign_envelope,
    verify_envelope,
)


def test_pae_matches_the_dsse_spec_example() -> None:
    # from the DSSE v1 protocol document
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_private_key_is_written_0600_and_reused(assay_home: Path) -> None:
    key = load_or_create_key("tester")
    path = assay_home / "keys" / "tester.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key("tester").key_id == key.key_id
    assert "PRIVATE" not in repr(key)


def test_sign_and_verify_with_cosignature() -> None:
    tester, developer, stranger = (
        load_or_create_key(n) for n in ("tester", "developer", "stranger")
    )
    envelope = add_signature(sign_envelope(b'{"a":1}', [tester]), developer)
    payload, signers = verify_envelope(
        envelope, {tester.key_id: tester.public_key, developer.key_id: developer.public_key}
    )
    assert payload == b'{"a":1}' and set(signers) == {tester.key_id, developer.key_id}
    with pytest.raises(EnvelopeError, match="no signature by a trusted key"):
        verify_envelope(envelope, {stranger.key_id: stranger.public_key})


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_in_the_payload_fails(position: int, bit: int) -> None:
    key = load_or_create_key("tester")
    payload = json.dumps({"results": [1, 2, 3], "decision": "deploy"}).encode()
    envelope = sign_envelope(payload, [key])
    raw = bytearray(base64.b64decode(envelope["payload"]))
    raw[position % len(raw)] ^= 1 << bit
    tampered = {**envelope, "payload": base64.b64encode(bytes(raw)).decode()}
    with pytest.raises(EnvelopeError):
        verify_envelope(tampered, {key.key_id: key.public_key})


def test_malformed_envelopes_are_rejected_not_crashing() -> None:
    key = load_or_create_key("tester")
    trusted = {key.key_id: key.public_key}
    for bad in [
        None,
        [],
        {},
        {"payload": "%%%", "payloadType": "x", "signatures": []},
        {"payload": "", "payloadType": "x", "signatures": [1]},
    ]:
        with pytest.raises(EnvelopeError):
            verify_envelope(bad, trusted)
