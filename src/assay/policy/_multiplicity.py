"""Multiple-comparison control across a plan's findings.

A plan tests many thresholds at once; at 95% each, one in twenty clean suites would
be flagged by chance alone. Every suite with a threshold contributes one test: the
hypothesis its finding would reject (for "capability present", that the metric is at
or below the threshold). Its two-sided p-value is the score test that the Wilson
interval inverts, the exact binomial test that Clopper-Pearson inverts, or, for other
intervals (bootstrap, mixed model, confidence sequence), a normal approximation read
from the interval's width. Holm's step-down procedure (family-wise error) or
Benjamini-Hochberg (false discovery rate) then decides which findings stand; the rest
become inconclusive, with the adjusted p-value as the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from scipy.stats import norm

from assay.policy._model import SuiteDecision
from assay.stats import Metric, benjamini_hochberg, binomial_p_value, holm

Method = Literal["holm", "benjamini-hochberg", "none"]
_UNDECIDED = ("inconclusive", "no_data", "no_threshold")
_METHOD_NAME = {"holm": "Holm", "benjamini-hochberg": "Benjamini-Hochberg"}


def finding_p_value(metric: Metric, threshold: float) -> float:
    """Two-sided p-value of "the metric equals ``threshold``" matching the metric's interval."""
    if metric.value is None or metric.ci is None or metric.n == 0:
        return 1.0
    method = metric.ci.method
    if metric.unit == "proportion" and metric.successes is not None and 0 < threshold < 1:
        if method == "wilson":
            z = (metric.value - threshold) / math.sqrt(threshold * (1 - threshold) / metric.n)
            return float(min(1.0, 2 * norm.sf(abs(z))))
        if method == "clopper-pearson":
            if metric.value > threshold:
                one_sided = binomial_p_value(metric.successes, metric.n, threshold, "greater")
            else:
                one_sided = binomial_p_value(metric.successes, metric.n, threshold, "less")
            return min(1.0, 2 * one_sided)
    z_level = float(norm.ppf(0.5 + metric.ci.level / 2))
    se = (metric.ci.high - metric.ci.low) / (2 * z_level)
    if se <= 0:
        return 0.0 if metric.value != threshold else 1.0
    return float(min(1.0, 2 * norm.sf(abs(metric.value - threshold) / se)))


def control_findings(
    findings: Sequence[tuple[Metric, SuiteDecision]],
    method: Method,
    alpha: float = 0.05,
) -> list[SuiteDecision]:
    """The decisions after multiple-comparison control; findings that do not survive
    become inconclusive and say why."""
    tested = [i for i, (_, d) in enumerate(findings) if d.threshold is not None]
    decisions = [d for _, d in findings]
    if method == "none" or len(tested) < 2:
        return decisions
    p_values = [finding_p_value(findings[i][0], findings[i][1].threshold or 0.0) for i in tested]
    adjust = holm if method == "holm" else benjamini_hochberg
    result = adjust(p_values, alpha)
    name = _METHOD_NAME[method]
    for slot, i in enumerate(tested):
        decision = decisions[i]
        adjusted = result.adjusted[slot]
        if decision.outcome in _UNDECIDED or result.rejected[slot]:
            continue
        decisions[i] = decision.model_copy(
            update={
                "outcome": "inconclusive",
                "summary": f"{decision.summary}, but not after {name} correction "
                f"across {len(tested)} findings",
                "reasons": [
                    *decision.reasons,
                    f"{name}-adjusted p-value {adjusted:.3g} is not below {alpha:g} with "
                    f"{len(tested)} findings tested together (unadjusted "
                    f"{p_values[slot]:.3g}); the finding is not established",
                ],
            }
        )
    return decisions


__all__ = ["control_findings", "finding_p_value"]
