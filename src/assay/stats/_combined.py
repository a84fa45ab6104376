"""Estimates built from other estimates: the worst of several, a magnitude, an interval
widened for items a model did not attempt. Each keeps the contract of
:mod:`assay.stats._estimates`: its p-values are at most ``alpha`` exactly when its
``1 - alpha`` interval excludes the threshold on that side."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from assay.stats._estimates import RateEstimate, RateMethod, _clip_p
from assay.stats._metric import Estimate


@dataclass(frozen=True)
class WidenedEstimate:
    """An interval whose lower bound comes from one family and upper bound from another:
    e.g. a rate among the items a model attempted (lower) and the same rate with every
    non-attempt counted against the model (upper), so that items it did not attempt can
    never hide the capability."""

    lower: Estimate
    upper: Estimate
    label: str = ""

    @property
    def value(self) -> float | None:
        return self.lower.value

    @property
    def method(self) -> str:
        return self.label or f"{self.lower.method}, widened for non-attempts"

    def interval(self, alpha: float) -> tuple[float, float]:
        return self.lower.interval(alpha)[0], self.upper.interval(alpha)[1]

    def p_above(self, threshold: float) -> float:
        return self.lower.p_above(threshold)

    def p_below(self, threshold: float) -> float:
        return self.upper.p_below(threshold)


@dataclass(frozen=True)
class MaxEstimate:
    """The largest of several estimates (``folded``: of their absolute values), e.g. the
    worst of twelve jailbreak transformations or the largest group effect.

    Its interval covers the true maximum with probability ``1 - alpha``: the lower bound
    is the largest lower bound of the components' ``1 - alpha / k`` intervals (Bonferroni:
    "some component exceeds" is a union over ``k`` components), the upper bound the
    largest upper bound of their ``1 - alpha`` intervals ("every component is below" is
    an intersection, which needs no correction: Berger 1982). So "exceeds the threshold"
    holds for the strongest component with the selection accounted for, and "within the
    threshold" holds for every component at once.
    """

    components: tuple[tuple[str, Estimate], ...]
    folded: bool = False

    @property
    def k(self) -> int:
        return len(self.components)

    def _magnitude(self, e: Estimate) -> float:
        v = e.value
        return -math.inf if v is None else (abs(v) if self.folded else v)

    @property
    def value(self) -> float | None:
        values = [self._magnitude(e) for _, e in self.components if e.value is not None]
        return max(values) if values else None

    @property
    def argmax(self) -> str | None:
        best = max(self.components, key=lambda c: self._magnitude(c[1]), default=None)
        return None if best is None else best[0]

    @property
    def method(self) -> str:
        kind = "absolute values" if self.folded else "estimates"
        return f"largest of {self.k} {kind}, Bonferroni lower bound"

    def interval(self, alpha: float) -> tuple[float, float]:
        lows, highs = [], []
        for _, e in self.components:
            l_sim, h_sim = e.interval(alpha / self.k)
            l_one, h_one = e.interval(alpha)
            if self.folded:
                lows.append(l_sim if l_sim > 0 else -h_sim if h_sim < 0 else 0.0)
                highs.append(max(abs(l_one), abs(h_one)))
            else:
                lows.append(l_sim)
                highs.append(h_one)
        return max(lows), max(highs)

    def p_above(self, threshold: float) -> float:
        best = 1.0
        for _, e in self.components:
            p = e.p_above(threshold)
            if self.folded:
                p = min(p, e.p_below(-threshold))
            best = min(best, self.k * p)
        return _clip_p(best)

    def p_below(self, threshold: float) -> float:
        worst = 0.0
        for _, e in self.components:
            p = e.p_below(threshold)
            if self.folded:
                p = max(p, e.p_above(-threshold))
            worst = max(worst, p)
        return _clip_p(worst) if self.components else 1.0


def folded(estimate: Estimate) -> MaxEstimate:
    """The absolute value of one signed estimate (e.g. a refusal asymmetry), decided on
    its magnitude: "within" needs the whole signed interval inside (-t, t)."""
    return MaxEstimate((("", estimate),), folded=True)


def rate_components(
    counts: Sequence[tuple[str, int, int]], family: RateMethod = "wilson"
) -> tuple[tuple[str, Estimate], ...]:
    """``(name, successes, n)`` as named rate estimates (for :class:`MaxEstimate`)."""
    return tuple((name, RateEstimate(s, n, family)) for name, s, n in counts if n > 0)


__all__ = ["MaxEstimate", "WidenedEstimate", "folded", "rate_components"]
