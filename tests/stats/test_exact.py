"""Clopper-Pearson intervals and exact binomial p-values; Wilson and Clopper-Pearson
coverage, computed exactly over a grid and checked again by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from assay.stats import binomial_p_value, clopper_pearson, wilson


def test_known_values() -> None:
    # 8/10 at 95%: (0.4439, 0.9748), the classic exact interval
    p = clopper_pearson(8, 10)
    assert p.low == pytest.approx(0.44390, abs=1e-5)
    assert p.high == pytest.approx(0.97479, abs=1e-5)
    assert p.method == "clopper-pearson" and p.value == 0.8
    # 0/10: the upper bound solves (1 - u)^10 = 0.025
    zero = clopper_pearson(0, 10)
    assert zero.low == 0.0
    assert zero.high == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-12)
    full = clopper_pearson(10, 10, level=0.9)
    assert full.high == 1.0 and full.low == pytest.approx(0.05 ** (1 / 10), rel=1e-12)


def test_edges_and_invalid_input() -> None:
    empty = clopper_pearson(0, 0)
    assert (empty.low, empty.high, empty.n) == (0.0, 1.0, 0)
    for successes, n in [(5, 3), (-1, 3), (0, -1)]:
        with pytest.raises(ValueError, match="successes"):
            clopper_pearson(successes, n)
    with pytest.raises(ValueError, match="level"):
        clopper_pearson(1, 3, level=1.0)


def test_wider_than_wilson_inside() -> None:
    # (at 0 and n Wilson is the wider one: there the exact interval spends only alpha/2)
    for n in (10, 40, 200):
        for k in range(1, n):
            exact, score = clopper_pearson(k, n), wilson(k, n)
            assert exact.high - exact.low > score.high - score.low


def test_binomial_p_value_known_values() -> None:
    # P(X >= 8 | n=10, 1/2) = (45 + 10 + 1) / 1024
    assert binomial_p_value(8, 10, 0.5) == pytest.approx(56 / 1024, rel=1e-12)
    assert binomial_p_value(2, 10, 0.5, alternative="less") == pytest.approx(56 / 1024, rel=1e-12)
    assert binomial_p_value(0, 10, 0.5) == pytest.approx(1.0)
    assert binomial_p_value(0, 0, 0.5) == 1.0
    with pytest.raises(ValueError, match="alternative"):
        binomial_p_value(1, 2, 0.5, alternative="two-sided")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threshold"):
        binomial_p_value(1, 2, 1.5)


def test_p_value_agrees_with_clopper_pearson() -> None:
    # The exact interval inverts the one-sided tests: its lower bound lies above t exactly
    # when the "greater" p-value at t is below (1 - level) / 2, and symmetrically.
    mismatches = 0
    for n in (1, 7, 30, 91):
        for t in (0.05, 0.3, 0.5, 0.77, 0.95):
            for k in range(n + 1):
                interval = clopper_pearson(k, n)
                greater = binomial_p_value(k, n, t, "greater")
                less = binomial_p_value(k, n, t, "less")
                mismatches += (interval.low > t) != (greater < 0.025)
                mismatches += (interval.high < t) != (less < 0.025)
    assert mismatches == 0


def _exact_coverage(
    interval: str, n: int, rates: np.ndarray
) -> np.ndarray:  # the chance the interval covers p, summed over all outcomes
    function = wilson if interval == "wilson" else clopper_pearson
    bounds = [function(k, n) for k in range(n + 1)]
    low = np.array([b.low for b in bounds])
    high = np.array([b.high for b in bounds])
    counts = np.arange(n + 1)
    return np.array([binom.pmf(counts, n, p)[(low <= p) & (p <= high)].sum() for p in rates])


RATES = np.linspace(0.1, 0.9, 81)


@pytest.mark.parametrize("n", [20, 50, 100, 300])
def test_clopper_pearson_never_undercovers(n: int) -> None:
    coverage = _exact_coverage("clopper-pearson", n, RATES)
    assert coverage.min() >= 0.95 - 1e-9, coverage.min()  # measured min 0.9517-0.9586
    # ... and pays for it: on average it overcovers (measured mean 0.958-0.973)
    assert coverage.mean() > 0.955


@pytest.mark.parametrize("n", [100, 200, 500])
def test_wilson_coverage_is_close_to_nominal(n: int) -> None:
    coverage = _exact_coverage("wilson", n, RATES)
    # measured over p in [0.1, 0.9]: min 0.933-0.944, max 0.956-0.964, mean 0.949-0.950
    assert coverage.min() >= 0.93 and coverage.max() <= 0.97, (coverage.min(), coverage.max())
    assert coverage.mean() == pytest.approx(0.95, abs=0.003)


def test_coverage_by_simulation() -> None:
    rng = np.random.default_rng(20240611)
    draws = 4000
    mc_error = 3 * np.sqrt(0.95 * 0.05 / draws)  # three standard errors, ~0.010
    for n in (40, 150):
        cp = {k: clopper_pearson(k, n) for k in range(n + 1)}
        ws = {k: wilson(k, n) for k in range(n + 1)}
        for p in (0.15, 0.4, 0.5, 0.8):
            ks = rng.binomial(n, p, size=draws)
            covered_cp = np.mean([cp[int(k)].low <= p <= cp[int(k)].high for k in ks])
            covered_w = np.mean([ws[int(k)].low <= p <= ws[int(k)].high for k in ks])
            assert covered_cp >= 0.95 - mc_error, (n, p, covered_cp)
            assert 0.93 - mc_error <= covered_w <= 0.97 + mc_error, (n, p, covered_w)
