"""Group-sequential designs with error spending (Lan & DeMets 1983).

A group-sequential test looks at the data a few times (at planned fractions of the
sample) and stops at the first look whose statistic crosses that look's boundary.
The boundaries spend the error rate ``alpha`` over the looks through a spending
function; O'Brien-Fleming-type spending, ``alpha(t) = 2 - 2 Phi(z_{1-alpha/2} / sqrt(t))``,
spends almost nothing early, so the final look is nearly the fixed-size test and the
design loses little power against a fixed sample while still stopping early when the
effect is large. Pocock-type spending, ``alpha log(1 + (e - 1) t)``, spends evenly.
Two-sided designs spend ``alpha / 2`` on each side, as gsDesign and rpact do, so the
O'Brien-Fleming-type function per side is ``2 - 2 Phi(z_{1-alpha/4} / sqrt(t))``.

Boundaries come from the canonical joint distribution of the look statistics (a
Brownian motion in information time), by recursive numerical integration on a grid
(Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000, chapter 19), Simpson's
rule on each look's continuation region. The tests check them against published
tables and against a Monte Carlo simulation.

At look ``k`` the test rejects when the suite's own fixed-size test would reject at
the *nominal* level ``alpha_k = 2 (1 - Phi(c_k))``, so the repeated confidence interval
(Jennison & Turnbull 1989) is the suite's ordinary interval at that level, and the
repeated p-value (the smallest overall ``alpha`` whose boundary the statistic crosses
at look ``k``) is the matching test.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Spending = Literal["obrien-fleming", "pocock"]
FloatArray = NDArray[np.float64]
_GRID = 301  # Simpson points per look (odd)
_SQRT_2PI = math.sqrt(2 * math.pi)


def spent(t: float, alpha: float, spending: Spending = "obrien-fleming") -> float:
    """Error spent by information fraction ``t`` (two-sided, total ``alpha`` at t = 1,
    half on each side)."""
    from scipy.special import ndtr, ndtri

    if t <= 0:
        return 0.0
    t = min(t, 1.0)
    if spending == "obrien-fleming":
        return float(2 * (2 - 2 * ndtr(ndtri(1 - alpha / 4) / math.sqrt(t))))
    if spending == "pocock":
        return float(alpha * math.log(1 + (math.e - 1) * t))
    raise ValueError(f"unknown spending function {spending!r}")


def _simpson(points: int, low: float, high: float) -> tuple[FloatArray, FloatArray]:
    grid = np.linspace(low, high, points)
    weights = np.ones(points)
    weights[1:-1:2] = 4
    weights[2:-1:2] = 2
    return grid, weights * (high - low) / (3 * (points - 1))


@lru_cache(maxsize=4096)
def _boundaries(
    fractions: tuple[float, ...], alpha: float, spending: Spending
) -> tuple[float, ...]:
    from scipy.optimize import brentq
    from scipy.special import ndtr

    critical: list[float] = []
    density: FloatArray | None = None  # of S_k = Z_k sqrt(t_k) on the continuation region
    grid = weights = np.zeros(0)
    previous_t, previous_spent = 0.0, 0.0
    for t in fractions:
        target = spent(t, alpha, spending) - previous_spent
        sd = math.sqrt(t - previous_t)
        prior = None if density is None else (grid, density * weights)

        def crossing(c: float, t: float = t, sd: float = sd, prior: Any = prior) -> float:
            """Probability of crossing at this look, having continued until now."""
            if prior is None:
                return float(2 * ndtr(-c))
            points, mass = prior
            b = c * math.sqrt(t)
            return float(np.sum(mass * (ndtr((-b - points) / sd) + ndtr((points - b) / sd))))

        if target <= 0:
            c = math.inf
        elif crossing(40.0) >= target:
            c = 40.0
        else:
            c = float(brentq(lambda x, goal=target: crossing(x) - goal, 0.0, 40.0, xtol=1e-12))
        critical.append(c)
        b = min(c, 12.0) * math.sqrt(t)
        new_grid, new_weights = _simpson(_GRID, -b, b)
        if density is None:
            new_density = np.exp(-0.5 * (new_grid / sd) ** 2) / (sd * _SQRT_2PI)
        else:
            kernel = np.exp(-0.5 * ((new_grid[:, None] - grid[None, :]) / sd) ** 2) / (
                sd * _SQRT_2PI
            )
            new_density = kernel @ (density * weights)
        density, grid, weights = np.asarray(new_density), new_grid, new_weights
        previous_t, previous_spent = t, previous_spent + max(target, 0.0)
    return tuple(critical)


def boundaries(
    fractions: Sequence[float], alpha: float = 0.05, spending: Spending = "obrien-fleming"
) -> tuple[float, ...]:
    """Two-sided critical values ``c_k`` of |Z| at looks with information fractions
    ``fractions`` (increasing, the last one 1 for a planned maximum)."""
    values = tuple(float(f) for f in fractions)
    if not values or any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError(f"fractions must increase, got {values}")
    if values[0] <= 0 or values[-1] > 1 + 1e-12:
        raise ValueError(f"fractions must be in (0, 1], got {values}")
    if math.isnan(alpha) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return _boundaries(tuple(round(v, 12) for v in values), float(alpha), spending)


@dataclass(frozen=True)
class GroupSequentialDesign:
    """Looks at planned sample sizes ``looks`` (the last is the maximum), with error
    spent by ``spending``."""

    looks: tuple[int, ...]
    spending: Spending = "obrien-fleming"

    def __post_init__(self) -> None:
        if not self.looks or any(b <= a for a, b in itertools.pairwise(self.looks)):
            raise ValueError(f"looks must be increasing sample sizes, got {self.looks}")
        if self.looks[0] < 1:
            raise ValueError(f"looks must be positive, got {self.looks}")

    @classmethod
    def equally_spaced(
        cls, n_max: int, count: int, spending: Spending = "obrien-fleming"
    ) -> GroupSequentialDesign:
        """``count`` looks at equal steps up to ``n_max`` (fewer when ``n_max`` is small)."""
        sizes = sorted({max(1, round(n_max * (k + 1) / count)) for k in range(count)})
        return cls(tuple(sizes), spending)

    @property
    def fractions(self) -> tuple[float, ...]:
        return tuple(n / self.looks[-1] for n in self.looks)

    def look_index(self, n: int) -> int:
        """The look a sample of ``n`` belongs to (the last look at or below ``n``; a short
        final sample counts as the final look)."""
        index = max((i for i, size in enumerate(self.looks) if size <= n), default=0)
        return index

    def critical(self, alpha: float, look: int) -> float:
        return boundaries(self.fractions, alpha, self.spending)[look]

    def nominal_alpha(self, alpha: float, look: int) -> float:
        """The fixed-size level whose test equals the design's test at ``look``."""
        from scipy.special import ndtr

        c = self.critical(alpha, look)
        return 0.0 if math.isinf(c) else float(2 * ndtr(-c))

    def adjust(self, nominal_p: float, look: int) -> float:
        """The repeated p-value at ``look``: the smallest overall ``alpha`` at which the
        design rejects, given the fixed-size p-value ``nominal_p`` there, rounded up to
        the next node of a fine grid of levels (at most 8% above the exact value, so the
        p-value stays valid). 0.05 and 0.05/m for m up to 60 are nodes, so "p <= 0.05"
        agrees exactly with the 95% repeated interval, and a finding settled at 0.05/m
        keeps p <= 0.05/m for multiple-comparison control."""
        if nominal_p >= 1:
            return 1.0
        if nominal_p <= 0:
            return 0.0
        top = len(_NODES) - 1
        if _nominal_at(self.looks, self.spending, look, top) < nominal_p:
            return 1.0
        low, high = -1, top  # the node at ``high`` rejects; binary search for the first
        while high - low > 1:
            middle = (low + high) // 2
            if _nominal_at(self.looks, self.spending, look, middle) >= nominal_p:
                high = middle
            else:
                low = middle
        return float(_NODES[high])


# Overall levels the repeated p-value is rounded up to: fine log steps from 1e-12, with
# 0.05 / m (m = 1..60) among them.
_NODES = np.unique(np.concatenate([np.geomspace(1e-12, 0.999999, 240), 0.05 / np.arange(1, 61)]))


@lru_cache(maxsize=65536)
def _nominal_at(looks: tuple[int, ...], spending: Spending, look: int, index: int) -> float:
    return GroupSequentialDesign(looks, spending).nominal_alpha(float(_NODES[index]), look)


__all__ = ["GroupSequentialDesign", "Spending", "boundaries", "spent"]
