"""What every technique shares: a configuration with budgets, a metered budget, and a
result with a headline, curves and a private part kept out of reports."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from assay._util.errors import AssayError, UsageError
from assay.stats import wilson

Resource = Literal["queries", "floats", "seconds"]
# (x, y, ci low, ci high); the interval is None where it does not apply.
Point = tuple[float, float, float | None, float | None]
# progress(phase, done, total): an optional callback, e.g. feeding a rich progress bar.
Progress = Callable[[str, int, int], None]


class TechniqueConfig(BaseModel):
    """Budgets and execution settings common to all techniques."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_queries: int = Field(default=20_000, ge=1, description="metered gateway requests")
    max_floats: int = Field(default=50_000_000, ge=0, description="floats returned")
    max_seconds: float = Field(default=3600.0, gt=0, description="wall-clock time")
    concurrency: int = Field(
        default=8, ge=1, le=64, description="requests in flight (the gateway batches them)"
    )
    seed: int = Field(default=0, description="item splits and sampling")

    @classmethod
    def reduced(cls) -> Self:
        """Sized for SmolLM2-135M on 2 CPU cores (minutes)."""
        return cls()

    @classmethod
    def full(cls) -> Self:
        """Sized for real hardware."""
        return cls()


class Headline(BaseModel):
    """The one number a report leads with; ``low``/``high`` is its 95% interval."""

    name: str
    value: float | None
    low: float | None = None
    high: float | None = None
    n: int | None = None


class Curve(BaseModel):
    """A series for a figure: points ``(x, y, low, high)``."""

    name: str
    x_label: str
    y_label: str
    points: list[Point]


HiddenProperty = Literal["safeguards", "hidden_capability", "backdoor"]
HIDDEN_PROPERTIES: dict[str, str] = {
    "safeguards": "Do the refusal safeguards survive someone with weight access?",
    "hidden_capability": "Can the model do more than it shows when tested?",
    "backdoor": "Does refusal depend on something other than the request itself?",
}
AccessTier = Literal["black", "grey", "white"]


class Finding(BaseModel):
    """What one access tier showed about one hidden property: a row of the report's
    side-by-side table. ``flagged``: the measurement exposed the property (for black
    and grey access, a figure that looks reassuring is not flagged)."""

    hidden_property: HiddenProperty
    tier: AccessTier
    measure: str
    value: float | None
    low: float | None = None
    high: float | None = None
    flagged: bool = False
    summary: str

    @classmethod
    def of(
        cls,
        hidden_property: HiddenProperty,
        tier: AccessTier,
        estimate: Headline,
        summary: str,
        *,
        flagged: bool = False,
        measure: str | None = None,
    ) -> Finding:
        """A finding reporting ``estimate`` (measured as ``estimate.name`` unless
        ``measure`` says otherwise)."""
        return cls(
            hidden_property=hidden_property,
            tier=tier,
            measure=measure or estimate.name,
            value=estimate.value,
            low=estimate.low,
            high=estimate.high,
            flagged=flagged,
            summary=summary,
        )


class BudgetUsed(BaseModel):
    queries: int
    floats: int
    seconds: float
    max_queries: int
    max_floats: int
    max_seconds: float
    exhausted: Resource | None = Field(
        default=None, description="the budget that stopped the run early, if one did"
    )


class TechniqueResult(BaseModel):
    """Common result shape. ``private`` (e.g. adversarial suffixes, sample replies) is
    excluded from ``model_dump``/``model_dump_json`` and from ``repr``; use
    :meth:`with_private` to get it deliberately."""

    technique: str
    title: str
    tier: Literal["white"] = "white"
    model: str
    config: dict[str, Any]
    budget_used: BudgetUsed
    headline: Headline
    curves: list[Curve] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(
        default_factory=list,
        description="per hidden property, what black-, grey- and white-box access each showed",
    )
    complete: bool = Field(default=True, description="False when a budget stopped the run early")
    private: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)

    def with_private(self) -> dict[str, Any]:
        """The full result including ``private`` (handle with care)."""
        return {**self.model_dump(mode="json"), "private": self.private}


class BudgetExceeded(AssayError):
    """A technique's own budget (not the gateway's quota) would be exceeded."""

    def __init__(self, resource: Resource, used: float, limit: float) -> None:
        super().__init__(
            f"technique budget exhausted: {resource} ({used:g} used, limit {limit:g})",
            hint=f"raise max_{resource} in the configuration",
        )
        self.resource: Resource = resource


class BudgetMeter:
    """Counts queries, floats and seconds against a config's limits (thread-safe).

    Floats are reserved at their worst case before a request and settled to the
    actual count after it, so concurrent requests cannot overshoot.
    """

    def __init__(self, config: TechniqueConfig, clock: Callable[[], float] = time.monotonic):
        self.limits = config
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()
        self.queries = 0
        self.floats = 0
        self.exhausted: Resource | None = None

    @property
    def seconds(self) -> float:
        return self._clock() - self._start

    def _fail(self, resource: Resource, used: float, limit: float) -> BudgetExceeded:
        self.exhausted = self.exhausted or resource
        return BudgetExceeded(resource, used, limit)

    def check_time(self) -> None:
        if self.seconds > self.limits.max_seconds:
            raise self._fail("seconds", round(self.seconds, 1), self.limits.max_seconds)

    def reserve(self, floats: int, queries: int = 1) -> None:
        with self._lock:
            self.check_time()
            if self.queries + queries > self.limits.max_queries:
                raise self._fail("queries", self.queries + queries, self.limits.max_queries)
            if self.floats + floats > self.limits.max_floats:
                raise self._fail("floats", self.floats + floats, self.limits.max_floats)
            self.queries += queries
            self.floats += floats

    def settle(self, reserved: int, actual: int) -> None:
        with self._lock:
            self.floats += actual - reserved

    def require(self, queries: int, floats: int, what: str) -> None:
        """Refuse up front a plan that cannot fit the budget."""
        problems = []
        if queries > self.limits.max_queries:
            problems.append(f"{queries} queries (max_queries={self.limits.max_queries})")
        if floats > self.limits.max_floats:
            problems.append(f"{floats} floats (max_floats={self.limits.max_floats})")
        if problems:
            raise UsageError(
                f"{what} needs {' and '.join(problems)}",
                hint="raise the budget or shrink the configuration",
            )

    def used(self) -> BudgetUsed:
        return BudgetUsed(
            queries=self.queries,
            floats=self.floats,
            seconds=round(self.seconds, 3),
            max_queries=self.limits.max_queries,
            max_floats=self.limits.max_floats,
            max_seconds=self.limits.max_seconds,
            exhausted=self.exhausted,
        )


def rate_point(x: float, hits: int, n: int) -> Point:
    """A curve point for a rate with its Wilson interval (``nan`` without data)."""
    p = wilson(hits, n)
    return (float(x), p.value, p.low, p.high)


def rate_headline(name: str, hits: int, n: int) -> Headline:
    p = wilson(hits, n)
    return Headline(name=name, value=None if n == 0 else p.value, low=p.low, high=p.high, n=n)


def spaced(candidates: Sequence[int], limit: int | None) -> list[int]:
    """At most ``limit`` of ``candidates``, evenly spaced, ends included."""
    items = list(candidates)
    if limit is None or len(items) <= limit:
        return items
    if limit == 1:
        return [items[len(items) // 2]]
    picks = {round(i * (len(items) - 1) / (limit - 1)) for i in range(limit)}
    return [items[i] for i in sorted(picks)]


def stream_hook(index: int, num_layers: int) -> str:
    """Hook point of residual stream ``index`` (0 = embeddings, ``num_layers`` = the last
    layer's output), the indexing of ``output_hidden_states``."""
    if not 0 <= index <= num_layers:
        raise UsageError(f"layer {index} is out of range: this model has streams 0..{num_layers}")
    if index == num_layers:
        return f"layers.{num_layers - 1}.residual_post"
    return f"layers.{index}.residual_pre"


def readable_streams(num_layers: int, hook_points: Sequence[str]) -> list[int]:
    """The residual streams whose activations the gateway offers for reading (a
    default deployment offers no parameter lookup, so not stream 0, the embeddings)."""
    offered = set(hook_points)
    return [i for i in range(num_layers + 1) if stream_hook(i, num_layers) in offered]


def offered_streams(
    num_layers: int, hook_points: Sequence[str], requested: Sequence[int] | None
) -> list[int]:
    """The streams a technique may read, from ``requested`` (all offered when None):
    a requested stream the gateway does not offer is a usage error naming the choice."""
    readable = readable_streams(num_layers, hook_points)
    refused = [layer for layer in requested or [] if layer not in readable]
    if refused:
        raise UsageError(
            f"the gateway does not offer layer(s) {refused} for reading (layer 0 is the "
            "embeddings, a parameter lookup a default gateway refuses); choose from "
            f"{readable} or leave layers unset"
        )
    return list(requested) if requested is not None else readable


def finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class TierRow(BaseModel):
    """One hidden property across access tiers: what each tier's measurements showed."""

    hidden_property: HiddenProperty
    question: str
    black: list[Finding] = Field(default_factory=list)
    grey: list[Finding] = Field(default_factory=list)
    white: list[Finding] = Field(default_factory=list)

    @property
    def found_by(self) -> list[AccessTier]:
        """The tiers at which some measurement exposed the property."""
        tiers: tuple[AccessTier, ...] = ("black", "grey", "white")
        return [t for t in tiers if any(f.flagged for f in getattr(self, t))]


def tier_table(results: Sequence[TechniqueResult]) -> list[TierRow]:
    """Every technique's findings, grouped by hidden property and access tier: the
    side-by-side view of what black-, grey- and white-box access each found."""
    rows: dict[str, TierRow] = {}
    for result in results:
        for finding in result.findings:
            row = rows.setdefault(
                finding.hidden_property,
                TierRow(
                    hidden_property=finding.hidden_property,
                    question=HIDDEN_PROPERTIES[finding.hidden_property],
                ),
            )
            cell: list[Finding] = getattr(row, finding.tier)
            labelled = finding.model_copy(
                update={"summary": f"{result.technique}: {finding.summary}"}
            )
            if labelled not in cell:
                cell.append(labelled)
    order = list(HIDDEN_PROPERTIES)
    return sorted(rows.values(), key=lambda r: order.index(r.hidden_property))
