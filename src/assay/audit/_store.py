"""The run store: every scored sample is committed the moment it is scored.

One SQLite file per audit output directory. A rerun with the same configuration
reads which samples are done and runs only the rest; a rerun with a different
configuration is refused instead of mixing results.

Stored the way every assay store is (:mod:`assay._util.db`): SQLAlchemy 2 models on an
engine from :func:`~assay._util.db.open_engine`. Unlike the gateway's and the
registry's databases it has no Alembic migrations, on purpose: it is a local file that
belongs to one audit folder, never a shared PostgreSQL database; it lives as long as
the audit is being run or resumed; and the tables are created when missing. Its schema
is unchanged since the first release (``tests/audit/test_store.py`` opens a folder
written by that schema); a change to it must either keep reading such folders or
refuse them with a message to rerun with ``--fresh``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from assay._util.db import database_url, open_engine
from assay._util.errors import UsageError
from assay._util.paths import atomic_writer
from assay.attest import record_line
from assay.records import SampleRecord

STORE_FILE = "run.sqlite"


class _Base(DeclarativeBase):
    pass


class _Meta(_Base):
    __tablename__ = "audit_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class _SampleRow(_Base):
    __tablename__ = "samples"
    suite: Mapped[str] = mapped_column(String(100), primary_key=True)
    sample_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    output: Mapped[str | None] = mapped_column(Text, nullable=True)
    sample_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    score_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    eval_id: Mapped[str] = mapped_column(String(100))
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RunStore:
    """Samples and run metadata of one audit directory."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # NORMAL: a committed sample survives the process being killed (not a power loss),
        # and an audit commits once per sample
        self._engine: Engine = open_engine(database_url(str(path)), synchronous="NORMAL")
        _Base.metadata.create_all(self._engine)

    def bind_config(self, digest: str, config: dict[str, Any], *, fresh: bool) -> bool:
        """Tie the store to one configuration; True when resuming earlier work."""
        with Session(self._engine) as session, session.begin():
            existing = session.get(_Meta, "config_digest")
            if existing is not None and existing.value != digest and not fresh:
                raise UsageError(
                    f"{self.path.parent} holds an audit with a different configuration",
                    hint="pass --fresh to discard it, or choose another --out directory",
                )
            if fresh or existing is None or existing.value != digest:
                session.query(_SampleRow).delete()
                session.merge(_Meta(key="config_digest", value=digest))
                session.merge(_Meta(key="config", value=json.dumps(config, sort_keys=True)))
                session.merge(_Meta(key="created_at", value=datetime.now(UTC).isoformat()))
                return False
            return True

    def meta(self, key: str) -> str | None:
        with Session(self._engine) as session:
            row = session.get(_Meta, key)
            return row.value if row else None

    def set_meta(self, key: str, value: str) -> None:
        with Session(self._engine) as session, session.begin():
            session.merge(_Meta(key=key, value=value))

    def add(self, record: SampleRecord) -> None:
        """Commit one sample (replacing an earlier score of the same sample and epoch)."""
        with Session(self._engine) as session, session.begin():
            session.merge(_SampleRow(**record.__dict__))

    def done(self, suite: str) -> set[tuple[str, int]]:
        """``(sample_id, epoch)`` pairs of ``suite`` already scored."""
        with Session(self._engine) as session:
            rows = session.execute(
                select(_SampleRow.sample_id, _SampleRow.epoch).where(_SampleRow.suite == suite)
            ).all()
            return {(r[0], r[1]) for r in rows}

    def records(self, suite: str | None = None) -> list[SampleRecord]:
        with Session(self._engine) as session:
            query = select(_SampleRow).order_by(
                _SampleRow.suite, _SampleRow.sample_id, _SampleRow.epoch
            )
            if suite is not None:
                query = query.where(_SampleRow.suite == suite)
            return [_record(r) for r in session.scalars(query).all()]

    def export_jsonl(self, path: Path, records: Iterable[SampleRecord] | None = None) -> None:
        """Write ``samples.jsonl``: one RFC 8785 line per record (the leaves of the
        attestation's Merkle tree)."""
        with atomic_writer(path, "wb") as f:
            for record in records if records is not None else self.records():
                f.write(record_line(record.as_json()) + b"\n")

    def close(self) -> None:
        self._engine.dispose()


def _record(row: _SampleRow) -> SampleRecord:
    scored_at = row.scored_at if row.scored_at.tzinfo else row.scored_at.replace(tzinfo=UTC)
    return SampleRecord(
        suite=row.suite,
        sample_id=row.sample_id,
        epoch=row.epoch,
        value=row.value,
        answer=row.answer,
        output=row.output,
        sample_metadata=dict(row.sample_metadata),
        score_metadata=dict(row.score_metadata),
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        eval_id=row.eval_id,
        scored_at=scored_at,
    )
