"""The request log: append-only, hash-chained, and blind to request contents.

Each entry records who asked what kind of question of which model, how much it
cost and how many floats left, and a salted commitment ``sha256(salt || body)``
to the request body instead of the body itself. The salt goes back to the client
(``x-assay-commitment-salt``; a client may also choose it, with the
``x-assay-salt`` request header) and is not stored, so the developer's log cannot
be searched for guessed test items, while the tester can later open any entry by
revealing its body and salt. Each entry's hash covers the previous entry's hash:
editing, deleting or reordering an entry breaks the chain at that point.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assay._util.hashing import canonical_json
from assay.gateway._db import LogRow, serialized

GENESIS = "sha256:" + "0" * 64


def commitment(salt: bytes, body: Any) -> str:
    """The commitment to a request body (its canonical JSON), under ``salt``."""
    return "sha256:" + hashlib.sha256(salt + canonical_json(body)).hexdigest()


@dataclass(frozen=True)
class LogEntry:
    seq: int
    at: str
    token_id: str
    engagement: str
    route: str
    model: str
    tier: str
    status: int
    prompt_tokens: int
    completion_tokens: int
    floats: int
    commitment: str
    prev_hash: str
    entry_hash: str

    def computed_hash(self) -> str:
        fields = asdict(self)
        fields.pop("entry_hash")
        return "sha256:" + hashlib.sha256(canonical_json(fields)).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    entries: int
    head: str
    first_bad_seq: int | None = None
    problem: str | None = None


class RequestLog:
    """Appends and checks the hash-chained log in the gateway database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None  # (seq, hash) of the last entry we know

    def append(
        self,
        *,
        token_id: str,
        engagement: str,
        route: str,
        model: str,
        tier: str,
        status: int,
        prompt_tokens: int,
        completion_tokens: int,
        floats: int,
        commitment: str,
    ) -> LogEntry:
        """Append one entry; returns it once it is durably committed.

        The last entry is remembered between appends; if another process appended in
        between, the insert collides on the sequence number and is retried on the
        true head, so the chain never forks."""
        fields = {
            "token_id": token_id,
            "engagement": engagement,
            "route": route,
            "model": model,
            "tier": tier,
            "status": status,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "floats": floats,
            "commitment": commitment,
        }
        with self._lock, serialized(self.engine):
            for _attempt in range(3):
                if self._head is None:
                    self._head = self._read_head()
                seq, prev = self._head
                draft = LogEntry(
                    seq=seq + 1,
                    at=datetime.now(UTC).isoformat(timespec="microseconds"),
                    prev_hash=prev,
                    entry_hash="",
                    **fields,  # type: ignore[arg-type]
                )
                entry = LogEntry(**{**asdict(draft), "entry_hash": draft.computed_hash()})
                try:
                    with Session(self.engine) as session, session.begin():
                        session.add(LogRow(**asdict(entry)))
                except IntegrityError:
                    self._head = None  # someone else appended: start again from the real head
                    continue
                self._head = (entry.seq, entry.entry_hash)
                return entry
        raise RuntimeError("could not append to the request log: too much concurrent appending")

    def _read_head(self) -> tuple[int, str]:
        with Session(self.engine) as session:
            last = session.scalars(select(LogRow).order_by(LogRow.seq.desc()).limit(1)).first()
            return (last.seq, last.entry_hash) if last else (0, GENESIS)

    def entries(self, engagement: str | None = None) -> Iterator[LogEntry]:
        with serialized(self.engine), Session(self.engine) as session:
            query = select(LogRow).order_by(LogRow.seq)
            if engagement is not None:
                query = query.where(LogRow.engagement == engagement)
            rows = [_entry(row) for row in session.scalars(query)]
        yield from rows

    def count(self) -> int:
        with serialized(self.engine), Session(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(LogRow)) or 0)

    def verify(self) -> ChainCheck:
        """Walk the chain from the start; report the first entry that breaks it."""
        prev = GENESIS
        expected_seq = 1
        count = 0
        for entry in self.entries():
            if entry.seq != expected_seq:
                return ChainCheck(
                    False,
                    count,
                    prev,
                    entry.seq,
                    f"entry {expected_seq} is missing (found {entry.seq} next)",
                )
            if entry.prev_hash != prev:
                return ChainCheck(
                    False,
                    count,
                    prev,
                    entry.seq,
                    "does not follow the previous entry (deleted or reordered)",
                )
            if entry.computed_hash() != entry.entry_hash:
                return ChainCheck(
                    False, count, prev, entry.seq, "its contents were changed after it was written"
                )
            prev = entry.entry_hash
            expected_seq += 1
            count += 1
        return ChainCheck(True, count, prev)

    def export(self, engagement: str) -> dict[str, Any]:
        """The engagement's entry hashes and totals, with the chain's current head."""
        check = self.verify()
        mine = list(self.entries(engagement))
        totals = {
            "requests": len(mine),
            "prompt_tokens": sum(e.prompt_tokens for e in mine),
            "completion_tokens": sum(e.completion_tokens for e in mine),
            "floats": sum(e.floats for e in mine),
            "errors": sum(1 for e in mine if e.status >= 400),
        }
        return {
            "type": "https://assay.dev/gateway-log-export/v1",
            "engagement": engagement,
            "chain": {"ok": check.ok, "entries": check.entries, "head": check.head},
            "totals": totals,
            "first_at": mine[0].at if mine else None,
            "last_at": mine[-1].at if mine else None,
            "entries": [
                {"seq": e.seq, "entry_hash": e.entry_hash, "commitment": e.commitment} for e in mine
            ],
            "exported_at": datetime.now(UTC).isoformat(),
        }


def entry_from_json(data: dict[str, Any]) -> LogEntry:
    return LogEntry(**data)


def _entry(row: LogRow) -> LogEntry:
    return LogEntry(
        seq=row.seq,
        at=row.at,
        token_id=row.token_id,
        engagement=row.engagement,
        route=row.route,
        model=row.model,
        tier=row.tier,
        status=row.status,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        floats=row.floats,
        commitment=row.commitment,
        prev_hash=row.prev_hash,
        entry_hash=row.entry_hash,
    )


def dump(entry: LogEntry) -> str:
    return json.dumps(asdict(entry), sort_keys=True)
