"""Differences between two rates measured on the same items (paired designs)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from assay.stats._intervals import wilson


@dataclass(frozen=True)
class PairedDifference:
    """``p1 - p2`` for paired binary outcomes, with a confidence interval."""

    difference: float
    low: float
    high: float
    n: int
    level: float = 0.95
    method: str = "newcombe-paired"


def paired_difference(
    both: int, only_first: int, only_second: int, neither: int, level: float = 0.95
) -> PairedDifference:
    """Newcombe's (1998, method 10) interval for the difference of two paired proportions,
    built from Wilson intervals; it stays inside [-1, 1] and behaves at 0 and n."""
    counts = (both, only_first, only_second, neither)
    if any(c < 0 for c in counts):
        raise ValueError(f"counts must be non-negative, got {counts}")
    n = sum(counts)
    if n == 0:
        return PairedDifference(difference=0.0, low=-1.0, high=1.0, n=0, level=level)
    a, b, c, d = counts
    p1, p2 = (a + b) / n, (a + c) / n
    first, second = wilson(a + b, n, level), wilson(a + c, n, level)
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    numerator = float(a * d - b * c)
    if numerator > 0:
        numerator = max(numerator - n / 2, 0.0)
    phi = numerator / math.sqrt(denominator) if denominator > 0 else 0.0
    lower_gap = math.sqrt(
        max(
            (p1 - first.low) ** 2
            - 2 * phi * (p1 - first.low) * (second.high - p2)
            + (second.high - p2) ** 2,
            0.0,
        )
    )
    upper_gap = math.sqrt(
        max(
            (first.high - p1) ** 2
            - 2 * phi * (first.high - p1) * (p2 - second.low)
            + (p2 - second.low) ** 2,
            0.0,
        )
    )
    difference = p1 - p2
    return PairedDifference(
        difference=difference,
        low=max(-1.0, difference - lower_gap),
        high=min(1.0, difference + upper_gap),
        n=n,
        level=level,
    )
