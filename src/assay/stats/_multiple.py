"""Multiple-comparison control: Holm (family-wise error) and Benjamini-Hochberg (FDR).

Holm is a few lines of sorting and is written out here; statsmodels' ``multipletests``
gives the same numbers (the tests check) but runs a full garbage collection on every
Holm call, which is slow inside a large process. BH adjusted p-values come from
``scipy.stats.false_discovery_control``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class MultipleTests:
    """Adjusted p-values and rejections for a family of tests, in the input order."""

    p_values: tuple[float, ...]
    adjusted: tuple[float, ...]
    rejected: tuple[bool, ...]
    alpha: float
    method: str

    @property
    def rejections(self) -> int:
        """How many hypotheses are rejected."""
        return sum(self.rejected)


def _validate(p_values: Sequence[float], alpha: float) -> NDArray[np.float64]:
    if math.isnan(alpha) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    values = np.array([float(p) for p in p_values], dtype=np.float64)
    bad = values[np.isnan(values) | (values < 0) | (values > 1)]
    if bad.size:
        raise ValueError(f"p-values must be in [0, 1], got {float(bad[0])}")
    return values


def _result(
    values: NDArray[np.float64],
    order: NDArray[np.intp],
    adjusted_sorted: NDArray[np.float64],
    rejected_sorted: NDArray[np.bool_],
    alpha: float,
    method: str,
) -> MultipleTests:
    adjusted = np.empty_like(values)
    adjusted[order] = np.minimum(adjusted_sorted, 1.0)
    rejected = np.empty(values.size, dtype=bool)
    rejected[order] = rejected_sorted
    return MultipleTests(
        p_values=tuple(float(v) for v in values),
        adjusted=tuple(float(a) for a in adjusted),
        rejected=tuple(bool(r) for r in rejected),
        alpha=alpha,
        method=method,
    )


def holm(p_values: Sequence[float], alpha: float = 0.05) -> MultipleTests:
    """Holm's (1979) step-down procedure: controls the family-wise error rate (the
    chance of any false rejection) at ``alpha`` under any dependence between tests."""
    values = _validate(p_values, alpha)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    # step down from the smallest p-value: p_(i) against alpha / (m - i + 1)
    factors = np.arange(values.size, 0, -1, dtype=np.float64)
    rejected = np.logical_and.accumulate(ordered <= alpha / factors)
    adjusted = np.maximum.accumulate(ordered * factors) if values.size else ordered
    return _result(values, order, adjusted, rejected, alpha, "holm")


def benjamini_hochberg(p_values: Sequence[float], alpha: float = 0.05) -> MultipleTests:
    """Benjamini & Hochberg's (1995) step-up procedure: controls the false discovery
    rate (the expected share of false rejections among rejections) at ``alpha`` for
    independent or positively dependent tests."""
    from scipy.stats import false_discovery_control

    values = _validate(p_values, alpha)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    m = values.size
    # step up: reject the k smallest, k the largest i with p_(i) <= i * alpha / m
    passing = np.flatnonzero(ordered <= np.arange(1, m + 1) * alpha / max(m, 1))
    rejected = np.arange(m) <= (passing[-1] if passing.size else -1)
    adjusted = np.asarray(false_discovery_control(ordered, method="bh")) if m else ordered
    return _result(values, order, adjusted, rejected, alpha, "benjamini-hochberg")
