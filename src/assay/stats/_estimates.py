"""Estimates that carry their own test: an interval family and the p-values it inverts.

A finding is read from an interval ("the whole interval lies above the threshold"),
and multiple-comparison control reads p-values. The two must never disagree, so every
estimate here defines both from one family of nested intervals (the contract is
:class:`assay.stats.Estimate`):

    p_above(t) <= alpha  exactly when  interval(alpha) lies wholly above t
    p_below(t) <= alpha  exactly when  interval(alpha) lies wholly below t

and the two-sided ``p_value(t)`` is the smaller of the two: the smallest ``alpha`` at
which the interval excludes ``t``. Each p-value is a valid test of its own at every
level (the score test behind Wilson, the exact binomial test behind Clopper-Pearson,
the mixture martingale behind a confidence sequence, ...), so Holm or
Benjamini-Hochberg may use them at ``alpha / m``.

Longer than most modules: each estimate family implements the same contract (an
interval and the p-values it inverts); kept together so they stay consistent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from assay.stats._exact import clopper_pearson
from assay.stats._intervals import Proportion, wilson
from assay.stats._judge import CorrectedRate, corrected_rate
from assay.stats._metric import Direction, Interval, Metric
from assay.stats._paired import paired_difference
from assay.stats._sequential import confidence_sequence, log_likelihood, log_mixture

RateMethod = Literal["wilson", "clopper-pearson", "confidence-sequence"]
CS_METHOD = "beta-binomial-mixture-cs"


def _clip_p(p: float) -> float:
    return float(min(1.0, max(0.0, p)))


# ---- rates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RateEstimate:
    """``successes`` of ``n`` with a Wilson, Clopper-Pearson or anytime-valid interval."""

    successes: int
    n: int
    family: RateMethod = "wilson"
    prior: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self) -> None:
        if self.n < 0 or not 0 <= self.successes <= max(self.n, 0):
            raise ValueError(f"need 0 <= successes <= n, got {self.successes} of {self.n}")

    @property
    def value(self) -> float | None:
        return self.successes / self.n if self.n else None

    @property
    def method(self) -> str:
        return CS_METHOD if self.family == "confidence-sequence" else self.family

    def interval(self, alpha: float) -> tuple[float, float]:
        if self.family == "wilson":
            p = wilson(self.successes, self.n, 1 - alpha)
        elif self.family == "clopper-pearson":
            p = clopper_pearson(self.successes, self.n, 1 - alpha)
        else:
            p = confidence_sequence(self.successes, self.n, alpha, self.prior)
        return p.low, p.high

    def _one_sided(self, threshold: float, above: bool) -> float:
        from scipy.stats import binom, norm

        if self.n == 0 or not 0 < threshold < 1:
            return 1.0
        rate = self.successes / self.n
        if (rate <= threshold) if above else (rate >= threshold):
            return 1.0  # the interval always holds its estimate
        if self.family == "wilson":
            z = (rate - threshold) / math.sqrt(threshold * (1 - threshold) / self.n)
            return _clip_p(2 * norm.sf(abs(z)))
        if self.family == "clopper-pearson":
            tail = (
                binom.sf(self.successes - 1, self.n, threshold)
                if above
                else binom.cdf(self.successes, self.n, threshold)
            )
            return _clip_p(2 * tail)
        return cs_p_value(self.successes, self.n, threshold, self.prior)

    def p_above(self, threshold: float) -> float:
        return self._one_sided(threshold, True)

    def p_below(self, threshold: float) -> float:
        return self._one_sided(threshold, False)


def metric_from_proportion(
    name: str,
    proportion: Proportion,
    *,
    direction: Direction = "neutral",
    description: str = "",
) -> Metric:
    """A rate metric with its interval (and the test the interval inverts)."""
    family = {"wilson": "wilson", "clopper-pearson": "clopper-pearson"}.get(proportion.method)
    metric = Metric(
        name=name,
        value=proportion.value if proportion.n else None,
        ci=Interval(
            low=proportion.low,
            high=proportion.high,
            level=proportion.level,
            method=proportion.method,
        )
        if proportion.n
        else None,
        n=proportion.n,
        successes=proportion.successes,
        direction=direction,
        description=description,
    )
    if family is not None and abs(proportion.level - 0.95) < 1e-12:
        metric._estimate = RateEstimate(proportion.successes, proportion.n, family)  # type: ignore[arg-type]
    return metric


def cs_log_martingale(
    successes: int, n: int, rate: float, prior: tuple[float, float] = (1.0, 1.0)
) -> float:
    """log M_n(rate): the beta-binomial mixture against ``rate`` after ``successes`` of
    ``n`` (see :mod:`assay.stats._sequential`); computed as the confidence sequence's
    bounds are, so the two agree to the last bit."""
    return log_mixture(successes, n, prior) - log_likelihood(successes, n, rate)


def cs_p_value(
    successes: int, n: int, threshold: float, prior: tuple[float, float] = (1.0, 1.0)
) -> float:
    """Anytime-valid p-value ``min(1, 1 / M_n(threshold))`` of the mixture martingale: by
    Ville's inequality (and optional stopping) it is at most ``alpha`` with probability
    at most ``alpha`` at any stopping time, and it is at most ``alpha`` exactly when the
    confidence sequence at ``alpha`` excludes ``threshold``."""
    if n == 0:
        return 1.0
    log_m = cs_log_martingale(successes, n, threshold, prior)
    return _clip_p(math.exp(-log_m)) if log_m < 700 else 0.0


# ---- inverting any nested family --------------------------------------------------------


def invert(excludes: Callable[[float], bool], lowest: float = 1e-15) -> float:
    """The smallest ``alpha`` at which a nested interval family excludes a value, given
    ``excludes(alpha)`` (monotone: once excluded, excluded at every larger ``alpha``).
    Bisection on log-alpha to about 1e-12 relative."""
    if not excludes(1 - 1e-12):
        return 1.0
    if excludes(lowest):
        return lowest
    low, high = math.log(lowest), math.log(1 - 1e-12)
    for _ in range(200):
        middle = (low + high) / 2
        if excludes(math.exp(middle)):
            high = middle
        else:
            low = middle
        if high - low < 1e-13:
            break
    return math.exp(high)


# ---- judge-corrected rates --------------------------------------------------------------


@dataclass(frozen=True)
class CorrectedRateEstimate:
    """A rate measured through a judge, corrected for the judge's sensitivity and
    specificity (measured on a labelled set) with their uncertainty.

    Fixed-size designs use the adjusted Wald interval of Lang & Reiczigel (2014). With
    ``anytime=True`` (confidence-sequence designs) the interval is valid at every ``n``:
    a confidence sequence for the judge-observed rate at ``alpha / 2`` and Clopper-Pearson
    intervals for sensitivity and specificity at ``alpha / 4`` each (they do not change
    as items arrive), projected through the Rogan-Gladen correction (a ratio of linear
    functions, so its extremes over the box are at its corners).
    """

    positives: int
    n: int
    sensitivity_counts: tuple[int, int]
    specificity_counts: tuple[int, int]
    anytime: bool = False

    @property
    def value(self) -> float | None:
        if self.n == 0:
            return None
        return corrected_rate(
            self.positives, self.n, self.sensitivity_counts, self.specificity_counts
        ).value

    @property
    def method(self) -> str:
        return "judge-corrected-cs-box" if self.anytime else "lang-reiczigel"

    @property
    def void(self) -> bool:
        """The judge's rate here contradicts its validation (see
        :attr:`assay.stats.CorrectedRate.fits`): the 95% interval is [0, 1] and nothing
        is read from it."""
        return self.n > 0 and not self.anytime and not self._raw(0.05).fits

    def _raw(self, alpha: float) -> CorrectedRate:
        return corrected_rate(
            self.positives,
            self.n,
            self.sensitivity_counts,
            self.specificity_counts,
            level=1 - alpha,
        )

    def interval(self, alpha: float) -> tuple[float, float]:
        if self.n == 0 or self.void:
            return 0.0, 1.0
        if not self.anytime:
            # the adjusted Wald interval clipped to [0, 1] (a bound beyond 1 at a low
            # level is evidence for a rate at the top, not against the judge)
            rate = self._raw(alpha)
            low, high = rate.centre - rate.half_width, rate.centre + rate.half_width
            return min(1.0, max(0.0, low)), min(1.0, max(0.0, high))
        observed = confidence_sequence(self.positives, self.n, alpha / 2)
        q_low, q_high = observed.low, observed.high
        se = clopper_pearson(*self.sensitivity_counts, level=1 - alpha / 4)
        sp = clopper_pearson(*self.specificity_counts, level=1 - alpha / 4)
        values = []
        for q in (q_low, q_high):
            for s in (se.low, se.high):
                for f in (1 - sp.high, 1 - sp.low):
                    if s - f <= 0:
                        return 0.0, 1.0  # the judge may be no better than chance here
                    values.append((q - f) / (s - f))
        low, high = min(values), max(values)
        return min(1.0, max(0.0, low)), min(1.0, max(0.0, high))

    def _excludes(self, threshold: float, above: bool) -> Callable[[float], bool]:
        def excludes(alpha: float) -> bool:
            low, high = self.interval(alpha)
            return low > threshold if above else high < threshold

        return excludes

    def p_above(self, threshold: float) -> float:
        return invert(self._excludes(threshold, True)) if self.n and not self.void else 1.0

    def p_below(self, threshold: float) -> float:
        return invert(self._excludes(threshold, False)) if self.n and not self.void else 1.0


# ---- normal (Wald) estimates -----------------------------------------------------------


@dataclass(frozen=True)
class NormalEstimate:
    """A signed estimate with a standard error: ``estimate ± q · se``, ``q`` a normal
    quantile or, with ``df``, Student's t (cluster-robust errors with few clusters)."""

    estimate: float
    se: float
    df: int | None = None
    label: str = "wald"

    @property
    def value(self) -> float | None:
        return self.estimate

    @property
    def method(self) -> str:
        return self.label

    def _quantile(self, alpha: float) -> float:
        from scipy.stats import norm
        from scipy.stats import t as t_dist

        q = norm.isf(alpha / 2) if self.df is None else t_dist.isf(alpha / 2, self.df)
        return float(q)

    def _tail(self, z: float) -> float:
        from scipy.stats import norm
        from scipy.stats import t as t_dist

        return float(norm.sf(z) if self.df is None else t_dist.sf(z, self.df))

    def interval(self, alpha: float) -> tuple[float, float]:
        half = self._quantile(alpha) * self.se
        return self.estimate - half, self.estimate + half

    def p_above(self, threshold: float) -> float:
        if self.se <= 0 or not math.isfinite(self.se) or self.estimate <= threshold:
            return 1.0
        return _clip_p(2 * self._tail((self.estimate - threshold) / self.se))

    def p_below(self, threshold: float) -> float:
        if self.se <= 0 or not math.isfinite(self.se) or self.estimate >= threshold:
            return 1.0
        return _clip_p(2 * self._tail((threshold - self.estimate) / self.se))


# ---- bootstrap --------------------------------------------------------------------------


@dataclass(frozen=True)
class BootstrapEstimate:
    """A percentile bootstrap interval and its test. With ``B`` replicates and
    ``k = ceil(alpha B / 2)``, the interval is the ``k``-th smallest to the ``k``-th
    largest replicate; it lies above ``t`` exactly when fewer than ``k`` replicates are
    at or below ``t``, so ``p_above(t) = 2 (#{x <= t} + 1) / B`` (exact at every
    ``alpha`` with ``alpha B / 2`` whole, e.g. 0.05 with 2000 replicates; conservative
    in between)."""

    estimate: float
    replicates: tuple[float, ...]
    label: str = "cluster-bootstrap-percentile"
    _sorted: NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = np.sort(np.asarray(self.replicates, dtype=np.float64))
        object.__setattr__(self, "_sorted", values[np.isfinite(values)])

    @property
    def value(self) -> float | None:
        return self.estimate

    @property
    def method(self) -> str:
        return self.label

    @property
    def degenerate(self) -> bool:
        """No replicate differs from another: resampling cannot move the statistic."""
        values = self._sorted
        return values.size < 2 or bool(values[-1] - values[0] <= 1e-12)

    def interval(self, alpha: float) -> tuple[float, float]:
        values = self._sorted
        if values.size == 0:
            return -math.inf, math.inf
        k = max(1, math.ceil(alpha * values.size / 2 - 1e-9))
        return float(values[k - 1]), float(values[values.size - k])

    def p_above(self, threshold: float) -> float:
        values = self._sorted
        if values.size == 0:
            return 1.0
        at_or_below = int(np.searchsorted(values, threshold, side="right"))
        return _clip_p(2 * (at_or_below + 1) / values.size)

    def p_below(self, threshold: float) -> float:
        values = self._sorted
        if values.size == 0:
            return 1.0
        at_or_above = values.size - int(np.searchsorted(values, threshold, side="left"))
        return _clip_p(2 * (at_or_above + 1) / values.size)


# ---- paired differences -----------------------------------------------------------------


@dataclass(frozen=True)
class PairedDifferenceEstimate:
    """``p1 - p2`` for paired 0/1 outcomes with Newcombe's (1998) interval; its tests are
    found by inverting the interval family."""

    both: int
    only_first: int
    only_second: int
    neither: int

    @property
    def n(self) -> int:
        return self.both + self.only_first + self.only_second + self.neither

    @property
    def value(self) -> float | None:
        return (self.only_first - self.only_second) / self.n if self.n else None

    @property
    def method(self) -> str:
        return "newcombe-paired"

    def interval(self, alpha: float) -> tuple[float, float]:
        d = paired_difference(
            self.both, self.only_first, self.only_second, self.neither, level=1 - alpha
        )
        return d.low, d.high

    def p_above(self, threshold: float) -> float:
        if not self.n:
            return 1.0
        return invert(lambda alpha: self.interval(alpha)[0] > threshold)

    def p_below(self, threshold: float) -> float:
        if not self.n:
            return 1.0
        return invert(lambda alpha: self.interval(alpha)[1] < threshold)


def zero_width(low: float, high: float, value: float | None = None) -> bool:
    """An interval with no width: resampling or refitting cannot move the statistic, so
    it says nothing about uncertainty and must not settle a finding."""
    scale = max(1.0, abs(value or 0.0), abs(low), abs(high))
    return high - low <= 1e-12 * scale


__all__ = [
    "CS_METHOD",
    "BootstrapEstimate",
    "CorrectedRateEstimate",
    "NormalEstimate",
    "PairedDifferenceEstimate",
    "RateEstimate",
    "RateMethod",
    "cs_log_martingale",
    "cs_p_value",
    "invert",
    "metric_from_proportion",
    "zero_width",
]
