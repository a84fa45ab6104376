"""Ed25519 signing keys: generated once, private halves written 0600 and never logged."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from assay._util.errors import UsageError
from assay._util.paths import subdir

DEFAULT_KEY = "tester"


def key_id(public_key: Ed25519PublicKey) -> str:
    """A stable id: the sha256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@dataclass(frozen=True)
class SigningKey:
    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    def __repr__(self) -> str:  # never print key material
        return f"SigningKey(name={self.name!r}, key_id={self.key_id!r})"


def keys_dir() -> Path:
    return subdir("keys")


def load_or_create_key(name: str = DEFAULT_KEY) -> SigningKey:
    """The named key from ``$ASSAY_HOME/keys``, generated on first use."""
    path = keys_dir() / f"{name}.key"
    if path.is_file():
        return load_key(path, name=name)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    (keys_dir() / f"{name}.pub").write_text(public_pem(private.public_key()))
    return SigningKey(name=name, private_key=private)


def load_key(path: Path, *, name: str | None = None) -> SigningKey:
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read private key {path}: {type(exc).__name__}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise UsageError(f"{path} is not an Ed25519 private key")
    return SigningKey(name=name or path.stem, private_key=private)


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        public = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read public key {path}: {type(exc).__name__}") from None
    if not isinstance(public, Ed25519PublicKey):
        raise UsageError(f"{path} is not an Ed25519 public key")
    return public
