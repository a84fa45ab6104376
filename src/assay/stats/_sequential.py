"""Anytime-valid confidence sequences for a rate, and a sequential test built on them.

A fixed-``n`` interval is valid only if ``n`` was fixed in advance: looking at it after
every item and stopping when it excludes the threshold inflates the error rate far
beyond ``alpha``. A *confidence sequence* is valid uniformly over time, so it may be
watched continuously and the test stopped whenever the decision is settled.

Method: the beta-binomial (conjugate) mixture of likelihood ratios, after Robbins (1970,
"Statistical methods related to the law of the iterated logarithm", Ann. Math. Stat.
41:1397-1409) and Howard, Ramdas, McAuliffe & Sekhon (2021, "Time-uniform, nonparametric,
nonasymptotic confidence sequences", Ann. Stat. 49:1055-1080, the beta-binomial
mixture). For each candidate rate ``p``,

    M_n(p) = B(a + S_n, b + n - S_n) / B(a, b) / (p^S_n (1 - p)^(n - S_n))

is a nonnegative martingale with mean 1 when ``p`` is the true rate (a Beta(a, b)
mixture of likelihood ratios), so by Ville's inequality P(exists n: M_n(p) >= 1/alpha)
<= alpha. The set {p : M_n(p) < 1/alpha} is an interval (the log-likelihood is concave)
that contains the true rate at every ``n`` at once with probability >= 1 - alpha.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from assay.stats._intervals import Proportion

SequentialDecision = Literal["above", "below", "undecided"]
METHOD = "beta-binomial-mixture-cs"

FloatArray = NDArray[np.float64]


def _check_prior(prior: tuple[float, float]) -> None:
    if len(prior) != 2 or not all(math.isfinite(v) and v > 0 for v in prior):
        raise ValueError(f"prior must be two positive numbers (a, b), got {prior!r}")


def _check_alpha(alpha: float) -> None:
    if math.isnan(alpha) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def _log_likelihood(s: FloatArray, n: FloatArray, p: FloatArray) -> FloatArray:
    from scipy.special import xlog1py, xlogy

    return np.asarray(xlogy(s, p) + xlog1py(n - s, -p), dtype=np.float64)


def _cutoff(s: FloatArray, n: FloatArray, alpha: float, prior: tuple[float, float]) -> FloatArray:
    """The log-likelihood a rate must exceed to stay in the sequence."""
    from scipy.special import betaln

    a, b = prior
    return np.asarray(betaln(a + s, b + n - s) - betaln(a, b) + math.log(alpha), dtype=np.float64)


def _excluded(
    s: FloatArray, n: FloatArray, rate: float, alpha: float, prior: tuple[float, float]
) -> NDArray[np.bool_]:
    """Elementwise: is ``rate`` outside the sequence after ``s`` successes of ``n``
    (``M_n(rate) >= 1/alpha``)?"""
    p = np.full_like(s, rate)
    return np.asarray(_log_likelihood(s, n, p) <= _cutoff(s, n, alpha, prior))


def confidence_sequence_bounds(
    successes: ArrayLike,
    n: ArrayLike,
    alpha: float = 0.05,
    prior: tuple[float, float] = (1.0, 1.0),
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper bounds of the confidence sequence, elementwise over arrays of
    counts (e.g. every prefix of one stream of outcomes). Solved by bisection to
    floating-point resolution; each bound is a point inside the sequence."""
    _check_alpha(alpha)
    _check_prior(prior)
    s_raw, n_raw = np.broadcast_arrays(np.asarray(successes), np.asarray(n))
    if np.any(n_raw < 1) or np.any(s_raw < 0) or np.any(s_raw > n_raw):
        raise ValueError("need 0 <= successes <= n and n >= 1 for every element")
    s = s_raw.astype(np.float64)
    nf = n_raw.astype(np.float64)
    cutoff = _cutoff(s, nf, alpha, prior)
    centre = s / nf

    def solve(outside: FloatArray, inside: FloatArray) -> FloatArray:
        # Invariant: ``outside`` is excluded (or an edge), ``inside`` is included.
        for _ in range(1100):
            middle = (outside + inside) / 2
            moved = (middle != outside) & (middle != inside)
            if not moved.any():
                break
            keep = _log_likelihood(s, nf, middle) > cutoff
            inside = np.where(moved & keep, middle, inside)
            outside = np.where(moved & ~keep, middle, outside)
        return inside

    low = np.where(s > 0, solve(np.zeros_like(centre), centre.copy()), 0.0)
    high = np.where(s < nf, solve(np.ones_like(centre), centre.copy()), 1.0)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def confidence_sequence(
    successes: int,
    n: int,
    alpha: float = 0.05,
    prior: tuple[float, float] = (1.0, 1.0),
) -> Proportion:
    """Anytime-valid interval for a rate after ``successes`` of ``n``: with probability
    at least ``1 - alpha`` the true rate lies in it at every ``n`` simultaneously
    (beta-binomial mixture, Robbins 1970; Howard et al. 2021). Wider than a fixed-``n``
    interval: the price of being allowed to look after every item."""
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    _check_alpha(alpha)
    _check_prior(prior)
    if n == 0:
        return Proportion(0, 0, 0.0, 1.0, level=1 - alpha, method=METHOD)
    low, high = _scalar_bounds(successes, n, alpha, prior)
    return Proportion(successes, n, low, high, level=1 - alpha, method=METHOD)


def log_likelihood(successes: int, n: int, rate: float) -> float:
    """Binomial log-likelihood of ``rate`` (without the constant), in plain floats."""
    failures = n - successes
    return (successes * math.log(rate) if successes else 0.0) + (
        failures * math.log1p(-rate) if failures else 0.0
    )


def log_mixture(successes: int, n: int, prior: tuple[float, float] = (1.0, 1.0)) -> float:
    """Log marginal likelihood of the Beta(a, b) mixture (without the constant)."""
    from scipy.special import betaln

    a, b = prior
    return float(betaln(a + successes, b + n - successes) - betaln(a, b))


def _scalar_bounds(
    successes: int, n: int, alpha: float, prior: tuple[float, float]
) -> tuple[float, float]:
    """:func:`confidence_sequence_bounds` for one count, in plain floats (the same
    bisection to floating-point resolution, about fifty times faster than arrays)."""
    cutoff = log_mixture(successes, n, prior) + math.log(alpha)
    failures = n - successes

    def inside(p: float) -> bool:
        return log_likelihood(successes, n, p) > cutoff

    def solve(outside: float, within: float) -> float:
        for _ in range(1100):
            middle = (outside + within) / 2
            if middle in (outside, within):
                break
            if inside(middle):
                within = middle
            else:
                outside = middle
        return within

    centre = successes / n
    low = solve(0.0, centre) if successes > 0 else 0.0
    high = solve(1.0, centre) if failures > 0 else 1.0
    return low, high


class ConfidenceSequence:
    """A confidence sequence fed one outcome (or batch) at a time; :attr:`interval` is
    valid whenever it is read, however often."""

    def __init__(self, alpha: float = 0.05, prior: tuple[float, float] = (1.0, 1.0)) -> None:
        _check_alpha(alpha)
        _check_prior(prior)
        self.alpha = alpha
        self.prior = prior
        self.successes = 0
        self.n = 0

    def update(self, outcomes: Iterable[bool | int]) -> Proportion:
        """Add 0/1 outcomes and return the current interval."""
        values = _as_outcomes(outcomes)
        self.successes += int(values.sum())
        self.n += int(values.size)
        return self.interval

    def update_counts(self, successes: int, n: int) -> Proportion:
        """Add a batch given as counts and return the current interval."""
        if n < 0 or not 0 <= successes <= n:
            raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
        self.successes += successes
        self.n += n
        return self.interval

    @property
    def interval(self) -> Proportion:
        """The anytime-valid interval after everything seen so far."""
        return confidence_sequence(self.successes, self.n, self.alpha, self.prior)


def _as_outcomes(outcomes: Iterable[bool | int] | NDArray[Any]) -> NDArray[np.int64]:
    values = np.asarray(
        outcomes if isinstance(outcomes, np.ndarray) else list(outcomes), dtype=np.float64
    ).ravel()
    if values.size and not np.all((values == 0) | (values == 1)):
        raise ValueError("outcomes must be 0/1 (or booleans)")
    return values.astype(np.int64)


@dataclass(frozen=True)
class SequentialState:
    """Where a sequential test stands: its decision, the samples it used, and the
    anytime-valid interval the decision was read from."""

    decision: SequentialDecision
    n: int
    successes: int
    interval: Proportion
    threshold: float
    alpha: float
    stopped: bool
    method: str = METHOD

    @property
    def settled(self) -> bool:
        """Whether the interval lies wholly above or below the threshold."""
        return self.decision != "undecided"


class SequentialTest:
    """Is a rate above or below ``threshold``? Consumes outcomes until the confidence
    sequence (beta-binomial mixture, see module docs) lies wholly on one side.

    The decision is ``"above"`` when the sequence's lower bound exceeds the threshold,
    ``"below"`` when its upper bound is under it, never from a point estimate. Because
    the sequence is valid uniformly over time, the chance of a wrong decision is at
    most ``alpha`` at every true rate, however the stream is watched. No decision is
    taken before ``min_n`` samples; at ``max_n`` the test stops ``"undecided"``
    (truncation costs power, never validity). Observations after the test has stopped
    are ignored. Unlike a truncated SPRT it needs no indifference zone and its error
    bound holds for every true rate, not only at two design points.
    """

    def __init__(
        self,
        threshold: float,
        alpha: float = 0.05,
        max_n: int = 1000,
        min_n: int = 1,
        prior: tuple[float, float] = (1.0, 1.0),
    ) -> None:
        if math.isnan(threshold) or not 0 < threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        _check_alpha(alpha)
        _check_prior(prior)
        if min_n < 1 or max_n < min_n:
            raise ValueError(f"need 1 <= min_n <= max_n, got min_n={min_n}, max_n={max_n}")
        self.threshold = threshold
        self.alpha = alpha
        self.max_n = max_n
        self.min_n = min_n
        self.prior = prior
        self._successes = 0
        self._n = 0
        self._decision: SequentialDecision = "undecided"

    @property
    def stopped(self) -> bool:
        """Settled, or out of budget."""
        return self._decision != "undecided" or self._n >= self.max_n

    @property
    def state(self) -> SequentialState:
        """The current decision and the interval behind it."""
        return SequentialState(
            decision=self._decision,
            n=self._n,
            successes=self._successes,
            interval=confidence_sequence(self._successes, self._n, self.alpha, self.prior),
            threshold=self.threshold,
            alpha=self.alpha,
            stopped=self.stopped,
        )

    def _side(self, successes: int, n: int) -> SequentialDecision:
        return "above" if successes > self.threshold * n else "below"

    def observe(self, outcome: bool | int) -> SequentialState:
        """Consume one 0/1 outcome."""
        return self.observe_many([outcome])

    def observe_many(self, outcomes: Iterable[bool | int] | NDArray[Any]) -> SequentialState:
        """Consume 0/1 outcomes in order, checking after each one; stops at the first
        settled decision (the remaining outcomes are not used)."""
        values = _as_outcomes(outcomes)
        if self.stopped or values.size == 0:
            return self.state
        values = values[: self.max_n - self._n]
        s = self._successes + np.cumsum(values).astype(np.float64)
        n = self._n + np.arange(1, values.size + 1, dtype=np.float64)
        decisive = _excluded(s, n, self.threshold, self.alpha, self.prior) & (n >= self.min_n)
        hits = np.flatnonzero(decisive)
        used = int(hits[0]) + 1 if hits.size else int(values.size)
        self._successes = int(s[used - 1])
        self._n = int(n[used - 1])
        if hits.size:
            self._decision = self._side(self._successes, self._n)
        return self.state

    def observe_counts(self, successes: int, n: int) -> SequentialState:
        """Consume a batch given only as counts; the decision is checked at the end of
        the batch (valid, since the sequence holds at every ``n``)."""
        if n < 0 or not 0 <= successes <= n:
            raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
        if self.stopped or n == 0:
            return self.state
        if self._n + n > self.max_n:
            raise ValueError(
                f"batch of {n} would exceed max_n={self.max_n} (used {self._n}); "
                "send individual outcomes to stop at the budget"
            )
        self._successes += successes
        self._n += n
        if self._n >= self.min_n and bool(
            _excluded(
                np.array([float(self._successes)]),
                np.array([float(self._n)]),
                self.threshold,
                self.alpha,
                self.prior,
            )[0]
        ):
            self._decision = self._side(self._successes, self._n)
        return self.state
