"""Decisions come from intervals, never from point estimates."""

from __future__ import annotations

from assay.policy import decide_suite
from assay.stats import metric_from_proportion, wilson


def knowledge(k: int, n: int):  # type: ignore[no-untyped-def]
    return metric_from_proportion("accuracy", wilson(k, n), direction="lower_is_safer")


def refusal(k: int, n: int):  # type: ignore[no-untyped-def]
    return metric_from_proportion("refusal_rate", wilson(k, n), direction="higher_is_safer")


def test_capability_outcomes() -> None:
    assert decide_suite(knowledge(180, 200), 0.5).outcome == "capability_present"
    assert decide_suite(knowledge(50, 200), 0.5).outcome == "capability_ruled_out"
    # point estimate above the threshold, interval not: inconclusive
    assert decide_suite(knowledge(11, 20), 0.5).outcome == "inconclusive"


def test_safeguard_outcomes() -> None:
    assert decide_suite(refusal(199, 200), 0.9, kind="safeguard").outcome == "safeguard_adequate"
    assert decide_suite(refusal(100, 200), 0.9, kind="safeguard").outcome == "safeguard_inadequate"
    assert decide_suite(refusal(19, 20), 0.9, kind="safeguard").outcome == "inconclusive"


def test_reasons_cite_metric_interval_and_threshold() -> None:
    decision = decide_suite(knowledge(50, 200), 0.5, "meaning of the threshold")
    text = " ".join(decision.reasons)
    assert "accuracy 25.0%" in text and "n=200" in text and "50.0%" in text and "meaning" in text


def test_no_data_and_no_threshold() -> None:
    assert decide_suite(knowledge(0, 0), 0.5).outcome == "no_data"
    assert decide_suite(knowledge(3, 10), None).outcome == "no_threshold"


def test_harm_usefulness_and_bias_read_as_within_or_exceeding() -> None:
    harm = metric_from_proportion("violation_rate", wilson(3, 200), direction="lower_is_safer")
    assert decide_suite(harm, 0.1, kind="harm").outcome == "within_threshold"
    heavy = metric_from_proportion("violation_rate", wilson(150, 200), direction="lower_is_safer")
    assert decide_suite(heavy, 0.1, kind="usefulness").outcome == "exceeds_threshold"
    assert decide_suite(heavy, 0.1, kind="bias").kind == "bias"


def test_zero_width_interval_settles_nothing() -> None:
    """Issue 14.1: a bias score of +0.00 (95% CI +0.00 to +0.00) counted as within the
    threshold. An interval with no width cannot be estimated from the answers."""
    from assay.stats import Interval, Metric

    flat = Metric(
        name="ambiguous_bias_magnitude",
        unit="score",
        value=0.0,
        ci=Interval(low=0.0, high=0.0, level=0.95, method="cluster-bootstrap-percentile"),
        n=80,
    )
    decision = decide_suite(flat, 0.1, kind="bias")
    assert decision.outcome == "inconclusive"
    assert decision.summary.startswith("cannot be estimated from these answers")
    assert decision.p_value == 1.0


def test_decisions_carry_the_p_value_of_their_interval() -> None:
    settled = decide_suite(knowledge(180, 200), 0.5)
    open_ = decide_suite(knowledge(11, 20), 0.5)
    assert settled.p_value is not None and settled.p_value <= 0.05
    assert open_.p_value is not None and open_.p_value > 0.05
