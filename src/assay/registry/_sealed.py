"""Sealed boxes: secrets encrypted to an organisation's X25519 public key.

The format is libsodium's ``crypto_box_seal`` (through PyNaCl's ``SealedBox``): an
ephemeral X25519 public key, then XSalsa20-Poly1305 ciphertext under the key agreed
with the recipient, the nonce derived from both public keys with BLAKE2b. Anyone can
seal to a public key; only the holder of the private key can open, so the registry,
which stores and forwards sealed gateway tokens, cannot read them.

Private sealing keys live beside the Ed25519 signing keys in ``$ASSAY_HOME/keys``:
``NAME.x25519`` (base64 of the 32-byte private key, mode 0600) and ``NAME.x25519.pub``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from assay._util.errors import AssayError, UsageError
from assay.attest import check_key_name, keys_dir

SEALING_KEY_PREFIX = "x25519:"
SEAL_OVERHEAD = 48  # ephemeral public key (32) + Poly1305 tag (16)


class SealError(AssayError):
    """A sealed box cannot be opened with this key (wrong key, or altered)."""


def sealing_key_id(public: bytes) -> str:
    """``x25519:`` and the sha256 of the raw 32-byte public key."""
    return SEALING_KEY_PREFIX + hashlib.sha256(public).hexdigest()


def parse_sealing_public(text: str) -> bytes:
    """A raw X25519 public key from its base64 spelling; UsageError when malformed."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise UsageError("an X25519 public key is 32 bytes in base64") from None
    if len(raw) != 32:
        raise UsageError(f"an X25519 public key is 32 bytes, got {len(raw)}")
    return raw


@dataclass(frozen=True)
class SealingKey:
    name: str
    private_key: PrivateKey

    @property
    def public_bytes(self) -> bytes:
        return bytes(self.private_key.public_key)

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_bytes).decode()

    @property
    def key_id(self) -> str:
        return sealing_key_id(self.public_bytes)

    def open(self, sealed: bytes) -> bytes:
        """The plaintext of a box sealed to this key."""
        try:
            return SealedBox(self.private_key).decrypt(sealed)
        except CryptoError:
            raise SealError(
                f"cannot open the sealed box with key {self.key_id}: "
                "it was sealed to another key, or altered"
            ) from None

    def __repr__(self) -> str:  # never print key material
        return f"SealingKey(name={self.name!r}, key_id={self.key_id!r})"


def seal(public: bytes, plaintext: bytes) -> bytes:
    """Encrypt ``plaintext`` to the X25519 public key ``public`` (raw 32 bytes)."""
    return SealedBox(PublicKey(public)).encrypt(plaintext)


def load_sealing_key(name: str) -> SealingKey:
    """An existing sealing key by name (never generated here)."""
    path = keys_dir() / f"{check_key_name(name)}.x25519"
    if not path.is_file():
        raise UsageError(
            f"no sealing key named {name!r} in {keys_dir()}",
            hint="`assay registry keys publish` creates and registers one",
        )
    try:
        raw = base64.b64decode(path.read_text().strip(), validate=True)
    except (OSError, binascii.Error, ValueError):
        raise UsageError(f"cannot read the sealing key {path}") from None
    if len(raw) != 32:
        raise UsageError(f"{path} is not an X25519 private key")
    return SealingKey(name=name, private_key=PrivateKey(raw))


def load_or_create_sealing_key(name: str) -> SealingKey:
    """The named sealing key, generated (0600) on first use."""
    folder = keys_dir()
    path = folder / f"{check_key_name(name)}.x25519"
    if not path.is_file():
        private = PrivateKey.generate()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_sealing_key(name)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(bytes(private)).decode() + "\n")
        key = SealingKey(name=name, private_key=private)
        (folder / f"{name}.x25519.pub").write_text(key.public_b64 + "\n")
        return key
    return load_sealing_key(name)
