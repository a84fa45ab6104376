"""Ed25519 signing keys: generated once, private halves written 0600 and never logged."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from assay._util.errors import UsageError
from assay._util.paths import subdir

DEFAULT_KEY = "tester"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


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
    """``$ASSAY_HOME/keys``, readable by its owner only."""
    path = subdir("keys")
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def check_key_name(name: str) -> str:
    """Key names become file names: letters, digits, ``_ . -`` only."""
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"invalid key name {name!r}",
            hint="use letters, digits, '_', '.' and '-' (at most 64), starting with a letter or digit",
        )
    return name


def private_key_path(name: str) -> Path:
    return keys_dir() / f"{check_key_name(name)}.key"


def public_key_path(name: str) -> Path:
    return keys_dir() / f"{check_key_name(name)}.pub"


def _create(name: str) -> SigningKey | None:
    """Write a new key pair; None when the private key already exists."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(private_key_path(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public_key_path(name).write_text(public_pem(private.public_key()))
    return SigningKey(name=name, private_key=private)


def generate_key(name: str = DEFAULT_KEY) -> SigningKey:
    """Create the named key; refuses to replace an existing one."""
    key = _create(name)
    if key is None:
        raise UsageError(
            f"key {name!r} already exists ({private_key_path(name)})",
            hint="choose another name; keys are never overwritten",
        )
    return key


def load_or_create_key(name: str = DEFAULT_KEY) -> SigningKey:
    """The named key from ``$ASSAY_HOME/keys``, generated on first use."""
    path = private_key_path(name)
    if not path.is_file():
        key = _create(name)
        if key is not None:
            return key
    return load_key(path, name=name)


def load_named_key(name: str) -> SigningKey:
    """An existing private key by name (never generated here)."""
    path = private_key_path(name)
    if not path.is_file():
        raise UsageError(
            f"no key named {name!r} in {keys_dir()}", hint=f"run `assay keys generate {name}`"
        )
    return load_key(path, name=name)


def key_names() -> list[str]:
    """Names of the keys in ``$ASSAY_HOME/keys`` (private or public-only)."""
    folder = keys_dir()
    names = {p.stem for p in folder.glob("*.key")} | {p.stem for p in folder.glob("*.pub")}
    return sorted(n for n in names if _NAME.fullmatch(n))


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
    except OSError as exc:
        raise UsageError(f"cannot read public key {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise UsageError(
            f"{path} is not a PEM public key (expected a '-----BEGIN PUBLIC KEY-----' block)",
            hint="export one with `assay keys export NAME -o FILE`",
        ) from None
    if not isinstance(public, Ed25519PublicKey):
        raise UsageError(f"{path} is not an Ed25519 public key")
    return public
