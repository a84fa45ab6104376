"""Standards checked against independent implementations or published vectors: DSSE
(securesystemslib), C2SP signed notes and checkpoints (the published vectors of Go's
golang.org/x/mod/sumdb/note, the reference implementation), RFC 8785 (the spec's
examples)."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

from assay._util.hashing import CanonicalJSONError, canonical_json
from assay.attest import (
    NoteError,
    NoteVerifier,
    SigningKey,
    TransparencyLog,
    generate_key,
    open_note,
    sign_envelope,
    sign_note,
    verifier_key,
    verify_checkpoint,
    verify_envelope,
)
from assay.attest._note import signer_from_go_private_key

# golang.org/x/mod/sumdb/note, note_test.go and the package documentation
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_signed_notes_reproduce_the_reference_implementation_byte_for_byte() -> None:
    name, private = signer_from_go_private_key(GO_SKEY)
    assert sign_note(GO_TEXT, [(name, private)]) == GO_NOTE
    assert verifier_key(name, private.public_key()) == GO_VKEY
    opened = open_note(GO_NOTE, [NoteVerifier.parse(GO_VKEY)])
    assert opened.text == GO_TEXT
    with pytest.raises(NoteError, match="does not verify"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), [NoteVerifier.parse(GO_VKEY)])


def test_notes_ignore_unknown_signers_and_need_a_known_one() -> None:
    other = Ed25519PrivateKey.generate()
    cosigned = sign_note(GO_TEXT, [("PeterNeumann", signer_from_go_private_key(GO_SKEY)[1])])
    cosigned += (
        sign_note(GO_TEXT, [("witness.example", other)]).split("\n\n", 1)[1].split("\n", 1)[1]
    )
    assert open_note(cosigned, [NoteVerifier.parse(GO_VKEY)]).text == GO_TEXT
    with pytest.raises(NoteError, match="not signed by a trusted key"):
        open_note(GO_NOTE, [NoteVerifier("PeterNeumann", other.public_key())])


def _independent_checkpoint_check(note: str, name: str, public_raw: bytes) -> tuple[int, bytes]:
    """A checkpoint read straight from c2sp.org/signed-note and tlog-checkpoint, sharing
    no code with assay: key ID = SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    text, signatures = note.rsplit("\n\n", 1)
    text += "\n"
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + public_raw).digest()[:4]
    for line in signatures.splitlines():
        dash, signer, blob = line.split(" ")
        raw = base64.b64decode(blob)
        if dash == "\u2014" and signer == name and raw[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(public_raw).verify(raw[4:], text.encode())
            origin, size, root = text.splitlines()[:3]
            assert origin == name
            return int(size), base64.b64decode(root)
    raise AssertionError("no signature by the log key")


def test_checkpoints_are_c2sp_notes_that_an_independent_reader_accepts(tmp_path: Path) -> None:
    key = generate_key("log")
    log = TransparencyLog(tmp_path / "log.sqlite", origin="example.org/log")
    log.append_many([f"entry {i}".encode() for i in range(13)])
    note = log.signed_checkpoint([key])
    raw = key.public_key.public_bytes_raw()
    size, root = _independent_checkpoint_check(note, "example.org/log", raw)
    assert (size, root) == (13, log.root())
    checkpoint, signers = verify_checkpoint(note, [key.public_key])
    assert (checkpoint.tree_size, checkpoint.root_hash) == (13, log.root())
    assert signers == (key.key_id,)
    # the key name's ID is C2SP's, as Go's note.NewVerifier reads it
    vkey = verifier_key("example.org/log", key.public_key)
    assert vkey.split("+")[1] == hashlib.sha256(b"example.org/log\n\x01" + raw).digest()[:4].hex()
    assert (
        struct.unpack(">I", bytes.fromhex(vkey.split("+")[1]))[0] == NoteVerifier.parse(vkey).key_id
    )


def test_an_assay_attestation_verifies_with_securesystemslib(tmp_path: Path) -> None:
    key = generate_key("tester")
    payload = canonical_json({"_type": "https://in-toto.io/Statement/v1", "subject": []})
    envelope = sign_envelope(payload, [key])
    sslib_key = SSlibKey.from_crypto(key.public_key, keyid=key.key_id)
    verified = Envelope.from_dict(json.loads(json.dumps(envelope))).verify([sslib_key], 1)
    assert list(verified) == [key.key_id]


def test_dsse_consumer_rules_accept_what_the_spec_requires(tmp_path: Path) -> None:
    """Unknown fields are ignored, an empty or missing keyid is allowed, URL-safe and
    unpadded base64 are accepted (envelope.md, "Parsing rules")."""
    key = SigningKey("k", Ed25519PrivateKey.generate())
    payload = b'{"hello":"world?>"}'  # '?>' makes standard and URL-safe base64 differ
    envelope = sign_envelope(payload, [key])
    sig = envelope["signatures"][0]["sig"]
    variants = [
        {**envelope, "extra": 1, "signatures": [{**envelope["signatures"][0], "future": True}]},
        {**envelope, "signatures": [{"keyid": "", "sig": sig}]},
        {**envelope, "signatures": [{"sig": sig}]},
        {
            **envelope,
            "payload": base64.urlsafe_b64encode(payload).decode().rstrip("="),
            "signatures": [
                {
                    "keyid": key.key_id,
                    "sig": base64.urlsafe_b64encode(base64.b64decode(sig)).decode(),
                }
            ],
        },
    ]
    for variant in variants:
        got, signers = verify_envelope(variant, {key.key_id: key.public_key})
        assert got == payload and signers == [key.key_id]
    # a securesystemslib-produced envelope (its own encoding) verifies with ours
    sslib_key = SSlibKey.from_crypto(key.public_key, keyid=key.key_id)
    ours = Envelope.from_dict(envelope)
    assert ours.verify([sslib_key], 1)


def test_canonical_json_is_rfc8785() -> None:
    # RFC 8785 section 3.2.2 / appendix examples: number formatting and key order
    assert (
        canonical_json({"b": 1.0, "a": [1e21, 0.1, -0.0, 1e-7]})
        == b'{"a":[1e+21,0.1,0,1e-7],"b":1}'
    )
    assert canonical_json({"\u20ac": 1, "\r": 2, "1": 3}) == '{"\\r":2,"1":3,"\u20ac":1}'.encode()
    for bad in (float("nan"), "\ud800", 2**63):
        with pytest.raises(CanonicalJSONError):
            canonical_json(bad)
