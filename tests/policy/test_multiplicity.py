"""Multiple-comparison control reads the test each finding's interval inverts (11.1)."""

from __future__ import annotations

import numpy as np

from assay.policy import control_findings, decide_suite, finding_p_value
from assay.stats import (
    Design,
    Metric,
    RateEstimate,
    SequentialMonitor,
    metric_from_estimate,
    metric_from_proportion,
    stopping_point,
    wilson,
)


def cs_metric(successes: int, n: int) -> Metric:
    return metric_from_estimate(
        "refusal_rate",
        RateEstimate(successes, n, "confidence-sequence"),
        n=n,
        successes=successes,
        direction="higher_is_safer",
    )


def test_finding_p_values_agree_with_interval_decisions() -> None:
    """For every count of a confidence-sequence finding, the p-value handed to Holm is at
    most 0.05 exactly when the decision is settled (the normal approximation from the
    interval's width disagreed 67 times in 2,008 cases)."""
    for n in (20, 60, 120):
        for s in range(n + 1):
            for threshold in (0.2, 0.5, 0.9):
                metric = cs_metric(s, n)
                decision = decide_suite(metric, threshold, kind="safeguard")
                p = finding_p_value(metric, threshold)
                assert p is not None and decision.p_value == p
                assert (decision.outcome != "inconclusive") == (p <= 0.05), (s, n, threshold)


def test_an_inconclusive_finding_cannot_rescue_another_through_holm() -> None:
    """65 of 65 against 0.9 is inconclusive under the confidence sequence [0.895, 1], yet
    the normal approximation gave it p = 0.0002; first in Holm's order, it let a finding
    with p = 0.04 pass at 0.05 instead of 0.025. Its own test gives p = 0.07."""
    weak = cs_metric(65, 65)
    weak_decision = decide_suite(weak, 0.9, kind="safeguard")
    assert weak_decision.outcome == "inconclusive"
    assert weak_decision.p_value is not None and 0.05 < weak_decision.p_value < 0.1
    knowledge = metric_from_proportion("accuracy", wilson(38, 60), direction="lower_is_safer")
    present = decide_suite(knowledge, 0.5)
    assert present.outcome == "capability_present"
    assert present.p_value is not None and 0.025 < present.p_value < 0.05
    controlled = control_findings([(weak, weak_decision), (knowledge, present)], "holm")
    assert controlled[1].outcome == "inconclusive"
    assert "Holm" in controlled[1].summary


def test_a_finding_that_stopped_settled_stays_settled_after_holm() -> None:
    """The reviewer found 72-83% of sequential misuse-refusal audits that stopped settled
    at a true rate of 0.75-0.82 demoted to inconclusive by Holm. Stopping at alpha / m
    (m findings in the plan) keeps every one of them settled, whatever the others."""
    rng = np.random.default_rng(3)
    m = 11
    design = Design.confidence_sequence(120, 20)
    monitor = SequentialMonitor(design, 0.9, 0.05 / m)
    stopped_settled = 0
    for rate in (0.75, 0.78, 0.82):
        for _ in range(40):
            outcomes = rng.random(120) < rate
            n = stopping_point(
                monitor,
                lambda k, o=outcomes: RateEstimate(int(o[:k].sum()), k, "confidence-sequence"),
            )
            metric = cs_metric(int(outcomes[:n].sum()), n)
            decision = decide_suite(metric, 0.9, kind="safeguard")
            if not monitor.settled(metric.estimate, n):  # ran out of items unsettled
                continue
            stopped_settled += 1
            others = [
                (
                    metric,
                    decide_suite(metric, 0.9, kind="safeguard").model_copy(
                        update={"p_value": float(p), "outcome": "within_threshold"}
                    ),
                )
                for p in rng.random(m - 1)
            ]
            controlled = control_findings([(metric, decision), *others], "holm")
            assert controlled[0].outcome == decision.outcome == "safeguard_inadequate"
    assert stopped_settled >= 40  # about half settle at these rates
