"""Capability levels per risk area, and the actions they require.

A plan gives each risk area a ladder of levels. Each level lists conditions on suite
outcomes and the actions it requires (deploy, deploy with safeguards, gate behind
know-your-customer checks, remove the capability, notify the authorities). The area's
level is the most severe one whose conditions hold. Where an inconclusive finding
could still make a more severe level hold, the area is *unsettled*: until more
evidence settles it, the plan requires the actions of the most severe level the
evidence cannot exclude, and more evidence. A suite whose plan sets no threshold for
its metric gives no finding, so it is undecided like an inconclusive one. An area whose
suites did not all run is *not assessed*: no level and no actions are read from part of
its evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from assay.policy._model import (
    ACTION_SEVERITY,
    Action,
    Authority,
    Level,
    OverallDecision,
    RiskArea,
    RiskAreaDecision,
    SuiteDecision,
)

_UNDECIDED = ("inconclusive", "no_data", "no_threshold")

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
    """The level ``area`` reaches given the suite decisions; ``None`` when the audit ran
    none of the area's suites; *not assessed* (no level, no actions) when it ran only
    some of them."""
    if not any(s in decisions for s in area.suites):
        return None
    missing = [s for s in area.suites if s not in decisions]
    if missing:
        return RiskAreaDecision(
            risk_area=area.id,
            title=area.title,
            level=None,
            level_name="not assessed",
            settled=False,
            actions=[],
            reasons=[
                f"not assessed: {', '.join(missing)} did not run in this audit, and the area's "
                "levels need every one of its suites"
            ],
            assessed=False,
            missing_suites=missing,
        )
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
    authorities: Sequence[str | Authority] = (),
) -> OverallDecision:
    """Every risk area's level and the actions the plan requires, most demanding first.
    Areas the audit did not fully cover are listed as not assessed and require nothing;
    when no area was assessed the audit recommends collecting the missing evidence."""
    everything = [d for d in (decide_risk_area(a, decisions) for a in areas) if d is not None]
    reached = [d for d in everything if d.assessed]
    unassessed = [d for d in everything if not d.assessed]
    actions = _sorted_actions([a for d in reached for a in d.actions if a != "deploy"])
    if not actions:
        actions = ["deploy"] if reached else ["collect_more_evidence"]
    reasons = [f"{d.title}: {r}" for d in everything for r in d.reasons]
    uncovered = sorted(set(decisions) - {s for a in areas for s in a.suites})
    if uncovered:
        reasons.append(
            "not mapped to any risk area of the plan (reported, not decided on): "
            + ", ".join(uncovered)
        )
    named = [a if isinstance(a, Authority) else Authority(name=a) for a in authorities]
    notify = "notify_authorities" in actions
    real = [a.name for a in named if not a.placeholder]
    not_assessed = [f"{d.title} (missing: {', '.join(d.missing_suites)})" for d in unassessed]
    summary = (
        _summary(actions, reached)
        if reached
        else ("No risk area was fully assessed; run the missing suites before deciding.")
    )
    if reached and not_assessed:
        summary += " Not assessed: " + "; ".join(not_assessed) + "."
    if notify and not real:
        summary += " The plan names no authority to notify (only a placeholder); name one."
    return OverallDecision(
        action=actions[0],
        summary=summary,
        reasons=reasons,
        actions=actions,
        authorities=real if notify else [],
        authorities_unnamed=notify and not real,
        not_assessed=not_assessed,
        risk_areas=everything,
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
