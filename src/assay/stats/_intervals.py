"""Confidence intervals for proportions."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Proportion:
    """``successes`` out of ``n`` with a two-sided confidence interval."""

    successes: int
    n: int
    low: float
    high: float
    level: float = 0.95
    method: str = "wilson"

    @property
    def value(self) -> float:
        """The point estimate (``nan`` when there is no data)."""
        return self.successes / self.n if self.n else math.nan


def wilson(successes: int, n: int, level: float = 0.95) -> Proportion:
    """Wilson score interval: good coverage even for small ``n`` and rates near 0 or 1."""
    from scipy.stats import norm

    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n == 0:
        return Proportion(successes=0, n=0, low=0.0, high=1.0, level=level)
    z = float(norm.ppf(0.5 + level / 2))
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # Exact bounds at the edges (the formula can leave 1e-17 residue).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Proportion(successes=successes, n=n, low=low, high=high, level=level)
