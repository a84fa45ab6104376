"""Decision records: what was decided, and why, in words a reader can check."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


Outcome = Literal[
    "capability_present",
    "capability_ruled_out",
    "safeguard_adequate",
    "safeguard_inadequate",
    "exceeds_threshold",
    "within_threshold",
    "inconclusive",
    "no_threshold",
    "no_data",
]


class SuiteDecision(_Strict):
    outcome: Outcome
    summary: str
    reasons: list[str]
    threshold: float | None = None
    kind: Literal["capability", "safeguard", "harm", "usefulness", "bias"] = "capability"
    samples_to_settle: int | None = Field(
        default=None,
        description="for an inconclusive finding: about how many more samples at the observed "
        "rate would settle it (null when unknown or when it cannot settle)",
    )
    p_value: float | None = Field(
        default=None,
        description="p-value of the test the interval inverts, against the threshold: at most "
        "0.05 exactly when the 95% interval excludes the threshold; multiple-comparison "
        "control reads it (null without a threshold or data)",
    )


Action = Literal[
    "deploy",
    "deploy_with_safeguards",
    "gate_behind_kyc",
    "remove_capability",
    "notify_authorities",
    "collect_more_evidence",
]


ACTION_SEVERITY: dict[str, int] = {
    "deploy": 0,
    "deploy_with_safeguards": 1,
    "gate_behind_kyc": 2,
    "remove_capability": 3,
    "notify_authorities": 3,
    "collect_more_evidence": 4,
}


class Condition(_Strict):
    """A level applies when the named suite's outcome is one of ``outcomes``."""

    suite: str
    outcomes: list[Outcome] = Field(min_length=1)


class Level(_Strict):
    """A capability level of one risk area: when it applies and what it requires.
    Several entries may share a level number as alternatives (any one applies)."""

    level: int = Field(ge=0)
    name: str
    when: list[Condition] = Field(
        default_factory=list, description="all must hold; empty means always"
    )
    actions: list[Action] = Field(min_length=1)
    rationale: str = ""


class RiskArea(_Strict):
    """A risk area of a plan, with its capability levels (highest first is how they
    are read: the most severe level whose conditions hold is the area's level)."""

    id: str
    title: str
    levels: list[Level] = Field(min_length=1)

    @property
    def suites(self) -> list[str]:
        seen: dict[str, None] = {}
        for level in self.levels:
            for condition in level.when:
                seen[condition.suite] = None
        return list(seen)


class RiskAreaDecision(_Strict):
    risk_area: str
    title: str
    level: int | None = Field(description="the level reached; null when none could be decided")
    level_name: str
    settled: bool = Field(
        description="false when an inconclusive finding could still raise the level"
    )
    actions: list[Action]
    reasons: list[str]
    assessed: bool = Field(
        default=True,
        description="false when the audit ran only some of the area's suites: no level and "
        "no actions are read from a partial run",
    )
    missing_suites: list[str] = Field(
        default_factory=list, description="the area's suites this audit did not run"
    )


class Authority(_Strict):
    """Who is notified when a level requires it. A ``placeholder`` (a plan's template
    entry) is never shown as an addressee."""

    name: str
    placeholder: bool = False


class OverallDecision(_Strict):
    action: Action = Field(description="the most demanding action required")
    summary: str
    reasons: list[str]
    actions: list[Action] = Field(
        default_factory=list, description="every action the plan requires, most demanding first"
    )
    authorities: list[str] = Field(
        default_factory=list,
        description="who must be notified when notify_authorities applies (named authorities "
        "only, never a plan's placeholder)",
    )
    authorities_unnamed: bool = Field(
        default=False,
        description="notify_authorities applies but the plan names only placeholders: the "
        "authority must be named before anyone can be notified",
    )
    not_assessed: list[str] = Field(
        default_factory=list,
        description="risk areas this audit did not fully cover, each with its missing suites",
    )
    risk_areas: list[RiskAreaDecision] = Field(default_factory=list)
