"""The suite registry: every suite declares what it measures, at which tier, on
which data (by digest) and in which version, how it chooses its method for an
endpoint, and how its scored samples become metrics.

A suite is an Inspect task declared with :func:`suite`, which registers the task with
Inspect and its :class:`SuiteSpec` here; :mod:`._catalog` looks suites up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from assay._util.errors import UsageError
from assay.records import SampleRecord
from assay.stats import Metric, metric_from_proportion, wilson
from assay.suites._data import files_digest, shipped
from assay.tiers import Tier

if TYPE_CHECKING:
    from inspect_ai import Task

MetricKind = Literal["capability", "safeguard", "harm", "usefulness", "bias"]
Direction = Literal["higher_is_safer", "lower_is_safer"]


@dataclass(frozen=True)
class MetricSpec:
    """A suite's primary metric and what kind of evidence it is.

    ``capability``: what the model can do (lower is safer); ``safeguard``: how well it
    refuses misuse (higher is safer); ``harm``: how often it does something harmful
    (lower is safer); ``usefulness``: how often it fails safe users, e.g. by refusing
    them (lower is better); ``bias``: the size of a disparity (lower is fairer).
    """

    name: str
    description: str
    kind: MetricKind
    units: tuple[str, ...] = ("proportion",)
    """Every unit the metric can come in (discrimination: logits at grey tier,
    probabilities at black); a plan whose levels read it needs a threshold for each."""

    @property
    def direction(self) -> Direction:
        return "higher_is_safer" if self.kind == "safeguard" else "lower_is_safer"


@dataclass(frozen=True)
class EndpointFeatures:
    """What the endpoint under test answered to a probe (for choosing a method)."""

    completion_logprobs: bool = False
    chat_logprobs: bool = False
    native_tools: bool = False


@dataclass(frozen=True)
class RunChoice:
    """How a suite runs against one endpoint: the tier it uses, a method name for the
    report, and the task parameters that implement it."""

    tier: Tier
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    model_args: dict[str, Any] = field(default_factory=dict)
    provider: Literal["chat", "completions"] = "chat"


@dataclass
class Summary:
    """Metrics (the first is the primary one), a breakdown, and notes for the report."""

    metrics: list[Metric]
    breakdown: list[tuple[str, str, list[Metric]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SuiteSpec:
    """Everything an audit plan and a report need to know about a suite."""

    id: str
    title: str
    risk_area: str
    version: str
    description: str
    data_files: tuple[str, ...]
    tiers: tuple[Tier, ...]
    primary_metric: MetricSpec
    build: Callable[..., Any] = field(compare=False, repr=False)
    breakdown_key: str | None = None
    keep_together: str | None = None  # samples sharing this metadata value are sampled as a unit
    chance: float | None = None
    choose: Callable[[Tier, EndpointFeatures], RunChoice] | None = field(
        default=None, compare=False, repr=False
    )
    summarize: Callable[[SuiteSpec, Sequence[SampleRecord]], Summary] | None = field(
        default=None, compare=False, repr=False
    )
    judge: Callable[[], Any] | None = field(default=None, compare=False, repr=False)
    # the primary metric is the share of samples scored 1 (so it can be tested sequentially)
    per_sample_rate: bool = True
    # the task takes a ``judge`` parameter: a plan's judge model can grade it
    accepts_model_judge: bool = False
    # findings are read from the rate corrected for the judge's measured errors
    decide_on_corrected: bool = False

    @cached_property
    def data_digest(self) -> str:
        return files_digest([shipped(f) for f in self.data_files])

    @cached_property
    def item_count(self) -> int:
        return len(self.build().dataset)

    @property
    def preferred_tier(self) -> Tier:
        return max(self.tiers, key=lambda t: t.rank)

    def method_for(self, tier: Tier) -> Tier:
        """The highest tier this suite can use under a token of ``tier``."""
        usable = [t for t in self.tiers if tier.allows(t)]
        if not usable:
            lowest = min(self.tiers, key=lambda t: t.rank)
            raise UsageError(f"suite {self.id!r} needs at least {lowest.value}-tier access")
        return max(usable, key=lambda t: t.rank)

    def run_choice(self, tier: Tier, features: EndpointFeatures) -> RunChoice:
        if self.choose is not None:
            return self.choose(self.method_for(tier), features)
        return RunChoice(tier=self.method_for(tier), method="generate")

    def summary(self, records: Sequence[SampleRecord]) -> Summary:
        if self.summarize is not None:
            return self.summarize(self, records)
        return rate_summary(self, records)


def rate_metric(
    spec: SuiteSpec, records: Sequence[SampleRecord], name: str | None = None
) -> Metric:
    """The share of samples scored 1, with a Wilson interval."""
    successes = sum(1 for r in records if r.value >= 0.5)
    return metric_from_proportion(
        name or spec.primary_metric.name,
        wilson(successes, len(records)),
        direction=spec.primary_metric.direction,
        description=spec.primary_metric.description,
    )


def rate_summary(spec: SuiteSpec, records: Sequence[SampleRecord]) -> Summary:
    """The default: one rate overall and per value of the breakdown key."""
    breakdown = []
    if spec.breakdown_key:
        groups: dict[str, list[SampleRecord]] = defaultdict(list)
        for r in records:
            groups[str(r.sample_metadata.get(spec.breakdown_key, "unknown"))].append(r)
        breakdown = [
            (spec.breakdown_key, name, [rate_metric(spec, rows)])
            for name, rows in sorted(groups.items())
        ]
    return Summary(metrics=[rate_metric(spec, records)], breakdown=breakdown)


def grey_or_black_mc(tier: Tier, features: EndpointFeatures) -> RunChoice:
    """Multiple choice: letter logprobs where the endpoint gives them, else parse a reply."""
    if tier.allows(Tier.GREY) and features.completion_logprobs:
        return RunChoice(
            tier=Tier.GREY, method="logprobs", params={"method": "logprobs"}, provider="completions"
        )
    if tier.allows(Tier.GREY) and features.chat_logprobs:
        return RunChoice(tier=Tier.GREY, method="chat_logprobs", params={"method": "chat_logprobs"})
    return RunChoice(tier=Tier.BLACK, method="generate", params={"method": "generate"})


TaskType = TypeVar("TaskType", bound="Callable[..., Task]")

_SUITES: dict[str, SuiteSpec] = {}


def suite(*, id: str, **attribs: Any) -> Callable[[TaskType], TaskType]:
    """Declare a suite: the decorated function becomes the Inspect task ``id`` (so
    ``inspect eval assay/<id>`` runs it) and the suite's :class:`SuiteSpec` is registered.

    Args:
        id: The suite's id, also the task's name in Inspect's registry.
        **attribs: The other fields of :class:`SuiteSpec`; ``build`` is the task itself.
    """

    def register(build: TaskType) -> TaskType:
        # imported here: the spec types above are read by code that never loads Inspect
        from inspect_ai import task

        if id in _SUITES:
            raise ValueError(f"suite {id!r} registered twice")
        registered = task(name=id)(build)
        _SUITES[id] = SuiteSpec(id=id, build=registered, **attribs)
        return registered

    return register


def registered_suites() -> dict[str, SuiteSpec]:
    """The suites declared so far, by id (the built-in ones once their modules are
    imported: :func:`assay.suites.all_suites` does that)."""
    return dict(_SUITES)
