"""``assay compare``: paired differences on shared items; regressions flagged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from assay._util.errors import UsageError
from assay.audit import AuditConfig, run_audit
from assay.policy import SuiteDecision
from assay.report import SuiteResult, compare_reports
from assay.report._compare import _compare_suite
from assay.stats import Interval, Metric
from assay.testing import always_comply, always_refuse
from assay.tiers import Tier


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


def _suite(version: str, ci: Interval | None) -> SuiteResult:
    return SuiteResult(
        id="misuse_refusal",
        title="t",
        version=version,
        risk_area="cbrn_cyber",
        data_digest="sha256:0",
        tier=Tier.BLACK,
        method="generate",
        n=10,
        n_planned=10,
        n_errors=0,
        metrics=[Metric(name="refusal_rate", value=0.5, ci=ci, n=10)],
        decision=SuiteDecision(outcome="inconclusive", summary="-", reasons=[]),
    )


def test_a_suite_without_intervals_keeps_the_version_note() -> None:
    """Both reasons reach the reader: no interval to compare, and different versions."""
    compared = _compare_suite(_suite("1.0", None), _suite("2.0", None), {}, {}, 0.95)
    assert compared.verdict == "not_comparable"
    assert "no interval" in compared.note and "suite versions differ (1.0 vs 2.0)" in compared.note
    interval = Interval(low=0.2, high=0.8, level=0.95, method="wilson")
    same = _compare_suite(_suite("1.0", interval), _suite("2.0", interval), {}, {}, 0.95)
    assert same.verdict == "no_clear_change" and "versions differ" in same.note
