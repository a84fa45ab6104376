"""Provisioning from several processes at once: one builds, the others wait and reuse
its copy (two audits started together on a fresh machine, or parallel test workers,
used to race to rename their staging folders onto the same cache path)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from assay.models import _builtin, builtin_cache_path, provision_builtin


def test_concurrent_provisioning_builds_once(monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[str] = []

    def slow_build(model: _builtin.BuiltinModel, target: Path, *, show_progress: bool) -> Path:
        builds.append(model.name)
        time.sleep(0.3)  # long enough for the other caller to arrive while we build
        target.mkdir(parents=True)
        (target / _builtin._COMPLETE_MARKER).write_text("built\n")
        return target

    monkeypatch.setattr(_builtin, "_provision_base", slow_build)
    results: list[Path] = []
    errors: list[BaseException] = []

    def provision() -> None:
        try:
            results.append(provision_builtin("smollm2", show_progress=False))
        except BaseException as error:  # surfaced below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=provision) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert builds == ["smollm2"]
    assert results == [builtin_cache_path("smollm2")] * 3
