"""Capability levels per risk area, and the actions they require.

A plan gives each risk area a ladder of levels. Each level lists conditions on suite
outcomes and the actions it requires (deploy, deploy with safeguards, gate behind
know-your-customer checks, remove the capability, notify the authorities). The area's
level is the most severe one whose conditions hold. Where an inconclusive finding
could still make a more severe level hold, the area is *unsettled*: until more
evidence settles it, the plan requires the actions of the most severe level the
evidence cannot exclude, and more evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from assay.policy._model import (
    ACTION_SEVERITY,
    Action,
    Level,
    OverallDecision,
    RiskArea,
    RiskAreaDecision,
    SuiteDecision,
)

_UNDECIDED = ("inconclusive", "no_data")

_ACTION_TEXT: dict[str, str] = {
    "deploy": "deploy",
    "deploy_with_safeguards": "deploy with added safeguards",
    "gate_behind_kyc": "deploy only to verified users (know-your-customer checks)",
    "remove_capability": "remove the capability before broad deployment",
    "notify_authorities": "notify the authorities",
    "collect_more_evidence": "test more items before deciding",
}

State = Literal["holds", "fails", "open"]


def _state(level: Level, decisions: Mapping[str, SuiteDecision]) -> tuple[State, list[str]]:
    """Whether a level's conditions hold, fail, or are still open, with the open reasons."""
    open_because: list[str] = []
    for condition in level.when:
        decision = decisions.get(condition.suite)
        if decision is not None and decision.outcome in condition.outcomes:
            continue
        if decision is None:
            open_because.append(f"{condition.suite} was not run")
        elif decision.outcome in _UNDECIDED:
            open_because.append(f"{condition.suite} is {decision.outcome.replace('_', ' ')}")
        else:
            return "fails", []
    return ("open", open_because) if open_because else ("holds", [])


def _sorted_actions(actions: Sequence[Action]) -> list[Action]:
    unique = list(dict.fromkeys(actions))
    return sorted(unique, key=lambda a: -ACTION_SEVERITY[a])


def decide_risk_area(
    area: RiskArea, decisions: Mapping[str, SuiteDecision]
) -> RiskAreaDecision | None:
    """The level ``area`` reaches given the suite decisions; ``None`` when the plan ran
    none of the area's suites."""
    if not any(s in decisions for s in area.suites):
        return None
    ladder = sorted(area.levels, key=lambda lvl: -lvl.level)  # stable: file order within a level
    most_severe_open: Level | None = None
    open_reasons: list[str] = []
    reached: Level | None = None
    for level in ladder:
        state, why = _state(level, decisions)
        if state == "open" and most_severe_open is None:
            most_severe_open, open_reasons = level, why
        if state == "holds":
            reached = level
            break
    reasons = [] if reached is None else [_level_reason(reached, decisions)]
    settled = reached is not None and (
        most_severe_open is None or most_severe_open.level <= reached.level
    )
    if settled:
        assert reached is not None
        actions = _sorted_actions(reached.actions)
    elif most_severe_open is not None:
        reasons.append(_open_reason(most_severe_open, open_reasons))
        actions = _sorted_actions(["collect_more_evidence", *most_severe_open.actions])
    else:
        outcomes = ", ".join(f"{s}: {decisions[s].outcome}" for s in area.suites if s in decisions)
        reasons.append(
            f"no level of the plan matches these outcomes ({outcomes}); the plan has a gap"
        )
        actions = ["collect_more_evidence"]
    return RiskAreaDecision(
        risk_area=area.id,
        title=area.title,
        level=None if reached is None else reached.level,
        level_name="undetermined" if reached is None else reached.name,
        settled=settled,
        actions=actions,
        reasons=reasons,
    )


def _level_reason(level: Level, decisions: Mapping[str, SuiteDecision]) -> str:
    if not level.when:
        return f"level {level.level} ({level.name}) applies unconditionally"
    cited = "; ".join(
        f"{c.suite}: {decisions[c.suite].outcome.replace('_', ' ')}, {decisions[c.suite].reasons[0] if decisions[c.suite].reasons else decisions[c.suite].summary}"
        for c in level.when
    )
    why = f" ({level.rationale})" if level.rationale else ""
    return f"level {level.level} ({level.name}){why} because {cited}"


def _open_reason(level: Level, because: list[str]) -> str:
    return (
        f"level {level.level} ({level.name}) cannot yet be excluded: "
        + "; ".join(because)
        + "; until it is, the plan requires its actions"
    )


def decide_plan(
    areas: Sequence[RiskArea],
    decisions: Mapping[str, SuiteDecision],
    authorities: Sequence[str] = (),
) -> OverallDecision:
    """Every risk area's level and the actions the plan requires, most demanding first."""
    reached = [d for d in (decide_risk_area(a, decisions) for a in areas) if d is not None]
    actions = _sorted_actions([a for d in reached for a in d.actions if a != "deploy"]) or [
        "deploy"
    ]
    reasons = [f"{d.title}: {r}" for d in reached for r in d.reasons]
    uncovered = sorted(set(decisions) - {s for a in areas for s in a.suites})
    if uncovered:
        reasons.append(
            "not mapped to any risk area of the plan (reported, not decided on): "
            + ", ".join(uncovered)
        )
    return OverallDecision(
        action=actions[0],
        summary=_summary(actions, reached),
        reasons=reasons,
        actions=actions,
        authorities=list(authorities) if "notify_authorities" in actions else [],
        risk_areas=reached,
    )


def _summary(actions: list[Action], reached: list[RiskAreaDecision]) -> str:
    def areas_requiring(action: str) -> str:
        return ", ".join(d.title for d in reached if action in d.actions)

    parts = []
    for action in actions:
        where = areas_requiring(action)
        parts.append(f"{_ACTION_TEXT[action]}" + (f" ({where})" if where else ""))
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


__all__ = ["decide_plan", "decide_risk_area"]
