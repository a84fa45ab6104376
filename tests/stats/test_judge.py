"""Judge-error correction: the Rogan-Gladen estimate, the Lang-Reiczigel interval, and
its coverage of the true rate behind a simulated imperfect judge."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.stats import CorrectedRate, corrected_rate, metric_from_corrected, wilson


def test_point_estimate_is_rogan_gladen() -> None:
    # judge positive rate 0.41, sensitivity 0.8, specificity 0.95
    r = corrected_rate(41, 100, (80, 100), (95, 100))
    assert r.value == pytest.approx((0.41 + 0.95 - 1) / (0.8 + 0.95 - 1))
    assert (r.observed, r.sensitivity, r.specificity) == (0.41, 0.8, 0.95)
    assert r.method == "lang-reiczigel" and r.level == 0.95
    assert r.low < r.value < r.high


def test_estimate_is_clipped_to_unit_interval() -> None:
    # fewer positives than the false-positive rate (0.1) alone would produce
    below = corrected_rate(8, 100, (90, 100), (90, 100))
    assert below.value == 0.0 and below.low == 0.0 and below.high > 0.02 and below.fits
    above = corrected_rate(100, 100, (80, 100), (99, 100))
    assert above.value == 1.0 and above.high == 1.0 and above.low < 1


def test_data_contradicting_the_judge_give_no_decision() -> None:
    # 2% positives from a judge validated at a 10% false-positive rate: the judge is
    # not behaving as validated; a degenerate [0, 0] would be a confident wrong answer.
    r = corrected_rate(2, 100, (90, 100), (90, 100))
    assert not r.fits and (r.low, r.high) == (0.0, 1.0) and r.value == 0.0
    assert "inconsistent" in metric_from_corrected("rate", r).description


def test_mirror_symmetry() -> None:
    # Counting negatives instead of positives swaps sensitivity and specificity and must
    # mirror the whole interval; a wrong sign in the bias-correcting shift breaks this.
    r = corrected_rate(130, 400, (70, 90), (180, 200))
    m = corrected_rate(270, 400, (180, 200), (70, 90))
    assert m.value == pytest.approx(1 - r.value, abs=1e-12)
    assert m.low == pytest.approx(1 - r.high, abs=1e-12)
    assert m.high == pytest.approx(1 - r.low, abs=1e-12)


def test_uncertain_judge_widens_the_interval() -> None:
    small = corrected_rate(120, 400, (40, 50), (45, 50))
    large = corrected_rate(120, 400, (4000, 5000), (4500, 5000))
    assert small.value == pytest.approx(large.value)
    assert small.high - small.low > 1.3 * (large.high - large.low)
    # with a near-perfect, well-measured judge the correction is almost the identity
    perfect = corrected_rate(120, 400, (100_000, 100_000), (100_000, 100_000))
    plain = wilson(120, 400)
    assert perfect.value == pytest.approx(0.3)
    assert perfect.low == pytest.approx(plain.low, abs=0.002)
    assert perfect.high == pytest.approx(plain.high, abs=0.002)


def test_judge_no_better_than_chance_is_rejected() -> None:
    with pytest.raises(ValueError, match="no better than chance"):
        corrected_rate(50, 100, (50, 100), (50, 100))
    with pytest.raises(ValueError, match="no better than chance"):
        corrected_rate(50, 100, (30, 100), (60, 100))
    # barely above chance on raw counts, but not once the tiny set is accounted for
    with pytest.raises(ValueError, match="too small"):
        corrected_rate(50, 100, (1, 1), (100, 1000))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((5, 3, (8, 10), (9, 10)), "positives"),
        ((0, 0, (8, 10), (9, 10)), "positives"),
        ((1, 3, (11, 10), (9, 10)), "sensitivity_counts"),
        ((1, 3, (8, 10), (0, 0)), "specificity_counts"),
        ((1, 3, (8, 10, 1), (9, 10)), "sensitivity_counts"),
    ],
)
def test_invalid_input(args: tuple[object, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        corrected_rate(*args)  # type: ignore[arg-type]


def test_metric_carries_the_correction() -> None:
    r = corrected_rate(41, 100, (80, 100), (95, 100))
    metric = metric_from_corrected("refusal rate", r, direction="higher_is_safer")
    assert metric.value == r.value and metric.n == 100 and metric.successes is None
    assert metric.ci is not None and metric.ci.method == "lang-reiczigel"
    assert (metric.ci.low, metric.ci.high) == (r.low, r.high)
    assert "sensitivity 0.800" in metric.description


# (true rate, sensitivity, specificity, items, labelled positives, labelled negatives)
SETTINGS = [
    (0.5, 0.79, 0.97, 400, 150, 150),  # a refusal judge that misses 21% of refusals
    (0.1, 0.90, 0.95, 300, 100, 200),
    (0.3, 0.85, 0.90, 200, 100, 100),
    (0.05, 0.95, 0.98, 500, 100, 300),
    (0.8, 0.70, 0.95, 150, 80, 80),
    (0.02, 0.90, 0.99, 1000, 200, 500),
]


def _simulate(
    setting: tuple[float, float, float, int, int, int], reps: int, seed: int
) -> tuple[float, float]:
    """Coverage of the true rate by the corrected interval and by a plain Wilson
    interval on the judge's labels."""
    p, se, sp, n, n_se, n_sp = setting
    rng = np.random.default_rng(seed)
    judged_rate = p * se + (1 - p) * (1 - sp)
    positives = rng.binomial(n, judged_rate, reps)
    true_pos = rng.binomial(n_se, se, reps)
    true_neg = rng.binomial(n_sp, sp, reps)
    corrected = raw = 0
    for x, a, b in zip(positives, true_pos, true_neg, strict=True):
        r: CorrectedRate = corrected_rate(int(x), n, (int(a), n_se), (int(b), n_sp))
        corrected += r.low <= p <= r.high
        w = wilson(int(x), n)
        raw += w.low <= p <= w.high
    return corrected / reps, raw / reps


def test_corrected_interval_covers_the_true_rate() -> None:
    reps = 2000
    tolerance = 3 * np.sqrt(0.95 * 0.05 / reps)  # ~0.015
    results = [_simulate(s, reps, seed) for seed, s in enumerate(SETTINGS)]
    for setting, (coverage, _) in zip(SETTINGS, results, strict=True):
        # measured 0.952-0.967
        assert coverage >= 0.95 - tolerance, (setting, coverage)
        assert coverage <= 0.985, (setting, coverage)  # not uselessly wide either
    # The uncorrected interval is wrong where the judge's errors bias the rate:
    # measured 0.04 (missed refusals) and 0.0 (low sensitivity at a high rate).
    raw = {s[:3]: r for s, (_, r) in zip(SETTINGS, results, strict=True)}
    assert raw[(0.5, 0.79, 0.97)] < 0.2
    assert raw[(0.8, 0.70, 0.95)] < 0.05
    assert np.mean([r for _, r in results]) < 0.7


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(
    n=st.integers(1, 2000),
    share=st.floats(0, 1),
    n_se=st.integers(1, 500),
    se=st.floats(0, 1),
    n_sp=st.integers(1, 500),
    sp=st.floats(0, 1),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_interval_is_well_formed(
    n: int, share: float, n_se: int, se: float, n_sp: int, sp: float, level: float
) -> None:
    counts = (round(share * n), n, (round(se * n_se), n_se), (round(sp * n_sp), n_sp))
    try:
        r = corrected_rate(*counts, level=level)
    except ValueError as error:
        assert "chance" in str(error)
        return
    assert 0 <= r.low <= r.high <= 1 and 0 <= r.value <= 1
    if r.fits and min(n, n_se, n_sp) >= 10:
        # the interval and the Rogan-Gladen estimate tell the same story (with fewer than
        # about ten items in a sample the adjusted-Wald shift can move the interval off
        # the estimate: n = 1 with a perfect judge gives 1.0 against [0, 0.95])
        assert r.low <= r.value + 0.02 and r.value - 0.02 <= r.high
        # higher confidence, wider interval (below ~10 items in one of the three
        # samples the adjusted-Wald shift can break this: see docs/methodology.md)
        wider = corrected_rate(*counts, level=min(0.999, level + 0.009))
        assert wider.low <= r.low + 1e-12 and wider.high >= r.high - 1e-12
