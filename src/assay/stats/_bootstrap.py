"""Percentile bootstrap over clusters, for statistics with no closed-form interval."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from assay.stats._estimates import BootstrapEstimate

T = TypeVar("T")


def cluster_bootstrap(
    clusters: Sequence[Sequence[T]],
    statistic: Callable[[list[T]], float],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> BootstrapEstimate:
    """Resample whole clusters (items that share a scenario move together) with
    replacement and evaluate ``statistic`` on the pooled items of each resample. The
    result's percentile intervals and their matching tests are
    :class:`BootstrapEstimate`'s; a statistic that no resample can move is
    :attr:`~BootstrapEstimate.degenerate`. Seeded: the same data give the same
    replicates on every machine."""
    if not clusters:
        raise ValueError("no clusters to resample")
    rng = np.random.default_rng(seed)
    pooled = [item for cluster in clusters for item in cluster]
    estimate = statistic(pooled)
    values = []
    for _ in range(resamples):
        picks = rng.integers(0, len(clusters), size=len(clusters))
        sample = [item for i in picks for item in clusters[i]]
        values.append(statistic(sample))
    return BootstrapEstimate(estimate=float(estimate), replicates=tuple(float(v) for v in values))
