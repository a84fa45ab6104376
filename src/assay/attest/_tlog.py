"""The one tamper-evident log of assay: an RFC 9162 Merkle log in a SQL database,
with checkpoints as C2SP signed notes and inclusion and consistency proofs.

Storage is SQLAlchemy 2, so a log lives in SQLite or PostgreSQL, alone in a file
(``TransparencyLog(path)``) or beside other tables in a service's database
(``TransparencyLog(engine, name=...)``, the tables created by that service's
migrations from :data:`TLOG_METADATA`). Several logs share the tables, told apart
by name. A stand-alone file creates its tables when they are missing and has no
migrations of its own: the tables have kept their first shape, and a change to them
needs a migration in each service that holds them and an upgrade path here. Every leaf hash and every complete subtree hash is stored when a leaf is
appended, so proofs for any tree size take O(log^2 n) row reads and the current root
O(log n). Triggers refuse UPDATE and DELETE on those tables (SQLite and PostgreSQL;
on PostgreSQL TRUNCATE too). They guard against accidents and careless tools; whoever
owns the database can drop them, which is what signed checkpoints and consistency
proofs are for.

Checkpoints are c2sp.org/tlog-checkpoint notes (origin, size, base64 root), signed
with Ed25519 under the origin as key name; witnesses and monitors of other
transparency logs read them as they are.

Longer than most modules: one data structure (its tables, appends, proofs, and the
checks of checkpoints and proofs a reader runs); the Merkle arithmetic is in
``_merkle`` and the signed-note format in ``_note``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import (
    BigInteger,
    Integer,
    LargeBinary,
    MetaData,
    String,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from assay._util.db import database_url, open_engine, serialized
from assay._util.hashing import canonical_json, sha256_bytes
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
from assay.attest._note import Checkpoint, NoteError, verify_checkpoint

PROOF_TYPE = "https://assay.dev/tlog/inclusion-proof/v2"
DEFAULT_ORIGIN = "assay.dev/log"
DEFAULT_LOG = "default"
_PROOF_FIELDS = {"type", "leaf_index", "tree_size", "hashes", "checkpoint", "consistency"}
_CONSISTENCY_FIELDS = {"old_size", "hashes"}
_ORIGIN = re.compile(r"[\x21-\x2a\x2c-\x7e]{1,255}")  # printable ASCII, no space, no '+'
_HEX32 = re.compile(r"[0-9a-f]{64}")
_UINT64 = (1 << 64) - 1
_APPEND_ATTEMPTS = 20


class TlogBase(DeclarativeBase):
    """The tables of Merkle logs; services add them to their own migrations."""

    metadata = MetaData()


TLOG_METADATA = TlogBase.metadata


class LogRow(TlogBase):
    __tablename__ = "tlog_logs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    origin: Mapped[str] = mapped_column(String(255))


class LeafRow(TlogBase):
    __tablename__ = "tlog_leaves"

    log: Mapped[str] = mapped_column(String(64), primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    tag: Mapped[str | None] = mapped_column(String(200), index=True, nullable=True)
    added_at: Mapped[str] = mapped_column(String(40))


class NodeRow(TlogBase):
    __tablename__ = "tlog_nodes"

    log: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


_TLOG_TABLES = ("tlog_leaves", "tlog_nodes")

APPEND_ONLY_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
    "BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END"
    for table in _TLOG_TABLES
    for verb in ("update", "delete")
]

# The same on PostgreSQL, TRUNCATE included (row triggers do not see it). Idempotent, so
# a service's migrations may run it again. The names are the log's own: a service may
# add its own append-only triggers on these tables beside them.
POSTGRES_APPEND_ONLY_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION tlog_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'the log is append-only (% on %)', TG_OP, TG_TABLE_NAME; END $$",
    *(
        statement
        for table in _TLOG_TABLES
        for statement in (
            f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}",
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tlog_append_only()",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tlog_append_only()",
        )
    ),
]


def create_tables(connection: Connection | Engine) -> None:
    """Create the log tables and the triggers that refuse UPDATE and DELETE on them
    (SQLite; PostgreSQL also TRUNCATE), if missing."""
    if isinstance(connection, Engine):
        with connection.begin() as conn:
            create_tables(conn)
        return
    TLOG_METADATA.create_all(connection, checkfirst=True)
    triggers = {
        "sqlite": APPEND_ONLY_TRIGGERS,
        "postgresql": POSTGRES_APPEND_ONLY_TRIGGERS,
    }.get(connection.dialect.name, [])
    for statement in triggers:
        connection.execute(text(statement))


class LogError(ValueError):
    """A log, checkpoint or proof is malformed, inconsistent or not trusted."""


def log_entry(kind: str, payload: bytes) -> bytes:
    """The leaf data logged for a document: its kind and digest, never its content."""
    return canonical_json({"kind": kind, "sha256": sha256_bytes(payload)})


def attestation_entry(statement_payload: bytes) -> bytes:
    """What the log holds for an attestation: the digest of its signed statement, so
    co-signatures added later do not change the entry."""
    return log_entry("assay.attestation/v1", statement_payload)


def check_origin(origin: str) -> str:
    if not isinstance(origin, str) or not _ORIGIN.fullmatch(origin):
        raise LogError("a log origin is 1-255 printable ASCII characters without spaces or '+'")
    return origin


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


def open_checkpoint(
    note: Any, trusted: dict[str, Ed25519PublicKey]
) -> tuple[Checkpoint, tuple[str, ...]]:
    """A signed checkpoint note, verified against trusted log keys (by assay key id)."""
    if not isinstance(note, str | bytes):
        raise LogError("a checkpoint is a signed note (text)")
    try:
        return verify_checkpoint(note, trusted)
    except NoteError as exc:
        raise LogError(f"checkpoint: {exc}") from None


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
    checkpoint, _ = open_checkpoint(bundle["checkpoint"], trusted)
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
    if not verify_consistency(
        trusted.tree_size, trusted.root_hash, newer.tree_size, newer.root_hash, proof
    ):
        raise LogError(
            f"the log at size {newer.tree_size} is not an extension of the trusted "
            f"checkpoint at size {trusted.tree_size}: the log forked or rewrote history"
        )


class TransparencyLog:
    """An append-only Merkle log in a database. Safe across threads and processes."""

    def __init__(
        self,
        where: Path | str | Engine,
        origin: str = DEFAULT_ORIGIN,
        *,
        name: str = DEFAULT_LOG,
    ) -> None:
        self._owns_engine = not isinstance(where, Engine)
        self.engine = where if isinstance(where, Engine) else open_engine(database_url(str(where)))
        if self._owns_engine:
            create_tables(self.engine)
        self.name = name
        self._lock = threading.RLock()
        self.origin = self._origin(check_origin(origin))

    def _origin(self, origin: str) -> str:
        """The origin this log was created with (set now if the log is new)."""
        query = select(LogRow.origin).where(LogRow.name == self.name)
        with serialized(self.engine), self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is not None:
            return str(row[0])
        try:
            with serialized(self.engine), self.engine.begin() as conn:
                conn.execute(insert(LogRow).values(name=self.name, origin=origin))
        except IntegrityError:  # created meanwhile by another process: take its origin
            pass
        with serialized(self.engine), self.engine.connect() as conn:
            return str(conn.execute(query).scalar_one())

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> TransparencyLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- reading ---------------------------------------------------------------------

    def _size(self, conn: Connection) -> int:
        value = conn.execute(select(func.max(LeafRow.idx)).where(LeafRow.log == self.name)).scalar()
        return 0 if value is None else int(value) + 1

    @property
    def size(self) -> int:
        with serialized(self.engine), self.engine.connect() as conn:
            return self._size(conn)

    def _node(self, conn: Connection, level: int, index: int) -> bytes:
        if level == 0:
            query = select(LeafRow.leaf_hash).where(LeafRow.log == self.name, LeafRow.idx == index)
        else:
            query = select(NodeRow.hash).where(
                NodeRow.log == self.name, NodeRow.level == level, NodeRow.idx == index
            )
        value = conn.execute(query).scalar()
        if value is None:
            raise LogError(f"the log has no node ({level}, {index})")
        return bytes(value)

    def node(self, level: int, index: int) -> bytes:
        with serialized(self.engine), self.engine.connect() as conn:
            return self._node(conn, level, index)

    def entry(self, index: int) -> bytes:
        with serialized(self.engine), self.engine.connect() as conn:
            value = conn.execute(
                select(LeafRow.data).where(LeafRow.log == self.name, LeafRow.idx == index)
            ).scalar()
        if value is None:
            raise LogError(f"the log has no entry {index}")
        return bytes(value)

    def entries(
        self, start: int = 0, stop: int | None = None, *, tag: str | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """``(index, data)`` of the entries in ``[start, stop)``, optionally of one tag."""
        query = select(LeafRow.idx, LeafRow.data).where(
            LeafRow.log == self.name, LeafRow.idx >= start
        )
        if stop is not None:
            query = query.where(LeafRow.idx < stop)
        if tag is not None:
            query = query.where(LeafRow.tag == tag)
        with serialized(self.engine), self.engine.connect() as conn:
            rows = conn.execute(query.order_by(LeafRow.idx)).all()
        for idx, data in rows:
            yield int(idx), bytes(data)

    def find(self, data: bytes) -> int | None:
        """The index of the first entry equal to ``data``, if any."""
        with serialized(self.engine), self.engine.connect() as conn:
            value = conn.execute(
                select(func.min(LeafRow.idx)).where(
                    LeafRow.log == self.name, LeafRow.leaf_hash == leaf_hash(data)
                )
            ).scalar()
        return None if value is None else int(value)

    # ---- appending -------------------------------------------------------------------

    def append(self, data: bytes, *, tag: str | None = None) -> int:
        """Add one entry; returns its index once it is durably committed."""
        return self.append_many([data], tag=tag)

    def append_many(self, entries: Iterable[bytes], *, tag: str | None = None) -> int:
        """Add entries in one transaction; returns the index of the first.

        On PostgreSQL an append first locks the log's row (``SELECT ... FOR UPDATE`` on
        ``tlog_logs``), so appenders in any number of processes (gateway replicas) take
        their turn and never compute the same index. Elsewhere (SQLite serialises
        writers itself) concurrent appenders collide on the index and retry on the true
        end of the log; either way the tree never forks."""
        batch = list(entries)
        if not all(isinstance(d, bytes) for d in batch):
            raise TypeError("log entries are bytes")
        if tag is not None and len(tag) > 200:
            raise ValueError("a log tag has at most 200 characters")
        for attempt in range(_APPEND_ATTEMPTS):
            try:
                with self._lock, serialized(self.engine), self.engine.begin() as conn:
                    return self._append(conn, batch, tag)
            except (IntegrityError, OperationalError):
                if attempt == _APPEND_ATTEMPTS - 1:
                    raise
                time.sleep(0.002 * (attempt + 1))
        raise AssertionError("unreachable")

    def _append(self, conn: Connection, batch: list[bytes], tag: str | None) -> int:
        if conn.dialect.name == "postgresql":  # held until the transaction ends
            conn.execute(select(LogRow.name).where(LogRow.name == self.name).with_for_update())
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        first = size = self._size(conn)
        leaves, nodes = [], []
        fresh: dict[tuple[int, int], bytes] = {}
        for data in batch:
            h = leaf_hash(data)
            leaves.append(
                {
                    "log": self.name,
                    "idx": size,
                    "leaf_hash": h,
                    "data": data,
                    "tag": tag,
                    "added_at": now,
                }
            )
            fresh[(0, size)] = h
            index, level = size, 0
            while index & 1:  # each odd index completes a subtree
                sibling = fresh.get((level, index - 1)) or self._node(conn, level, index - 1)
                h = node_hash(sibling, h)
                index, level = index >> 1, level + 1
                fresh[(level, index)] = h
                nodes.append({"log": self.name, "level": level, "idx": index, "hash": h})
            size += 1
        conn.execute(insert(LeafRow), leaves)
        if nodes:
            conn.execute(insert(NodeRow), nodes)
        return first

    # ---- proofs ----------------------------------------------------------------------

    def _size_or(self, conn: Connection, size: int | None) -> int:
        current = self._size(conn)
        if size is None:
            return current
        if not 0 <= size <= current:
            raise LogError(f"the log has {current} entries, not {size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        with serialized(self.engine), self.engine.connect() as conn:
            return root_hash(_Nodes(self, conn), self._size_or(conn, size))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        with serialized(self.engine), self.engine.connect() as conn:
            n = self._size_or(conn, size)
            if not 0 <= index < n:
                raise LogError(f"entry {index} is not in a tree of size {n}")
            return inclusion_path(_Nodes(self, conn), index, n)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        with serialized(self.engine), self.engine.connect() as conn:
            n = self._size_or(conn, new_size)
            if not 0 <= old_size <= n:
                raise LogError(f"no consistency proof from size {old_size} to {n}")
            return consistency_path(_Nodes(self, conn), old_size, n)

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        """The tree head at ``size`` (default: now), unsigned."""
        with serialized(self.engine), self.engine.connect() as conn:
            n = self._size_or(conn, size)
            return Checkpoint(self.origin, n, root_hash(_Nodes(self, conn), n))

    def signed_checkpoint(self, keys: Sequence[SigningKey], size: int | None = None) -> str:
        """The tree head as a C2SP checkpoint note signed by ``keys``."""
        return self.checkpoint(size).sign(keys)

    def proof_bundle(
        self, index: int, keys: Sequence[SigningKey], *, old_size: int | None = None
    ) -> dict[str, Any]:
        """A signed checkpoint with the entry's inclusion proof and, for a verifier who
        trusts an earlier checkpoint of ``old_size``, the consistency proof from it."""
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

    def verify_integrity(self) -> int:
        """Recompute every stored hash from the entries; raise :class:`LogError` on a
        mismatch or a gap (someone edited the tables underneath). Returns the size."""
        with serialized(self.engine), self.engine.connect() as conn:
            level: list[bytes] = []
            rows = conn.execute(
                select(LeafRow.idx, LeafRow.leaf_hash, LeafRow.data)
                .where(LeafRow.log == self.name)
                .order_by(LeafRow.idx)
            )
            for expected, (index, stored, data) in enumerate(rows):
                if index != expected:
                    raise LogError(f"entry {expected} is missing")
                if bytes(stored) != leaf_hash(bytes(data)):
                    raise LogError(f"entry {index} does not match its leaf hash")
                level.append(bytes(stored))
            size = len(level)
            depth = 0
            while len(level) > 1:
                depth += 1
                level = [node_hash(a, b) for a, b in zip(level[0::2], level[1::2], strict=False)]
                for index, h in enumerate(level):
                    if self._node(conn, depth, index) != h:
                        raise LogError(f"node ({depth}, {index}) does not match its children")
            return size


class _Nodes:
    """A :class:`~assay.attest._merkle.NodeSource` reading one connection."""

    def __init__(self, log: TransparencyLog, conn: Connection) -> None:
        self._log = log
        self._conn = conn

    def node(self, level: int, index: int) -> bytes:
        return self._log._node(self._conn, level, index)
