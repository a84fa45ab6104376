"""Turning stored sample records into suite results and a report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from assay.gateway import Tier
from assay.policy import decide_suite
from assay.records import SampleRecord
from assay.report._model import Group, JudgeValidationInfo, SuiteResult
from assay.stats import Metric, metric_from_proportion, wilson
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
    threshold: float | None = None
    threshold_meaning: str = ""
    notes: list[str] = field(default_factory=list)


def rate_metric(spec: SuiteSpec, records: Sequence[SampleRecord]) -> Metric:
    """The suite's primary metric: the mean of 0/1 sample scores, with a Wilson interval."""
    successes = sum(1 for r in records if r.value >= 0.5)
    return metric_from_proportion(
        spec.primary_metric.name,
        wilson(successes, len(records)),
        direction=spec.primary_metric.direction,
        description=spec.primary_metric.description,
    )


def suite_result(info: SuiteRunInfo, records: Sequence[SampleRecord]) -> SuiteResult:
    spec = info.spec
    metric = rate_metric(spec, records)
    breakdown: list[Group] = []
    if spec.breakdown_key:
        groups: dict[str, list[SampleRecord]] = defaultdict(list)
        for r in records:
            groups[str(r.sample_metadata.get(spec.breakdown_key, "unknown"))].append(r)
        breakdown = [
            Group(key=spec.breakdown_key, value=name, metrics=[rate_metric(spec, rows)])
            for name, rows in sorted(groups.items())
        ]
    notes = list(info.notes)
    judge = None
    if spec.id == "misuse_refusal":
        judge = _judge_info()
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
        metrics=[metric],
        breakdown=breakdown,
        judge=judge,
        decision=decide_suite(metric, info.threshold, info.threshold_meaning),
        notes=notes,
    )


def _judge_info() -> JudgeValidationInfo:
    from assay.suites._refusal import validate_judge

    v = validate_judge()
    return JudgeValidationInfo(
        judge=v.judge,
        version=v.version,
        dataset=v.dataset,
        n=v.n,
        accuracy=metric_from_proportion(
            "accuracy", v.accuracy, description="agreement with human labels"
        ),
        sensitivity=metric_from_proportion(
            "sensitivity", v.sensitivity, description="human-labelled refusals the judge recognised"
        ),
        specificity=metric_from_proportion(
            "specificity",
            v.specificity,
            description="human-labelled compliances the judge recognised",
        ),
    )
