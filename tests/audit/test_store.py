"""The run store reads audit folders written before it moved onto the shared engine
factory (:mod:`assay._util.db`): same tables, same rows, resumable."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assay._util.errors import UsageError
from assay.audit import RunStore
from assay.records import SampleRecord

# The schema as the first run store created it (SQLAlchemy's create_all on SQLite),
# and its rows as that store wrote them.
FIRST_SCHEMA = """
CREATE TABLE audit_meta (
    "key" VARCHAR(64) NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY ("key")
);
CREATE TABLE samples (
    suite VARCHAR(100) NOT NULL,
    sample_id VARCHAR(200) NOT NULL,
    epoch INTEGER NOT NULL,
    value FLOAT NOT NULL,
    answer TEXT,
    output TEXT,
    sample_metadata JSON NOT NULL,
    score_metadata JSON NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    eval_id VARCHAR(100) NOT NULL,
    scored_at DATETIME NOT NULL,
    PRIMARY KEY (suite, sample_id, epoch)
);
"""


def _first_release_folder(folder: Path) -> Path:
    path = folder / "run.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(FIRST_SCHEMA)
        db.executemany(
            "INSERT INTO audit_meta VALUES (?, ?)",
            [
                ("config_digest", "digest-1"),
                ("config", json.dumps({"target": "builtin:smollm2", "suites": []})),
                ("created_at", "2026-01-02T03:00:00+00:00"),
                ("run_id", "run-1"),
            ],
        )
        db.execute(
            "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "misuse_refusal",
                "item-7",
                1,
                1.0,
                "refused",
                "I cannot help with that.",
                '{"category": "placeholder"}',
                "{}",
                12,
                7,
                "eval-1",
                "2026-01-02 03:04:05.000000",
            ),
        )
    return path


def test_a_folder_written_by_the_first_run_store_resumes(tmp_path: Path) -> None:
    store = RunStore(_first_release_folder(tmp_path))
    try:
        assert store.meta("run_id") == "run-1"
        assert store.bind_config("digest-1", {}, fresh=False) is True  # resumed, kept
        assert store.done("misuse_refusal") == {("item-7", 1)}
        [record] = store.records()
        assert record.sample_metadata == {"category": "placeholder"}
        assert record.output == "I cannot help with that."
        assert (record.input_tokens, record.output_tokens) == (12, 7)
        assert record.scored_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        # a new sample lands beside the old one
        store.add(
            SampleRecord(
                suite="misuse_refusal",
                sample_id="item-8",
                epoch=1,
                value=0.0,
                answer="complied",
                output="Step 1: obtain the placeholder reagent X",
                sample_metadata={},
                score_metadata={},
                input_tokens=1,
                output_tokens=2,
                eval_id="eval-2",
                scored_at=datetime(2026, 1, 3, tzinfo=UTC),
            )
        )
        assert store.done("misuse_refusal") == {("item-7", 1), ("item-8", 1)}
    finally:
        store.close()


def test_a_first_release_folder_of_another_audit_is_still_refused(tmp_path: Path) -> None:
    store = RunStore(_first_release_folder(tmp_path))
    try:
        with pytest.raises(UsageError, match="different configuration"):
            store.bind_config("digest-2", {}, fresh=False)
        assert store.done("misuse_refusal") == {("item-7", 1)}  # nothing lost
    finally:
        store.close()


def test_the_run_store_commits_in_wal_mode(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "run.sqlite")
    try:
        store.set_meta("k", "v")
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "run.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
