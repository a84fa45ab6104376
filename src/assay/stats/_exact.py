"""Exact binomial methods: the Clopper-Pearson interval and one-sided binomial tests."""

from __future__ import annotations

import math
from typing import Literal

from assay.stats._intervals import Proportion


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")


def clopper_pearson(successes: int, n: int, level: float = 0.95) -> Proportion:
    """Clopper-Pearson (1934) "exact" interval from beta quantiles: its coverage is at
    least ``level`` for every true rate, at the price of being wider than Wilson."""
    from scipy.stats import beta

    _check_counts(successes, n)
    _check_level(level)
    if n == 0:
        return Proportion(0, 0, 0.0, 1.0, level=level, method="clopper-pearson")
    tail = (1 - level) / 2
    low = 0.0 if successes == 0 else float(beta.ppf(tail, successes, n - successes + 1))
    high = 1.0 if successes == n else float(beta.ppf(1 - tail, successes + 1, n - successes))
    return Proportion(successes, n, low, high, level=level, method="clopper-pearson")


def binomial_p_value(
    successes: int,
    n: int,
    threshold: float,
    alternative: Literal["greater", "less"] = "greater",
) -> float:
    """Exact one-sided binomial p-value against a threshold rate.

    ``"greater"`` tests H0: rate <= threshold against rate > threshold, i.e.
    P(X >= successes | threshold); ``"less"`` tests H0: rate >= threshold, i.e.
    P(X <= successes | threshold). With no data the p-value is 1.
    """
    from scipy.stats import binomtest

    _check_counts(successes, n)
    if not (0 <= threshold <= 1) or math.isnan(threshold):
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    if alternative not in ("greater", "less"):
        raise ValueError(f"alternative must be 'greater' or 'less', got {alternative!r}")
    if n == 0:
        return 1.0
    return float(binomtest(successes, n, threshold, alternative=alternative).pvalue)
