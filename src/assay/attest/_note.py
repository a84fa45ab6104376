"""Signed notes (c2sp.org/signed-note) with Ed25519 keys, and the transparency-log
checkpoints written in them (c2sp.org/tlog-checkpoint).

A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
``— <key name> base64(key ID || signature)``. For Ed25519 the key ID is
``SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]`` and the signature is
over the note text. A checkpoint's text is the log's origin, its tree size in decimal
and its base64 root hash, one per line. This is the format transparency-log witnesses
and monitors read; `golang.org/x/mod/sumdb/note` is the reference implementation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from assay.attest._keys import SigningKey, key_id

ED25519_TYPE = 0x01
MAX_NOTE_BYTES = 1 << 20
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16
_DASH = "\u2014"
_SPACE = re.compile(r"\s")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_HASH_SIZE = 32


class NoteError(ValueError):
    """A note or checkpoint is malformed, or no trusted key's signature verifies."""


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def check_key_name(name: str) -> str:
    if not name or _SPACE.search(name) or "+" in name:
        raise NoteError(f"a note key name is non-empty, without spaces or '+': {name!r}")
    return name


def note_key_id(name: str, public: Ed25519PublicKey) -> int:
    """The 32-bit key ID of an Ed25519 note key (big-endian, as the spec recommends)."""
    digest = hashlib.sha256(
        check_key_name(name).encode() + b"\n" + bytes([ED25519_TYPE]) + _raw(public)
    ).digest()
    return int.from_bytes(digest[:4], "big")


def verifier_key(name: str, public: Ed25519PublicKey) -> str:
    """The verifier key string ``name+hexid+base64(0x01 || key)`` that Go's
    ``note.NewVerifier`` and witnesses take."""
    blob = base64.b64encode(bytes([ED25519_TYPE]) + _raw(public)).decode()
    return f"{name}+{note_key_id(name, public):08x}+{blob}"


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted key under a name."""

    name: str
    public_key: Ed25519PublicKey

    @property
    def key_id(self) -> int:
        return note_key_id(self.name, self.public_key)

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """Read a ``name+hexid+base64`` verifier key, checking its ID."""
        name, sep, rest = vkey.partition("+")
        hex_id, sep2, blob = rest.partition("+")
        if not sep or not sep2 or not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise NoteError("a verifier key is name+hexid+base64key")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise NoteError("the verifier key's key is not base64") from None
        if len(raw) != 33 or raw[0] != ED25519_TYPE:
            raise NoteError("only Ed25519 verifier keys (type 0x01) are supported")
        verifier = cls(check_key_name(name), Ed25519PublicKey.from_public_bytes(raw[1:]))
        if verifier.key_id != int(hex_id, 16):
            raise NoteError("the verifier key's ID does not match its name and key")
        return verifier


def signer_from_go_private_key(skey: str) -> tuple[str, Ed25519PrivateKey]:
    """``PRIVATE+KEY+name+hexid+base64(0x01 || seed)`` as Go's ``note.NewSigner`` reads it
    (used to check ourselves against the reference implementation's published vectors)."""
    prefix = "PRIVATE+KEY+"
    if not skey.startswith(prefix):
        raise NoteError("not a note private key")
    name, _, rest = skey[len(prefix) :].partition("+")
    _, _, blob = rest.partition("+")
    raw = base64.b64decode(blob, validate=True)
    if len(raw) != 33 or raw[0] != ED25519_TYPE:
        raise NoteError("only Ed25519 note keys are supported")
    return name, Ed25519PrivateKey.from_private_bytes(raw[1:])


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note contains no control characters but newlines")


def sign_note(text: str, signers: Sequence[tuple[str, Ed25519PrivateKey | SigningKey]]) -> str:
    """The signed note: ``text``, a blank line, one signature line per (name, key)."""
    _check_text(text)
    lines = []
    for name, key in signers:
        private = key.private_key if isinstance(key, SigningKey) else key
        kid = note_key_id(name, private.public_key())
        signature = private.sign(text.encode("utf-8"))
        blob = base64.b64encode(struct.pack(">I", kid) + signature).decode()
        lines.append(f"{_DASH} {name} {blob}\n")
    return text + "\n" + "".join(lines)


@dataclass(frozen=True)
class OpenedNote:
    text: str
    verified_by: tuple[NoteVerifier, ...]  # the trusted keys whose signatures verified


def open_note(note: str | bytes, trusted: Sequence[NoteVerifier]) -> OpenedNote:
    """Verify a signed note against trusted keys and return its text.

    As the spec asks: signatures by unknown (name, ID) pairs are ignored; a signature
    by a known key that fails rejects the note; at least one known key must verify."""
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise NoteError("the note is too large")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("a note is UTF-8") from None
    if len(note) > MAX_NOTE_BYTES:
        raise NoteError("the note is too large")
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("a note contains no control characters but newlines")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("a signed note is text, a blank line, then signature lines")
    text, block = note[: split + 1], note[split + 2 :]
    lines = block[:-1].split("\n")
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note has 1 to {MAX_SIGNATURES} signature lines")
    known: Mapping[tuple[str, int], NoteVerifier] = {(v.name, v.key_id): v for v in trusted}
    verified: list[NoteVerifier] = []
    message = text.encode("utf-8")
    for line in lines:
        if not line.startswith(_DASH + " "):
            raise NoteError("a signature line starts with an em dash and a space")
        name, sep, blob = line[2:].partition(" ")
        if not sep or not name or " " in blob:
            raise NoteError("a signature line is '— <key name> <base64>'")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise NoteError("a note signature is not base64") from None
        if len(raw) < 5:
            raise NoteError("a note signature is too short")
        (kid,) = struct.unpack(">I", raw[:4])
        verifier = known.get((name, kid))
        if verifier is None:
            continue
        try:
            verifier.public_key.verify(raw[4:], message)
        except InvalidSignature:
            raise NoteError(f"the signature by {name} does not verify") from None
        verified.append(verifier)
    if not verified:
        raise NoteError("the note is not signed by a trusted key")
    return OpenedNote(text, tuple(verified))


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, size and RFC 9162 root hash."""

    origin: str
    tree_size: int
    root_hash: bytes

    def text(self) -> str:
        """The note text of c2sp.org/tlog-checkpoint (no extension lines)."""
        root = base64.b64encode(self.root_hash).decode()
        return f"{self.origin}\n{self.tree_size}\n{root}\n"

    def sign(self, keys: Sequence[SigningKey]) -> str:
        """The checkpoint as a signed note; each key signs under the log's origin."""
        return sign_note(self.text(), [(self.origin, k) for k in keys])


def parse_checkpoint_text(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
        raise NoteError("a checkpoint has origin, size and root hash lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not _DECIMAL.fullmatch(size) or int(size) >= 1 << 64:
        raise NoteError("a checkpoint's tree size is a decimal number without leading zeros")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise NoteError("a checkpoint's root hash is base64") from None
    if len(root_hash) != _HASH_SIZE:
        raise NoteError("a checkpoint's root hash is 32 bytes")
    return Checkpoint(origin, int(size), root_hash)


def trusted_verifiers(
    origin: str, keys: Mapping[str, Ed25519PublicKey] | Sequence[Ed25519PublicKey]
) -> list[NoteVerifier]:
    """Trusted public keys as note verifiers under the log's origin (its key name)."""
    values = keys.values() if isinstance(keys, Mapping) else keys
    return [NoteVerifier(origin, k) for k in values]


def verify_checkpoint(
    note: str | bytes, trusted: Mapping[str, Ed25519PublicKey] | Sequence[Ed25519PublicKey]
) -> tuple[Checkpoint, tuple[str, ...]]:
    """Parse a signed checkpoint whose log key (named by its origin) is trusted; returns
    it with the assay key ids (``ed25519:<sha256>``) of the keys that signed it."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("a note is UTF-8") from None
    origin = check_key_name(note.split("\n", 1)[0])
    opened = open_note(note, trusted_verifiers(origin, trusted))
    checkpoint = parse_checkpoint_text(opened.text)
    return checkpoint, tuple(key_id(v.public_key) for v in opened.verified_by)
