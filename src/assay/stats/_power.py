"""Power and sample size for decisions read from a confidence interval.

A decision against a threshold is settled when the two-sided interval (level
``1 - alpha``) lies strictly above or strictly below it. Because the interval's bounds
grow with the number of successes, for each ``n`` there is a smallest count whose
interval lies above the threshold and a largest whose interval lies below; the chance
of a settled decision is then an exact binomial tail sum, with no simulation and no
normal approximation. The counts agree, outcome by outcome, with :func:`wilson` and
:func:`clopper_pearson` (the tests check every count), so the answers hold for the
intervals used in reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

IntervalMethod = Literal["wilson", "clopper-pearson"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _check_method(method: str) -> None:
    if method not in ("wilson", "clopper-pearson"):
        raise ValueError(f"method must be 'wilson' or 'clopper-pearson', got {method!r}")


def _check_unit(name: str, value: float, *, closed: bool) -> None:
    ok = (0 <= value <= 1) if closed else (0 < value < 1)
    if math.isnan(value) or not ok:
        interval = "[0, 1]" if closed else "(0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {value}")


def _bounds(
    k: NDArray[Any], n: NDArray[Any], alpha: float, method: IntervalMethod
) -> tuple[FloatArray, FloatArray]:
    """Interval bounds for (possibly fractional) ``k`` successes of ``n``, elementwise,
    computed exactly as :func:`wilson` / :func:`clopper_pearson` compute them."""
    from scipy.stats import beta, norm

    k, n = np.broadcast_arrays(np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64))
    level = 1 - alpha
    if method == "wilson":
        z = float(norm.ppf(0.5 + level / 2))
        p = k / n
        denominator = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
        low = np.where(k <= 0, 0.0, np.maximum(0.0, centre - half))
        high = np.where(k >= n, 1.0, np.minimum(1.0, centre + half))
        return low, high
    tail = (1 - level) / 2
    inner_low = k > 0
    inner_high = k < n
    low = np.where(inner_low, beta.ppf(tail, np.where(inner_low, k, 1.0), n - k + 1), 0.0).astype(
        np.float64
    )
    high = np.where(
        inner_high, beta.ppf(1 - tail, k + 1, np.where(inner_high, n - k, 1.0)), 1.0
    ).astype(np.float64)
    return low, high


def _lies_above(
    k: IntArray, n: IntArray, threshold: float, alpha: float, method: IntervalMethod
) -> NDArray[np.bool_]:
    """Elementwise: does the interval for ``k`` of ``n`` lie strictly above ``threshold``?"""
    from scipy.stats import binom

    if method == "wilson":
        return np.asarray(_bounds(k, n, alpha, method)[0] > threshold)
    # Clopper-Pearson's lower bound is the rate at which P(X >= k) = alpha/2, so it lies
    # above t exactly when P(X >= k | t) < alpha/2 (a binomial tail, cheaper than a quantile).
    return np.asarray(binom.sf(k - 1, n, threshold) < alpha / 2)


def _lies_below(
    k: IntArray, n: IntArray, threshold: float, alpha: float, method: IntervalMethod
) -> NDArray[np.bool_]:
    """Elementwise: does the interval for ``k`` of ``n`` lie strictly below ``threshold``?"""
    from scipy.stats import binom

    if method == "wilson":
        return np.asarray(_bounds(k, n, alpha, method)[1] < threshold)
    return np.asarray(binom.cdf(k, n, threshold) < alpha / 2)


def _decisive_count(
    n: IntArray, threshold: float, alpha: float, method: IntervalMethod, side: Literal[1, -1]
) -> IntArray:
    """For each ``n``: with ``side=1`` the smallest count whose interval lies strictly
    above ``threshold`` (``n + 1`` if none); with ``side=-1`` the largest count whose
    interval lies strictly below it (``-1`` if none)."""
    from scipy.stats import norm

    nf = n.astype(np.float64)
    # First guess: Wilson inverts the score test (the interval excludes t from below
    # exactly when k/n - t > z·sqrt(t(1-t)/n)); for the exact interval, add the
    # Cornish-Fisher skewness term of the binomial quantile. Then step to the exact
    # boundary, which is where the interval functions themselves put it.
    z = float(norm.ppf(1 - alpha / 2))
    edge = nf * threshold + side * z * np.sqrt(nf * threshold * (1 - threshold))
    if method == "clopper-pearson":
        edge += (z * z - 1) * (1 - 2 * threshold) / 6
    if side == 1:
        k = np.clip(np.floor(edge).astype(np.int64) + 1, 1, n + 1)
        for _ in range(10_000):
            down = (k > 1) & _lies_above(k - 1, n, threshold, alpha, method)
            up = (k <= n) & ~_lies_above(np.minimum(k, n), n, threshold, alpha, method)
            if not (down.any() or up.any()):
                break
            k = k - down + up
        return k
    k = np.clip(np.ceil(edge).astype(np.int64) - 1, -1, n - 1)
    for _ in range(10_000):
        up = (k < n - 1) & _lies_below(k + 1, n, threshold, alpha, method)
        down = (k >= 0) & ~_lies_below(np.maximum(k, 0), n, threshold, alpha, method)
        if not (down.any() or up.any()):
            break
        k = k + up - down
    return k


def _power_array(
    n: IntArray, p_true: float, threshold: float, alpha: float, method: IntervalMethod
) -> FloatArray:
    from scipy.stats import binom

    if p_true > threshold:
        above = _decisive_count(n, threshold, alpha, method, 1)
        return np.asarray(binom.sf(above - 1, n, p_true), dtype=np.float64)
    below = _decisive_count(n, threshold, alpha, method, -1)
    return np.asarray(np.where(below >= 0, binom.cdf(below, n, p_true), 0.0), dtype=np.float64)


def _check_common(threshold: float, alpha: float, method: str) -> None:
    _check_unit("threshold", threshold, closed=False)
    _check_unit("alpha", alpha, closed=False)
    _check_method(method)


def power_to_decide(
    n: int,
    p_true: float,
    threshold: float,
    alpha: float = 0.05,
    method: IntervalMethod = "wilson",
) -> float:
    """Exact probability that ``n`` samples at true rate ``p_true`` give a two-sided
    ``1 - alpha`` interval lying strictly on the correct side of ``threshold``."""
    _check_common(threshold, alpha, method)
    _check_unit("p_true", p_true, closed=True)
    if p_true == threshold:
        raise ValueError("p_true equals the threshold: no decision is the correct one")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return float(_power_array(np.array([n], dtype=np.int64), p_true, threshold, alpha, method)[0])


def sample_size_to_decide(
    p_true: float,
    threshold: float,
    alpha: float = 0.05,
    power: float = 0.8,
    method: IntervalMethod = "wilson",
    max_n: int = 100_000,
) -> int | None:
    """Smallest ``n`` whose ``1 - alpha`` interval excludes ``threshold`` on the correct
    side with probability at least ``power`` when the true rate is ``p_true``.

    Exact: power is a binomial tail sum, evaluated for every ``n`` in turn (vectorised,
    in growing blocks). Power is not monotone in ``n`` for discrete data (a sawtooth),
    so a slightly larger ``n`` can fall a little short of ``power``. ``None`` when no
    ``n <= max_n`` reaches it.
    """
    _check_common(threshold, alpha, method)
    _check_unit("p_true", p_true, closed=True)
    _check_unit("power", power, closed=False)
    if p_true == threshold:
        raise ValueError("p_true equals the threshold: no sample size can settle it")
    if max_n < 1:
        raise ValueError(f"max_n must be >= 1, got {max_n}")
    start, size = 1, 256
    while start <= max_n:
        stop = min(max_n, start + size - 1)
        n = np.arange(start, stop + 1, dtype=np.int64)
        hits = np.flatnonzero(_power_array(n, p_true, threshold, alpha, method) >= power)
        if hits.size:
            return int(n[hits[0]])
        start, size = stop + 1, size * 2
    return None


@dataclass(frozen=True)
class DetectableEffect:
    """The rates nearest the threshold that ``n`` samples detect with the given power;
    ``None`` on a side where no outcome of ``n`` samples can settle the decision."""

    n: int
    threshold: float
    rate_above: float | None
    rate_below: float | None
    alpha: float = 0.05
    power: float = 0.8
    method: str = "wilson"

    @property
    def distance_above(self) -> float | None:
        """How far above the threshold the true rate must be."""
        return None if self.rate_above is None else self.rate_above - self.threshold

    @property
    def distance_below(self) -> float | None:
        """How far below the threshold the true rate must be."""
        return None if self.rate_below is None else self.threshold - self.rate_below


def minimum_detectable_effect(
    n: int,
    threshold: float,
    alpha: float = 0.05,
    power: float = 0.8,
    method: IntervalMethod = "wilson",
) -> DetectableEffect:
    """The smallest distance from ``threshold``, on each side, at which ``n`` samples
    settle the decision correctly with probability ``power``.

    Exact: with ``k`` the first count whose interval lies above the threshold, power
    is ``P(X >= k | p) = I_p(k, n - k + 1)``, so the rate is a beta quantile (and
    symmetrically below).
    """
    from scipy.stats import beta, binom

    _check_common(threshold, alpha, method)
    _check_unit("power", power, closed=False)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    sizes = np.array([n], dtype=np.int64)
    k_above = int(_decisive_count(sizes, threshold, alpha, method, 1)[0])
    k_below = int(_decisive_count(sizes, threshold, alpha, method, -1)[0])
    rate_above = rate_below = None
    if k_above <= n:
        rate = float(beta.ppf(power, k_above, n - k_above + 1))
        # the quantile can land an ulp short of the requested power: nudge outwards
        while rate < 1 and float(binom.sf(k_above - 1, n, rate)) < power:
            rate = float(np.nextafter(rate, 1.0))
        rate_above = rate
    if k_below >= 0:
        rate = float(beta.ppf(1 - power, k_below + 1, n - k_below))
        while rate > 0 and float(binom.cdf(k_below, n, rate)) < power:
            rate = float(np.nextafter(rate, 0.0))
        rate_below = rate
    return DetectableEffect(
        n=n,
        threshold=threshold,
        rate_above=rate_above,
        rate_below=rate_below,
        alpha=alpha,
        power=power,
        method=method,
    )


def samples_to_settle(
    successes: int,
    n: int,
    threshold: float,
    alpha: float = 0.05,
    method: IntervalMethod = "wilson",
    cap: int = 100_000,
) -> int | None:
    """About how many more samples, if the observed rate held, would make the
    ``1 - alpha`` interval exclude ``threshold`` (0 when it already does).

    A projection for planning, not a guarantee: the rate will move as data arrive (use
    :func:`sample_size_to_decide` for a figure with a stated power). ``None`` when
    there is no data, when the observed rate equals the threshold (it can never
    settle), or when more than ``cap`` extra samples would be needed.
    """
    _check_common(threshold, alpha, method)
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if cap < 0:
        raise ValueError(f"cap must be >= 0, got {cap}")
    if n == 0:
        return None
    rate = successes / n
    if rate == threshold:
        return None

    def settled(total: int) -> bool:
        low, high = _bounds(np.array([rate * total]), np.array([float(total)]), alpha, method)
        return bool(low[0] > threshold) if rate > threshold else bool(high[0] < threshold)

    if settled(n):
        return 0
    if not settled(n + cap):
        return None
    # The interval at a fixed rate narrows as the total grows: gallop, then bisect.
    low_extra, high_extra = 0, 1
    while not settled(n + high_extra):
        low_extra, high_extra = high_extra, min(2 * high_extra, cap)
    while high_extra - low_extra > 1:
        middle = (low_extra + high_extra) // 2
        if settled(n + middle):
            high_extra = middle
        else:
            low_extra = middle
    return high_extra
