"""Multiple-comparison control across a plan's findings.

A plan tests many thresholds at once; at 95% each, one in twenty clean suites would
be flagged by chance alone. Every suite with a threshold contributes one test: the
hypothesis its finding would reject (for "capability present", that the metric is at
or below the threshold). Its p-value is the test the finding's own interval inverts
(the score test behind Wilson, the exact test behind Clopper-Pearson, the mixture
martingale behind a confidence sequence, the repeated p-value of a group-sequential
design, the bootstrap or regression test of other metrics), carried in the decision,
so "the interval excludes the threshold" and "p <= 0.05" never disagree. Holm's
step-down procedure (family-wise error) or Benjamini-Hochberg (false discovery rate)
then decides which findings stand; the rest become inconclusive, with the adjusted
p-value as the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from assay.policy._decide import finding_p_value
from assay.policy._model import SuiteDecision
from assay.stats import Metric, benjamini_hochberg, holm

Method = Literal["holm", "benjamini-hochberg", "none"]
_UNDECIDED = ("inconclusive", "no_data", "no_threshold")
_METHOD_NAME = {"holm": "Holm", "benjamini-hochberg": "Benjamini-Hochberg"}


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
    p_values = [_p_value(*findings[i]) for i in tested]
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


def _p_value(metric: Metric, decision: SuiteDecision) -> float:
    if decision.p_value is not None:
        return decision.p_value
    if decision.outcome in _UNDECIDED:
        return 1.0
    p = finding_p_value(metric, decision.threshold or 0.0)
    if p is None:
        raise ValueError(
            f"finding on {metric.name} has no test matching its interval "
            f"({metric.ci.method if metric.ci else 'no interval'}); it cannot be controlled"
        )
    return p


__all__ = ["control_findings", "finding_p_value"]
