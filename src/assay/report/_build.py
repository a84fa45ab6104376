"""Turning stored sample records into suite results and a report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from assay.gateway import Tier
from assay.policy import decide_suite
from assay.records import SampleRecord
from assay.report._model import Group, JudgeValidationInfo, SuiteResult
from assay.stats import (
    Interval,
    Metric,
    clopper_pearson,
    confidence_sequence,
    corrected_rate,
    metric_from_corrected,
    metric_from_proportion,
    samples_to_settle,
)
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
    interval: Literal["wilson", "clopper-pearson"] = "wilson"
    sequential_alpha: float | None = None  # set when the suite was tested sequentially
    stopped_early: bool = False
    judge_validation: Any = None  # the plan's judge model, measured; replaces spec.judge()


def suite_result(info: SuiteRunInfo, records: Sequence[SampleRecord]) -> SuiteResult:
    spec = info.spec
    summary = spec.summary(records)
    threshold, meaning = next(
        ((v, m) for v, m, unit in info.thresholds if unit == summary.metrics[0].unit),
        (None, ""),
    )
    metric = summary.metrics[0] = _primary_interval(summary.metrics[0], info)
    validation = info.judge_validation or (spec.judge() if spec.judge is not None else None)
    if validation is not None and spec.per_sample_rate and metric.successes is not None:
        corrected = _judge_corrected(metric, validation)
        if corrected is not None:
            summary.metrics.insert(1, corrected)
    breakdown = [
        Group(key=key, value=value, metrics=metrics) for key, value, metrics in summary.breakdown
    ]
    notes = list(info.notes) + list(summary.notes)
    judge = _judge_info(validation) if validation is not None else None
    if info.sequential_alpha is not None:
        notes.append(
            f"tested sequentially: {'stopped once settled' if info.stopped_early else 'ran to the end'} "
            f"after {len(records)} of at most {info.n_planned} items; the interval is an "
            "anytime-valid confidence sequence, valid whenever sampling stopped"
        )
    decision = decide_suite(metric, threshold, meaning, spec.primary_metric.kind)
    if (
        decision.outcome == "inconclusive"
        and threshold is not None
        and metric.successes is not None
        and metric.unit == "proportion"
    ):
        extra = samples_to_settle(metric.successes, metric.n, threshold, method=info.interval)
        decision.samples_to_settle = extra
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
        decision=decision,
        notes=notes,
    )


def _primary_interval(metric: Metric, info: SuiteRunInfo) -> Metric:
    """The interval the plan asks for: a confidence sequence for a sequentially tested
    rate, Clopper-Pearson when the plan says so, else the suite's own (Wilson)."""
    if metric.successes is None or metric.n == 0 or metric.unit != "proportion":
        return metric
    if info.sequential_alpha is not None:
        cs = confidence_sequence(metric.successes, metric.n, alpha=info.sequential_alpha)
        ci = Interval(low=cs.low, high=cs.high, level=cs.level, method=cs.method)
    elif info.interval == "clopper-pearson":
        cp = clopper_pearson(metric.successes, metric.n)
        ci = Interval(low=cp.low, high=cp.high, level=cp.level, method=cp.method)
    else:
        return metric
    return metric.model_copy(update={"ci": ci})


def _judge_corrected(metric: Metric, validation: Any) -> Metric | None:
    """The rate corrected for the judge's measured sensitivity and specificity."""
    assert metric.successes is not None
    try:
        rate = corrected_rate(
            metric.successes,
            metric.n,
            (validation.sensitivity.successes, validation.sensitivity.n),
            (validation.specificity.successes, validation.specificity.n),
        )
    except ValueError:
        return None
    return metric_from_corrected(
        f"{metric.name}_judge_corrected",
        rate,
        direction=metric.direction,
        description=f"{metric.description}, corrected for the judge's measured errors",
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
