"""Power and sample size: exact sums checked against brute force over outcomes, and
sample sizes checked by direct simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom, norm

from assay.stats import (
    IntervalMethod,
    clopper_pearson,
    minimum_detectable_effect,
    power_to_decide,
    sample_size_to_decide,
    samples_to_settle,
    wilson,
)
from assay.stats._intervals import Proportion

METHODS = {"wilson": wilson, "clopper-pearson": clopper_pearson}


def _brute_power(n: int, p: float, t: float, method: IntervalMethod, alpha: float = 0.05) -> float:
    """Sum the binomial probabilities of every outcome whose interval (from the public
    interval function) lies on the correct side of the threshold."""
    interval = METHODS[method]
    total = 0.0
    for k in range(n + 1):
        ci: Proportion = interval(k, n, 1 - alpha)
        if (ci.low > t) if p > t else (ci.high < t):
            total += float(binom.pmf(k, n, p))
    return total


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_power_is_the_exact_sum_over_outcomes(method: IntervalMethod, alpha: float) -> None:
    for n in (1, 2, 9, 40, 77, 150):
        for t in (0.001, 0.03, 0.25, 0.5, 0.9, 0.995):
            for p in (0.0, 0.2, 0.45, 0.6, 0.97, 1.0):
                if p == t:
                    continue
                assert power_to_decide(n, p, t, alpha, method) == pytest.approx(
                    _brute_power(n, p, t, method, alpha), abs=1e-12
                ), (n, p, t)


@pytest.mark.parametrize(
    ("p_true", "threshold", "power", "method"),
    [
        (0.6, 0.5, 0.8, "wilson"),
        (0.3, 0.5, 0.9, "wilson"),
        (0.97, 0.9, 0.8, "wilson"),
        (0.6, 0.5, 0.8, "clopper-pearson"),
        (0.02, 0.1, 0.8, "clopper-pearson"),
    ],
)
def test_sample_size_verified_by_simulation(
    p_true: float, threshold: float, power: float, method: IntervalMethod
) -> None:
    n = sample_size_to_decide(p_true, threshold, power=power, method=method)
    assert n is not None
    # smallest: one fewer sample falls short
    assert power_to_decide(n - 1, p_true, threshold, method=method) < power
    # simulate the audit: draw n items, build the interval, read the decision
    rng = np.random.default_rng(99)
    draws = 3000
    interval = METHODS[method]
    cache = {k: interval(k, n) for k in range(n + 1)}
    ks = rng.binomial(n, p_true, size=draws)
    if p_true > threshold:
        settled = np.mean([cache[int(k)].low > threshold for k in ks])
    else:
        settled = np.mean([cache[int(k)].high < threshold for k in ks])
    exact = power_to_decide(n, p_true, threshold, method=method)
    assert settled == pytest.approx(exact, abs=3 * math.sqrt(exact * (1 - exact) / draws))
    assert settled >= power - 3 * math.sqrt(power * (1 - power) / draws)
    # and close to the normal approximation (z_a·sd0 + z_b·sd1)² / delta²
    z_a, z_b = norm.ppf(0.975), norm.ppf(power)
    sd0, sd1 = math.sqrt(threshold * (1 - threshold)), math.sqrt(p_true * (1 - p_true))
    approx = ((z_a * sd0 + z_b * sd1) / (p_true - threshold)) ** 2
    assert n == pytest.approx(approx, rel=0.25)


def test_sample_size_properties() -> None:
    wilson_n = sample_size_to_decide(0.6, 0.5)
    exact_n = sample_size_to_decide(0.6, 0.5, method="clopper-pearson")
    assert wilson_n == 187 and exact_n == 199  # the exact interval is more conservative
    # a larger effect, a looser alpha or lower power need fewer samples
    assert sample_size_to_decide(0.7, 0.5) < 187  # type: ignore[operator]
    assert sample_size_to_decide(0.6, 0.5, alpha=0.2) < 187  # type: ignore[operator]
    assert sample_size_to_decide(0.6, 0.5, power=0.5) < 187  # type: ignore[operator]
    # a perfect model against a 90% bar needs n / (n + z²) > 0.9
    assert sample_size_to_decide(1.0, 0.9) == math.floor(9 * norm.ppf(0.975) ** 2) + 1
    assert sample_size_to_decide(0.501, 0.5, max_n=10_000) is None
    with pytest.raises(ValueError, match="equals the threshold"):
        sample_size_to_decide(0.5, 0.5)
    with pytest.raises(ValueError, match="threshold"):
        sample_size_to_decide(0.5, 1.0)
    with pytest.raises(ValueError, match="method"):
        sample_size_to_decide(0.6, 0.5, method="wald")  # type: ignore[arg-type]


def test_sample_size_is_fast_for_small_effects() -> None:
    import time

    start = time.perf_counter()
    n = sample_size_to_decide(0.51, 0.5)
    assert n is not None and 19_000 < n < 20_500
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
def test_minimum_detectable_effect(method: IntervalMethod) -> None:
    for n, t in ((100, 0.5), (400, 0.9), (60, 0.1)):
        effect = minimum_detectable_effect(n, t, power=0.8, method=method)
        assert effect.rate_above is not None and effect.rate_below is not None
        above, below = effect.distance_above, effect.distance_below
        assert above is not None and below is not None and above > 0 and below > 0
        # exactly the requested power at those rates ...
        assert power_to_decide(n, effect.rate_above, t, method=method) == pytest.approx(0.8)
        assert power_to_decide(n, effect.rate_below, t, method=method) == pytest.approx(0.8)
        # ... so n is enough there, and more samples detect smaller effects
        assert sample_size_to_decide(effect.rate_above, t, method=method) <= n  # type: ignore[operator,unused-ignore]
        bigger = minimum_detectable_effect(4 * n, t, method=method)
        assert bigger.distance_above < above  # type: ignore[operator]
    # at n=100 around 0.5 about 0.14 on either side (normal approx 0.140)
    mde = minimum_detectable_effect(100, 0.5)
    assert mde.distance_above == pytest.approx(0.14, abs=0.015)
    # two samples can never put a Wilson interval above 0.5
    tiny = minimum_detectable_effect(2, 0.5)
    assert tiny.rate_above is None and tiny.distance_below is None


def test_samples_to_settle() -> None:
    # 11/20 = 55% against 50%: Wilson excludes 0.5 once N > z²·t(1-t)/(p - t)²
    z = norm.ppf(0.975)
    needed = math.floor(z * z * 0.25 / 0.05**2) + 1
    assert samples_to_settle(11, 20, 0.5) == needed - 20 == 365
    exact = samples_to_settle(11, 20, 0.5, method="clopper-pearson")
    assert exact is not None and exact > 365
    assert samples_to_settle(0, 30, 0.2) == 0  # already settled: 0/30 is below 20%
    # 1/15 observed against 20%: N > z²·0.16 / (0.2 - 1/15)² = 34.6, so 5 more
    assert samples_to_settle(2, 30, 0.2) == 5
    assert samples_to_settle(10, 20, 0.5) is None  # exactly at the threshold
    assert samples_to_settle(0, 0, 0.5) is None
    assert samples_to_settle(101, 200, 0.5, cap=1000) is None  # 50.5%: needs ~38k
    with pytest.raises(ValueError, match="successes"):
        samples_to_settle(3, 2, 0.5)
