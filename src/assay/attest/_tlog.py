"""A transparency log after RFC 9162: an append-only Merkle tree in SQLite, signed
checkpoints, inclusion and consistency proofs.

Every leaf hash and every complete subtree hash is persisted when a leaf is
appended, so proofs for any tree size need O(log^2 n) row reads and the root of
the current tree O(log n). Triggers refuse UPDATE and DELETE on those tables.

A checkpoint signs RFC 9162's ``TreeHeadDataV2`` (section 4.10: uint64 timestamp in
milliseconds, uint64 tree_size, the root hash with a one-byte length, an empty
two-byte extensions list), prefixed by ``b"assay tlog checkpoint v1\\n"`` and the
log's origin line so a signature cannot be replayed for another log.
"""

from __future__ import annotations

import base64
import re
import sqlite3
import struct
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from assay._util.hashing import canonical_json, sha256_bytes
from assay.attest._dsse import EnvelopeError, strict_b64decode
from assay.attest._keys import SigningKey
from assay.attest._merkle import (
    MAX_PROOF_LENGTH,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

CHECKPOINT_TYPE = "https://assay.dev/tlog/checkpoint/v1"
PROOF_TYPE = "https://assay.dev/tlog/inclusion-proof/v1"
DEFAULT_ORIGIN = "assay.dev/log"
_CHECKPOINT_CONTEXT = b"assay tlog checkpoint v1\n"
_CHECKPOINT_FIELDS = {"type", "origin", "tree_size", "root_hash", "timestamp", "signatures"}
_PROOF_FIELDS = {"type", "leaf_index", "tree_size", "hashes", "checkpoint", "consistency"}
_CONSISTENCY_FIELDS = {"old_size", "hashes"}
_ORIGIN = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,254}")
_HEX32 = re.compile(r"[0-9a-f]{64}")
_UINT64 = (1 << 64) - 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS leaves (
    idx INTEGER PRIMARY KEY, leaf_hash BLOB NOT NULL, data BLOB NOT NULL, added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS leaves_by_hash ON leaves (leaf_hash);
CREATE TABLE IF NOT EXISTS nodes (
    level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS leaves_no_update BEFORE UPDATE ON leaves
    BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS leaves_no_delete BEFORE DELETE ON leaves
    BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS nodes_no_update BEFORE UPDATE ON nodes
    BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS nodes_no_delete BEFORE DELETE ON nodes
    BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
"""


class LogError(ValueError):
    """A log, checkpoint or proof is malformed, inconsistent or not trusted."""


def log_entry(kind: str, payload: bytes) -> bytes:
    """The leaf data logged for a document: its kind and digest, never its content."""
    return canonical_json({"kind": kind, "sha256": sha256_bytes(payload)})


def attestation_entry(statement_payload: bytes) -> bytes:
    """What the log holds for an attestation: the digest of its signed statement, so
    co-signatures added later do not change the entry."""
    return log_entry("assay.attestation/v1", statement_payload)


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's size and root at a moment."""

    origin: str
    tree_size: int
    root_hash: bytes
    timestamp: int  # milliseconds since the Unix epoch

    def tree_head(self) -> bytes:
        """RFC 9162 ``TreeHeadDataV2`` in TLS encoding, with no extensions."""
        return (
            struct.pack(">QQB", self.timestamp, self.tree_size, len(self.root_hash))
            + self.root_hash
            + struct.pack(">H", 0)
        )

    def signed_message(self) -> bytes:
        return _CHECKPOINT_CONTEXT + self.origin.encode("ascii") + b"\n" + self.tree_head()

    def sign(self, keys: Sequence[SigningKey]) -> dict[str, Any]:
        """The checkpoint as JSON with one signature per key."""
        message = self.signed_message()
        return {
            "type": CHECKPOINT_TYPE,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "signatures": [
                {"keyid": k.key_id, "sig": base64.b64encode(k.sign(message)).decode()} for k in keys
            ],
        }


def _uint(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value <= _UINT64:
        raise LogError(f"{what} must be an unsigned 64-bit integer")
    return value


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise LogError(f"{what} must be 64 lowercase hex digits")
    return bytes.fromhex(value)


def _hashes(value: Any, what: str) -> list[bytes]:
    if not isinstance(value, list) or len(value) > MAX_PROOF_LENGTH:
        raise LogError(f"{what} must be a list of at most {MAX_PROOF_LENGTH} hashes")
    return [_hex32(h, f"a hash in {what}") for h in value]


def check_origin(origin: str) -> str:
    if not isinstance(origin, str) or not _ORIGIN.fullmatch(origin):
        raise LogError("a log origin is 1-255 printable ASCII characters")
    return origin


def verify_checkpoint(
    doc: Any, trusted: dict[str, Ed25519PublicKey]
) -> tuple[Checkpoint, list[str]]:
    """Parse a signed checkpoint; at least one trusted key must have signed it and every
    signature by a trusted key must verify."""
    if not isinstance(doc, dict) or set(doc) != _CHECKPOINT_FIELDS:
        raise LogError("a checkpoint must have exactly " + ", ".join(sorted(_CHECKPOINT_FIELDS)))
    if doc["type"] != CHECKPOINT_TYPE:
        raise LogError(f"not a checkpoint (type {doc['type']!r})")
    checkpoint = Checkpoint(
        origin=check_origin(doc["origin"]),
        tree_size=_uint(doc["tree_size"], "tree_size"),
        root_hash=_hex32(doc["root_hash"], "root_hash"),
        timestamp=_uint(doc["timestamp"], "timestamp"),
    )
    signatures = doc["signatures"]
    if not isinstance(signatures, list) or not signatures or len(signatures) > 32:
        raise LogError("a checkpoint needs a list of 1 to 32 signatures")
    message = checkpoint.signed_message()
    verified: list[str] = []
    for entry in signatures:
        if not isinstance(entry, dict) or set(entry) != {"keyid", "sig"}:
            raise LogError("a checkpoint signature must have exactly keyid and sig")
        keyid, sig_b64 = entry["keyid"], entry["sig"]
        if not isinstance(keyid, str) or not isinstance(sig_b64, str):
            raise LogError("a checkpoint signature needs keyid and sig strings")
        if keyid in verified:
            raise LogError(f"two checkpoint signatures claim the key {keyid}")
        try:
            sig = strict_b64decode(sig_b64, "a checkpoint signature")
        except EnvelopeError as exc:
            raise LogError(str(exc)) from None
        public = trusted.get(keyid)
        if public is None:
            continue
        try:
            public.verify(sig, message)
        except InvalidSignature:
            raise LogError(f"the checkpoint signature by {keyid} does not verify") from None
        verified.append(keyid)
    if not verified:
        raise LogError("the checkpoint is not signed by a trusted log key")
    return checkpoint, verified


@dataclass(frozen=True)
class LogProof:
    """A verified inclusion proof bundle."""

    checkpoint: Checkpoint
    leaf_index: int
    consistency: tuple[int, list[bytes]] | None


def verify_log_proof(bundle: Any, entry: bytes, trusted: dict[str, Ed25519PublicKey]) -> LogProof:
    """Check that ``entry`` is in the log at the bundle's signed checkpoint."""
    if not isinstance(bundle, dict) or set(bundle) != _PROOF_FIELDS:
        raise LogError("a log proof must have exactly " + ", ".join(sorted(_PROOF_FIELDS)))
    if bundle["type"] != PROOF_TYPE:
        raise LogError(f"not a log inclusion proof (type {bundle['type']!r})")
    checkpoint, _ = verify_checkpoint(bundle["checkpoint"], trusted)
    index = _uint(bundle["leaf_index"], "leaf_index")
    size = _uint(bundle["tree_size"], "tree_size")
    if size != checkpoint.tree_size:
        raise LogError(f"the proof is for size {size}, the checkpoint for {checkpoint.tree_size}")
    hashes = _hashes(bundle["hashes"], "the inclusion proof")
    if not verify_inclusion(leaf_hash(entry), index, size, hashes, checkpoint.root_hash):
        raise LogError(f"the entry is not at index {index} of the signed tree")
    consistency = bundle["consistency"]
    parsed: tuple[int, list[bytes]] | None = None
    if consistency is not None:
        if not isinstance(consistency, dict) or set(consistency) != _CONSISTENCY_FIELDS:
            raise LogError("consistency must be null or have exactly old_size and hashes")
        parsed = (
            _uint(consistency["old_size"], "old_size"),
            _hashes(consistency["hashes"], "the consistency proof"),
        )
    return LogProof(checkpoint, index, parsed)


def check_consistency(trusted: Checkpoint, newer: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raise :class:`LogError` unless ``newer`` extends the checkpoint already trusted."""
    if trusted.origin != newer.origin:
        raise LogError(
            f"the checkpoints are of different logs ({trusted.origin} vs {newer.origin})"
        )
    if newer.tree_size < trusted.tree_size:
        raise LogError(
            f"the new checkpoint (size {newer.tree_size}) is older than the trusted one "
            f"(size {trusted.tree_size})"
        )
    if newer.timestamp < trusted.timestamp:
        raise LogError("the new checkpoint is dated before the trusted one")
    if not verify_consistency(
        trusted.tree_size, trusted.root_hash, newer.tree_size, newer.root_hash, proof
    ):
        raise LogError(
            f"the log at size {newer.tree_size} is not an extension of the trusted "
            f"checkpoint at size {trusted.tree_size}: the log forked or rewrote history"
        )


class TransparencyLog:
    """An append-only log in one SQLite file. Safe across threads and processes."""

    def __init__(self, path: Path | str, origin: str = DEFAULT_ORIGIN) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT value FROM meta WHERE key='origin'").fetchone()
                if row is None:
                    self._db.execute(
                        "INSERT INTO meta (key, value) VALUES ('origin', ?)",
                        (check_origin(origin),),
                    )
                    self.origin = origin
                else:
                    self.origin = str(row[0])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TransparencyLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def size(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM leaves").fetchone()
        return int(row[0])

    def append(self, data: bytes) -> int:
        """Add one entry; returns its index."""
        return self.append_many([data])

    def append_many(self, entries: Iterable[bytes]) -> int:
        """Add entries in one transaction; returns the index of the first."""
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                first = size = self.size
                for data in entries:
                    if not isinstance(data, bytes):
                        raise TypeError("log entries are bytes")
                    h = leaf_hash(data)
                    self._db.execute(
                        "INSERT INTO leaves (idx, leaf_hash, data, added_at) VALUES (?, ?, ?, ?)",
                        (size, h, data, now),
                    )
                    index, level = size, 0
                    while index & 1:  # each odd index completes a subtree
                        h = node_hash(self._node(level, index - 1), h)
                        index, level = index >> 1, level + 1
                        self._db.execute(
                            "INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)",
                            (level, index, h),
                        )
                    size += 1
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return first

    def _node(self, level: int, index: int) -> bytes:
        if level == 0:
            row = self._db.execute("SELECT leaf_hash FROM leaves WHERE idx=?", (index,)).fetchone()
        else:
            row = self._db.execute(
                "SELECT hash FROM nodes WHERE level=? AND idx=?", (level, index)
            ).fetchone()
        if row is None:
            raise LogError(f"the log has no node ({level}, {index})")
        return bytes(row[0])

    def node(self, level: int, index: int) -> bytes:
        with self._lock:
            return self._node(level, index)

    def entry(self, index: int) -> bytes:
        with self._lock:
            row = self._db.execute("SELECT data FROM leaves WHERE idx=?", (index,)).fetchone()
        if row is None:
            raise LogError(f"the log has no entry {index}")
        return bytes(row[0])

    def find(self, data: bytes) -> int | None:
        """The index of the first entry equal to ``data``, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(idx) FROM leaves WHERE leaf_hash=?", (leaf_hash(data),)
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def _size_or(self, size: int | None) -> int:
        current = self.size
        if size is None:
            return current
        if not 0 <= size <= current:
            raise LogError(f"the log has {current} entries, not {size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        with self._lock:
            return root_hash(self, self._size_or(size))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        with self._lock:
            n = self._size_or(size)
            if not 0 <= index < n:
                raise LogError(f"entry {index} is not in a tree of size {n}")
            return inclusion_path(self, index, n)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        with self._lock:
            n = self._size_or(new_size)
            if not 0 <= old_size <= n:
                raise LogError(f"no consistency proof from size {old_size} to {n}")
            return consistency_path(self, old_size, n)

    def checkpoint(self, timestamp: int | None = None) -> Checkpoint:
        """The current tree head (unsigned)."""
        with self._lock:
            size = self.size
            root = root_hash(self, size)
        return Checkpoint(
            origin=self.origin,
            tree_size=size,
            root_hash=root,
            timestamp=time.time_ns() // 1_000_000 if timestamp is None else timestamp,
        )

    def proof_bundle(
        self, index: int, keys: Sequence[SigningKey], *, old_size: int | None = None
    ) -> dict[str, Any]:
        """A signed checkpoint with the entry's inclusion proof and, for a verifier who
        trusts an earlier checkpoint of ``old_size``, the consistency proof from it."""
        with self._lock:
            checkpoint = self.checkpoint()
            n = checkpoint.tree_size
            return {
                "type": PROOF_TYPE,
                "leaf_index": index,
                "tree_size": n,
                "hashes": [h.hex() for h in self.inclusion_proof(index, n)],
                "checkpoint": checkpoint.sign(keys),
                "consistency": (
                    None
                    if old_size is None
                    else {
                        "old_size": old_size,
                        "hashes": [h.hex() for h in self.consistency_proof(old_size, n)],
                    }
                ),
            }

    def verify_integrity(self) -> None:
        """Recompute every stored hash from the entries; raise :class:`LogError` on a
        mismatch (someone edited the file underneath the triggers)."""
        with self._lock:
            level: list[bytes] = []
            for index, (stored, data) in enumerate(
                self._db.execute("SELECT leaf_hash, data FROM leaves ORDER BY idx")
            ):
                if bytes(stored) != leaf_hash(bytes(data)):
                    raise LogError(f"entry {index} does not match its leaf hash")
                level.append(bytes(stored))
            depth = 0
            while len(level) > 1:
                depth += 1
                level = [node_hash(a, b) for a, b in zip(level[0::2], level[1::2], strict=False)]
                for index, h in enumerate(level):
                    if self._node(depth, index) != h:
                        raise LogError(f"node ({depth}, {index}) does not match its children")
