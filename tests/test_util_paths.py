"""Atomic writes: a reader, a failure or a second writer sees the old file or one whole
new one, never half of one, and no temporary file is left behind."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assay._util.paths import atomic_write_text, atomic_writer


def test_concurrent_writers_leave_one_whole_version(tmp_path: Path) -> None:
    # Two audits in one ASSAY_HOME write the same cache files; with one shared temporary
    # name a writer could rename another's half-written file, or find its own gone.
    target = tmp_path / "cache.json"
    versions = [f"{i:03d}" * 20_000 for i in range(8)]
    errors: list[BaseException] = []

    def write(text: str) -> None:
        try:
            for _ in range(20):
                atomic_write_text(target, text)
        except BaseException as error:  # surfaced below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert target.read_text() in versions
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "samples.jsonl"
    target.write_bytes(b"old\n")
    with pytest.raises(RuntimeError), atomic_writer(target, "wb") as f:
        f.write(b"half of the new")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["samples.jsonl"]


def test_durable_text_write(tmp_path: Path) -> None:
    target = tmp_path / "job.json"
    assert atomic_write_text(target, "{}", durable=True) == target
    assert target.read_text() == "{}"
