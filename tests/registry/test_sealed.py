"""Sealed boxes are libsodium's crypto_box_seal: checked both ways against an
independent implementation written here from the construction (X25519 and Poly1305
from `cryptography`, BLAKE2b from hashlib, Salsa20/HSalsa20 in pure Python), not
against PyNaCl itself."""

from __future__ import annotations

import hashlib
import os
import struct

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.poly1305 import Poly1305

from assay.registry import SealError, load_or_create_sealing_key, seal, sealing_key_id
from assay.registry._sealed import load_sealing_key

SIGMA = struct.unpack("<4I", b"expand 32-byte k")
MASK = 0xFFFFFFFF


def _rotl(v: int, c: int) -> int:
    return ((v << c) & MASK) | (v >> (32 - c))


def _rounds(x: list[int]) -> list[int]:
    x = list(x)

    def qr(a: int, b: int, c: int, d: int) -> None:
        x[b] ^= _rotl((x[a] + x[d]) & MASK, 7)
        x[c] ^= _rotl((x[b] + x[a]) & MASK, 9)
        x[d] ^= _rotl((x[c] + x[b]) & MASK, 13)
        x[a] ^= _rotl((x[d] + x[c]) & MASK, 18)

    for _ in range(10):
        qr(0, 4, 8, 12), qr(5, 9, 13, 1), qr(10, 14, 2, 6), qr(15, 3, 7, 11)
        qr(0, 1, 2, 3), qr(5, 6, 7, 4), qr(10, 11, 8, 9), qr(15, 12, 13, 14)
    return x


def _state(key: bytes, middle: bytes) -> list[int]:
    k = struct.unpack("<8I", key)
    m = struct.unpack("<4I", middle)
    return [SIGMA[0], *k[:4], SIGMA[1], *m, SIGMA[2], *k[4:], SIGMA[3]]


def hsalsa20(key: bytes, nonce16: bytes) -> bytes:
    x = _rounds(_state(key, nonce16))
    return struct.pack("<8I", *(x[i] for i in (0, 5, 10, 15, 6, 7, 8, 9)))


def salsa20_stream(key: bytes, nonce8: bytes, length: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < length:
        start = _state(key, nonce8 + struct.pack("<Q", counter))
        mixed = _rounds(start)
        out += struct.pack("<16I", *((a + b) & MASK for a, b in zip(mixed, start, strict=True)))
        counter += 1
    return bytes(out[:length])


def _box_key(secret: bytes, public: bytes) -> bytes:
    shared = X25519PrivateKey.from_private_bytes(secret).exchange(
        X25519PublicKey.from_public_bytes(public)
    )
    return hsalsa20(shared, b"\0" * 16)


def _secretbox_open(box: bytes, nonce: bytes, key: bytes) -> bytes:
    tag, ciphertext = box[:16], box[16:]
    subkey = hsalsa20(key, nonce[:16])
    stream = salsa20_stream(subkey, nonce[16:], 32 + len(ciphertext))
    Poly1305.verify_tag(stream[:32], ciphertext, tag)
    return bytes(a ^ b for a, b in zip(ciphertext, stream[32:], strict=True))


def _secretbox(message: bytes, nonce: bytes, key: bytes) -> bytes:
    subkey = hsalsa20(key, nonce[:16])
    stream = salsa20_stream(subkey, nonce[16:], 32 + len(message))
    ciphertext = bytes(a ^ b for a, b in zip(message, stream[32:], strict=True))
    return Poly1305.generate_tag(stream[:32], ciphertext) + ciphertext


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def independent_seal_open(sealed: bytes, secret: bytes) -> bytes:
    public = _raw(X25519PrivateKey.from_private_bytes(secret).public_key())
    ephemeral = sealed[:32]
    nonce = hashlib.blake2b(ephemeral + public, digest_size=24).digest()
    return _secretbox_open(sealed[32:], nonce, _box_key(secret, ephemeral))


def independent_seal(message: bytes, public: bytes) -> bytes:
    ephemeral = X25519PrivateKey.generate()
    epk = _raw(ephemeral.public_key())
    nonce = hashlib.blake2b(epk + public, digest_size=24).digest()
    secret = ephemeral.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return epk + _secretbox(message, nonce, _box_key(secret, public))


def test_a_sealed_token_opens_with_an_independent_crypto_box_seal() -> None:
    key = load_or_create_sealing_key("tester")
    message = b"asy_0123abcd_" + os.urandom(40)
    sealed = seal(key.public_bytes, message)
    assert len(sealed) == len(message) + 48
    assert independent_seal_open(sealed, bytes(key.private_key)) == message


def test_a_box_sealed_independently_opens_with_the_registry_key() -> None:
    key = load_or_create_sealing_key("tester")
    message = b"a gateway token sealed by another implementation"
    assert key.open(independent_seal(message, key.public_bytes)) == message


def test_an_altered_or_misaddressed_box_does_not_open() -> None:
    key = load_or_create_sealing_key("tester")
    other = load_or_create_sealing_key("other")
    sealed = bytearray(seal(key.public_bytes, b"secret"))
    with pytest.raises(SealError, match="sealed to another key, or altered"):
        other.open(bytes(sealed))
    sealed[-1] ^= 1
    with pytest.raises(SealError):
        key.open(bytes(sealed))


def test_sealing_keys_are_kept_private_and_stable(assay_home: object) -> None:
    key = load_or_create_sealing_key("tester")
    path = key_path = load_sealing_key("tester")
    assert path.key_id == key.key_id == sealing_key_id(key.public_bytes)
    from assay.attest import keys_dir

    private = keys_dir() / "tester.x25519"
    assert private.stat().st_mode & 0o777 == 0o600
    assert key.key_id.startswith("x25519:") and "private_key" not in repr(key_path)
