"""Sampling designs for a rate suite, and the one stopping rule every audit uses.

* ``fixed``: score the planned sample, read the fixed-size interval (Wilson or
  Clopper-Pearson) once.
* ``group-sequential``: look at a few planned fractions of the sample; stop at the first
  look whose test rejects at its error-spending boundary (O'Brien-Fleming by default).
  The interval at a look is the fixed-size interval at the look's nominal level (a
  repeated confidence interval), its test the repeated p-value.
* ``confidence-sequence``: look after every batch; stop as soon as the anytime-valid
  confidence sequence excludes the threshold.

:class:`SequentialMonitor` is the stopping rule: the audit runner and the benchmarks
call it, so the error rates and savings reported for it are those of audits. A suite
stops when its finding is settled at the level the plan's multiplicity control will
demand (``alpha / m`` for ``m`` findings: Holm's, Bonferroni's and Benjamini-Hochberg's
first step), so a finding that stops settled stays settled after the control.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from assay.stats._estimates import RateEstimate, RateMethod
from assay.stats._group_sequential import GroupSequentialDesign, Spending
from assay.stats._metric import Estimate, p_value

DesignKind = Literal["fixed", "group-sequential", "confidence-sequence"]


@dataclass(frozen=True)
class DesignedEstimate:
    """An estimate read through a group-sequential design at one look: its interval at
    the look's nominal level, its p-values repeated p-values."""

    inner: Estimate
    design: GroupSequentialDesign
    look: int

    @property
    def value(self) -> float | None:
        return self.inner.value

    @property
    def method(self) -> str:
        return (
            f"{self.inner.method}, repeated interval at look {self.look + 1} of "
            f"{len(self.design.looks)} ({self.design.spending} spending)"
        )

    def interval(self, alpha: float) -> tuple[float, float]:
        nominal = self.design.nominal_alpha(alpha, self.look)
        if nominal <= 0:
            return -float("inf"), float("inf")
        return self.inner.interval(nominal)

    def p_above(self, threshold: float) -> float:
        return self.design.adjust(self.inner.p_above(threshold), self.look)

    def p_below(self, threshold: float) -> float:
        return self.design.adjust(self.inner.p_below(threshold), self.look)


@dataclass(frozen=True)
class Design:
    """How a rate suite samples: which sample sizes it looks at, and how it reads them."""

    kind: DesignKind
    looks: tuple[int, ...]
    spending: Spending = "obrien-fleming"
    min_n: int = 10

    @classmethod
    def fixed(cls, n_max: int) -> Design:
        return cls("fixed", (max(1, n_max),))

    @classmethod
    def group_sequential(
        cls, n_max: int, looks: int = 4, spending: Spending = "obrien-fleming", min_n: int = 10
    ) -> Design:
        """``looks`` equally spaced looks, the first at no fewer than ``min_n`` items."""
        sizes = GroupSequentialDesign.equally_spaced(n_max, looks, spending).looks
        kept = tuple(s for s in sizes if s >= min_n or s == n_max)
        return cls("group-sequential", kept or (n_max,), spending, min_n)

    @classmethod
    def confidence_sequence(cls, n_max: int, batch: int, min_n: int = 10) -> Design:
        """A look after every ``batch`` items (and at ``n_max``)."""
        sizes = sorted({*range(batch, n_max, batch), n_max})
        return cls("confidence-sequence", tuple(sizes), min_n=min_n)

    @property
    def n_max(self) -> int:
        return self.looks[-1]

    @property
    def sequential(self) -> bool:
        return self.kind != "fixed"

    @property
    def group(self) -> GroupSequentialDesign:
        return GroupSequentialDesign(self.looks, self.spending)

    def look_index(self, n: int) -> int:
        """The last look at or below ``n`` (a sample cut short by failures counts as the
        look it reached)."""
        return max((i for i, size in enumerate(self.looks) if size <= n), default=0)

    def next_look(self, n: int) -> int:
        """The sample size of the first look after ``n`` (``n_max`` when none is left)."""
        return next((size for size in self.looks if size > n), self.n_max)

    def read(self, estimate: Estimate, n: int) -> Estimate:
        """``estimate`` (of the first ``n`` items, already in this design's family) as the
        design reads it: group-sequential estimates through their look's boundaries."""
        if self.kind == "group-sequential" and len(self.looks) > 1:
            return DesignedEstimate(estimate, self.group, self.look_index(n))
        return estimate

    def describe(self) -> str:
        if self.kind == "fixed":
            return f"fixed size ({self.n_max} items)"
        if self.kind == "group-sequential":
            return (
                f"group-sequential, looks at {', '.join(map(str, self.looks))} items "
                f"({self.spending.replace('-', ' ')} error spending)"
            )
        return f"confidence sequence, a look every {self.looks[0]} items up to {self.n_max}"


class SequentialMonitor:
    """The stopping rule: after ``n`` items, stop when the design's test of the finding
    (on either side of ``threshold``) rejects at ``alpha``, never before ``min_n`` and
    only at one of the design's looks; always stop at the last look."""

    def __init__(self, design: Design, threshold: float, alpha: float) -> None:
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        self.design = design
        self.threshold = threshold
        self.alpha = alpha

    def at_look(self, n: int) -> bool:
        return n in self.design.looks or n >= self.design.n_max

    def settled(self, estimate: Estimate, n: int) -> bool:
        """Whether ``estimate`` of the first ``n`` items settles the finding at ``alpha``."""
        if n < self.design.min_n and n < self.design.n_max:
            return False
        if self.design.kind == "group-sequential" and len(self.design.looks) > 1:
            # the same test as the repeated p-value, without inverting the boundaries
            nominal = self.design.group.nominal_alpha(self.alpha, self.design.look_index(n))
            return p_value(estimate, self.threshold) <= nominal
        return p_value(self.design.read(estimate, n), self.threshold) <= self.alpha

    def stop(self, estimate: Estimate, n: int) -> bool:
        """Whether to stop after ``n`` items: settled at a look, or out of items."""
        if n >= self.design.n_max:
            return True
        return self.at_look(n) and self.settled(estimate, n)


def stopping_point(monitor: SequentialMonitor, estimate_at: Callable[[int], Estimate]) -> int:
    """The sample size at which ``monitor`` stops, given the estimate after the first ``n``
    items (``estimate_at(n)``): the first look that settles, else the last. The audit
    runner applies the same rule look by look as items are scored; benchmarks replay it
    on recorded or simulated outcomes with this function."""
    for n in monitor.design.looks:
        if monitor.stop(estimate_at(n), n):
            return n
    return monitor.design.n_max


@dataclass(frozen=True)
class OperatingCharacteristics:
    """A design's exact behaviour for a rate at one true value: the chance of a settled
    finding on each side of the threshold, and the expected sample size."""

    p_true: float
    above: float
    below: float
    expected_n: float

    @property
    def undecided(self) -> float:
        return max(0.0, 1.0 - self.above - self.below)


def operating_characteristics(
    design: Design,
    threshold: float,
    p_true: float,
    alpha: float,
    family: RateMethod = "wilson",
) -> OperatingCharacteristics:
    """Exact (binomial path-sum) chance that ``design`` settles a rate finding above or
    below ``threshold`` at level ``alpha``, with the same :class:`SequentialMonitor` the
    audits use; for fixed designs it is the fixed-size test at ``alpha``."""
    from scipy.stats import binom

    if design.kind == "confidence-sequence":
        family = "confidence-sequence"
    monitor = SequentialMonitor(design, threshold, alpha)
    # distribution over successes among runs still going, at the current look
    alive = np.array([1.0])
    previous = 0
    above = below = expected = 0.0
    for index, n in enumerate(design.looks):
        step = n - previous
        increments = binom.pmf(np.arange(step + 1), step, p_true)
        alive = np.convolve(alive, increments)
        final = index == len(design.looks) - 1
        for s in range(n + 1):
            mass = alive[s]
            if mass <= 0:
                continue
            estimate = RateEstimate(s, n, family)
            if monitor.settled(estimate, n):
                if s / n > threshold:
                    above += mass
                else:
                    below += mass
                expected += mass * n
                alive[s] = 0.0
            elif final:
                expected += mass * n
        previous = n
    return OperatingCharacteristics(p_true, above, below, expected)


__all__ = [
    "Design",
    "DesignKind",
    "DesignedEstimate",
    "OperatingCharacteristics",
    "SequentialMonitor",
    "operating_characteristics",
    "stopping_point",
]
