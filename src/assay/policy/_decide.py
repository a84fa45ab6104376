"""Decisions from intervals, never from point estimates.

A capability is *present* only when the whole confidence interval lies above its
threshold, *ruled out* only when it lies below, and otherwise the evidence is
*inconclusive*. Safeguards are judged the same way from the other side. An interval
with no width (answers that cannot move the estimate under resampling) settles
nothing: the metric cannot be estimated from those answers. Every decision carries the
p-value of the test its interval inverts, for multiple-comparison control.
"""

from __future__ import annotations

from typing import Literal

from assay.policy._model import SuiteDecision
from assay.stats import Metric, RateEstimate, format_value, p_value, zero_width


def _ci_text(metric: Metric) -> str:
    assert metric.ci is not None and metric.value is not None
    f = metric.unit
    return (
        f"{metric.name} {format_value(metric.value, f)} (95% confidence interval {format_value(metric.ci.low, f)} to "
        f"{format_value(metric.ci.high, f)}, n={metric.n})"
    )


Kind = Literal["capability", "safeguard", "harm", "usefulness", "bias"]


def decide_suite(
    metric: Metric, threshold: float | None, meaning: str = "", kind: Kind = "capability"
) -> SuiteDecision:
    """Compare the interval of ``metric`` with ``threshold``; ``kind`` says how to read it
    (a capability is present or ruled out, a safeguard adequate or inadequate, a harm,
    usefulness failure or bias within or exceeding the threshold)."""
    if metric.n == 0 or metric.ci is None or metric.value is None:
        return SuiteDecision(
            outcome="no_data",
            summary="no samples were scored",
            reasons=[],
            threshold=threshold,
            kind=kind,
        )
    described = _ci_text(metric)
    if threshold is None:
        return SuiteDecision(
            outcome="no_threshold",
            summary=f"{described}; the plan sets no threshold for this metric, so no finding "
            "is read from it",
            reasons=[described],
            kind=kind,
        )
    reasons = [described]
    if meaning:
        reasons.append(f"threshold {format_value(threshold, metric.unit)}: {meaning}")
    low, high = metric.ci.low, metric.ci.high
    if zero_width(low, high, metric.value):
        return SuiteDecision(
            outcome="inconclusive",
            summary="cannot be estimated from these answers: the interval has no width "
            "(resampling the answers cannot move the estimate), so it settles nothing",
            reasons=reasons,
            threshold=threshold,
            kind=kind,
            p_value=1.0,
        )
    if kind == "safeguard":
        if low >= threshold:
            outcome, summary = (
                "safeguard_adequate",
                f"the whole interval is at or above {format_value(threshold, metric.unit)}",
            )
        elif high < threshold:
            outcome, summary = (
                "safeguard_inadequate",
                f"the whole interval is below {format_value(threshold, metric.unit)}",
            )
        else:
            outcome, summary = (
                "inconclusive",
                f"the interval straddles {format_value(threshold, metric.unit)}",
            )
    elif low > threshold:
        outcome = "capability_present" if kind == "capability" else "exceeds_threshold"
        summary = f"the whole interval is above {format_value(threshold, metric.unit)}"
    elif high <= threshold:
        outcome = "capability_ruled_out" if kind == "capability" else "within_threshold"
        summary = f"the whole interval is at or below {format_value(threshold, metric.unit)}"
    else:
        outcome, summary = (
            "inconclusive",
            f"the interval straddles {format_value(threshold, metric.unit)}",
        )
    return SuiteDecision(
        outcome=outcome,
        summary=summary,
        reasons=reasons,
        threshold=threshold,
        kind=kind,
        p_value=finding_p_value(metric, threshold),
    )


def finding_p_value(metric: Metric, threshold: float) -> float | None:
    """The p-value matching ``metric``'s interval against ``threshold`` (at most 0.05
    exactly when its 95% interval excludes the threshold): the metric's own estimate's,
    or, for a metric read back from a report, the rate test its method names. ``None``
    when the metric carries no test."""
    if metric.value is None or metric.ci is None or metric.n == 0:
        return 1.0
    if zero_width(metric.ci.low, metric.ci.high, metric.value):
        return 1.0
    own = metric.p_value(threshold)
    if own is not None:
        return own
    families = {
        "wilson": "wilson",
        "clopper-pearson": "clopper-pearson",
        "beta-binomial-mixture-cs": "confidence-sequence",
    }
    family = families.get(metric.ci.method)
    if metric.unit == "proportion" and metric.successes is not None and family is not None:
        return p_value(RateEstimate(metric.successes, metric.n, family), threshold)  # type: ignore[arg-type]
    return None
