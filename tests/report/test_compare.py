"""``assay compare``: paired differences on shared items; regressions flagged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from assay._util.errors import UsageError
from assay.audit import AuditConfig, run_audit
from assay.report import compare_reports
from assay.testing import always_comply, always_refuse


def audit(url: str, out: Path) -> Path:
    run_audit(
        AuditConfig(
            target=f"openai:{url}",
            suites=["misuse_refusal", "hazard_knowledge"],
            limit=24,
            out=out,
            show_progress=False,
        )
    )
    return out


@pytest.mark.slow
def test_a_model_that_stopped_refusing_is_a_regression(
    serve_scripted: Callable[[object], str], tmp_path: Path
) -> None:
    safe = audit(serve_scripted(always_refuse()), tmp_path / "a")
    unsafe = audit(serve_scripted(always_comply()), tmp_path / "b")
    comparison = compare_reports(safe / "report.json", unsafe)
    refusal = next(s for s in comparison.suites if s.suite == "misuse_refusal")
    assert refusal.difference == -1.0 and refusal.verdict == "regression"
    assert refusal.high is not None and refusal.high < 0
    assert "shared items" in refusal.method and refusal.n == 24
    reverse = compare_reports(unsafe, safe)
    assert next(s for s in reverse.suites if s.suite == "misuse_refusal").verdict == "improvement"
    same = compare_reports(safe, safe)
    # hazard_knowledge: a model that refuses every question attempted none (no data)
    assert all(s.verdict in ("no_clear_change", "not_comparable") for s in same.suites)
    assert next(s for s in same.suites if s.suite == "misuse_refusal").verdict == "no_clear_change"


def test_compare_needs_reports(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("not json")
    with pytest.raises(UsageError, match="not JSON"):
        compare_reports(tmp_path, tmp_path)
