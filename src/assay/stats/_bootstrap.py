"""Percentile bootstrap over clusters, for statistics with no closed-form interval."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class BootstrapInterval:
    estimate: float
    low: float
    high: float
    resamples: int
    level: float = 0.95
    method: str = "cluster-bootstrap-percentile"


def cluster_bootstrap(
    clusters: Sequence[Sequence[T]],
    statistic: Callable[[list[T]], float],
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> BootstrapInterval:
    """Resample whole clusters (items that share a scenario move together) with
    replacement and take percentiles of ``statistic`` over the pooled items."""
    if not clusters:
        raise ValueError("no clusters to resample")
    rng = np.random.default_rng(seed)
    pooled = [item for cluster in clusters for item in cluster]
    estimate = statistic(pooled)
    values = []
    for _ in range(resamples):
        picks = rng.integers(0, len(clusters), size=len(clusters))
        sample = [item for i in picks for item in clusters[i]]
        value = statistic(sample)
        if np.isfinite(value):
            values.append(value)
    if not values:
        return BootstrapInterval(estimate, float("nan"), float("nan"), 0, level)
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return BootstrapInterval(
        estimate=estimate, low=float(low), high=float(high), resamples=len(values), level=level
    )
