"""The suite registry: every suite declares what it measures, at which tier, on
which data (by digest) and in which version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from assay._util.errors import UsageError
from assay.gateway import Tier
from assay.suites._data import files_digest, shipped

Direction = Literal["higher_is_safer", "lower_is_safer"]


@dataclass(frozen=True)
class MetricSpec:
    """A metric a suite reports and which way is safer."""

    name: str
    description: str
    direction: Direction


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
    chance: float | None = None

    @cached_property
    def data_digest(self) -> str:
        return files_digest([shipped(f) for f in self.data_files])

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


_SUITES: dict[str, SuiteSpec] = {}


def register_suite(spec: SuiteSpec) -> SuiteSpec:
    if spec.id in _SUITES:
        raise ValueError(f"suite {spec.id!r} registered twice")
    _SUITES[spec.id] = spec
    return spec


def get_suite(suite_id: str) -> SuiteSpec:
    _load_builtin_suites()
    try:
        return _SUITES[suite_id]
    except KeyError:
        known = ", ".join(sorted(_SUITES))
        raise UsageError(f"unknown suite {suite_id!r}", hint=f"known suites: {known}") from None


def all_suites() -> list[SuiteSpec]:
    _load_builtin_suites()
    return [_SUITES[k] for k in sorted(_SUITES)]


def _load_builtin_suites() -> None:
    # Importing the modules registers them.
    from assay.suites import hazard_knowledge, misuse_refusal  # noqa: F401
