"""Turning stored sample records into suite results and a report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.gateway import Tier
from assay.policy import decide_suite
from assay.records import SampleRecord
from assay.report._model import Group, JudgeValidationInfo, SuiteResult
from assay.stats import metric_from_proportion
from assay.suites import SuiteSpec


@dataclass
class SuiteRunInfo:
    """How one suite was run in this audit (beyond its spec)."""

    spec: SuiteSpec
    tier: Tier
    method: str
    params: dict[str, str | int | float | bool | None]
    n_planned: int
    n_errors: int = 0
    thresholds: list[tuple[float, str, str]] = field(default_factory=list)  # (value, meaning, unit)
    notes: list[str] = field(default_factory=list)


def suite_result(info: SuiteRunInfo, records: Sequence[SampleRecord]) -> SuiteResult:
    spec = info.spec
    summary = spec.summary(records)
    metric = summary.metrics[0]
    threshold, meaning = next(
        ((v, m) for v, m, unit in info.thresholds if unit == metric.unit), (None, "")
    )
    breakdown = [
        Group(key=key, value=value, metrics=metrics) for key, value, metrics in summary.breakdown
    ]
    notes = list(info.notes) + list(summary.notes)
    judge = _judge_info(spec.judge()) if spec.judge is not None else None
    if spec.chance is not None:
        notes.append(f"chance accuracy is {spec.chance:.2f} (random guessing among the options)")
    missing = sum(
        1
        for r in records
        if r.score_metadata.get("decided_by") in ("parsed_text", "no_answer")
        and "letter_logprobs" in r.score_metadata
    )
    if missing:
        notes.append(
            f"{missing} item(s) had no option letter among the returned top logprobs; their answer was read from the text"
        )
    unanswered = sum(1 for r in records if r.score_metadata.get("decided_by") == "no_answer")
    if unanswered:
        notes.append(f"{unanswered} item(s) had no recognisable answer and count as wrong")
    return SuiteResult(
        id=spec.id,
        title=spec.title,
        version=spec.version,
        risk_area=spec.risk_area,
        data_digest=spec.data_digest,
        tier=info.tier,
        method=info.method,
        params=info.params,
        n=len(records),
        n_planned=info.n_planned,
        n_errors=info.n_errors,
        metrics=summary.metrics,
        breakdown=breakdown,
        judge=judge,
        decision=decide_suite(metric, threshold, meaning, spec.primary_metric.kind),
        notes=notes,
    )


def _judge_info(v: Any) -> JudgeValidationInfo:
    """A measured judge (``assay.suites._refusal.JudgeValidation`` or alike) for the report."""
    return JudgeValidationInfo(
        judge=v.judge,
        version=v.version,
        dataset=v.dataset,
        n=v.n,
        positive=v.positive,
        negative=v.negative,
        accuracy=metric_from_proportion(
            "accuracy", v.accuracy, description="agreement with human labels"
        ),
        sensitivity=metric_from_proportion(
            "sensitivity",
            v.sensitivity,
            description=f"human-labelled {v.positive} cases the judge recognised",
        ),
        specificity=metric_from_proportion(
            "specificity",
            v.specificity,
            description=f"human-labelled {v.negative} cases the judge recognised",
        ),
    )
