"""A model version's scorecard: for each accepted audit the caller may see, who ran it
at which tier, each risk area's decision and level, the rates behind them with their
intervals, and the report's figure (drawn by :mod:`assay.report`, the code behind
report.html, so the registry's figures look like the report's)."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.registry._db import Cosignature, Submission
from assay.registry._resources import load_engagement, slugs, submission_resource
from assay.registry._visibility import Principal, Sight, sight

_FIGURES: OrderedDict[str, str] = OrderedDict()
_FIGURES_LOCK = threading.Lock()
_FIGURE_CACHE = 64


@dataclass(frozen=True)
class Rate:
    suite: str
    title: str
    metric: str
    value: float | None
    low: float | None
    high: float | None
    level: float | None
    n: int
    outcome: str


@dataclass(frozen=True)
class AreaRow:
    risk_area: str
    title: str
    level: int | None
    level_name: str
    actions: list[str]
    settled: bool
    rates: list[Rate]


@dataclass
class Audit:
    submission_id: int
    tester: str
    tier: str
    plan: str
    completed_at: str
    decision: str
    decision_summary: str
    public: bool
    log_index: int
    statement_sha256: str
    cosigners: list[str]
    areas: list[AreaRow] = field(default_factory=list)
    figure: str = ""


def _rates(report: dict[str, Any], area: str) -> list[Rate]:
    rates = []
    for suite in report.get("suites", []):
        if suite.get("risk_area") != area or not suite.get("metrics"):
            continue
        metric = suite["metrics"][0]
        ci = metric.get("ci") or {}
        rates.append(
            Rate(
                suite=suite.get("id", "?"),
                title=suite.get("title", suite.get("id", "?")),
                metric=str(metric.get("name", "")).replace("_", " "),
                value=metric.get("value"),
                low=ci.get("low"),
                high=ci.get("high"),
                level=ci.get("level"),
                n=int(metric.get("n", 0)),
                outcome=str(suite.get("decision", {}).get("outcome", "")).replace("_", " "),
            )
        )
    return rates


def _areas(report: dict[str, Any]) -> list[AreaRow]:
    """Each risk area of the report: its decided level (when the plan has levels) and
    the rates of its suites."""
    decided = {a.get("risk_area", "?"): a for a in report.get("decision", {}).get("risk_areas", [])}
    order = list(decided)
    for suite in report.get("suites", []):
        if suite.get("risk_area") and suite["risk_area"] not in order:
            order.append(suite["risk_area"])
    rows = []
    for area in order:
        d = decided.get(area, {})
        rows.append(
            AreaRow(
                risk_area=area,
                title=d.get("title", area.replace("_", " ")),
                level=d.get("level"),
                level_name=d.get("level_name", ""),
                actions=[a.replace("_", " ") for a in d.get("actions", [])],
                settled=bool(d.get("settled", True)),
                rates=_rates(report, area),
            )
        )
    return rows


def _summary_areas(summary: dict[str, Any]) -> list[AreaRow]:
    """Without report.json: the signed statement's per-suite outcomes, by risk area."""
    by_area: dict[str, list[Rate]] = {}
    for r in summary.get("results", []):
        by_area.setdefault(r["risk_area"], []).append(
            Rate(r["suite"], r["suite"], "", None, None, None, None, r["n"], r["outcome"])
        )
    return [
        AreaRow(a, a.replace("_", " "), None, "", [], True, rates) for a, rates in by_area.items()
    ]


def figure(statement_sha256: str, report: dict[str, Any]) -> str:
    """report.html's results figure for a submitted report (inline SVG), cached."""
    with _FIGURES_LOCK:
        if statement_sha256 in _FIGURES:
            _FIGURES.move_to_end(statement_sha256)
            return _FIGURES[statement_sha256]
    from pydantic import ValidationError

    from assay.report import Report
    from assay.report._figures import results_figure  # the report's own figure code

    try:
        svg = results_figure(Report.model_validate(report))
    except (ValidationError, ValueError, KeyError):  # a report of another schema version
        svg = ""
    with _FIGURES_LOCK:
        _FIGURES[statement_sha256] = svg
        while len(_FIGURES) > _FIGURE_CACHE:
            _FIGURES.popitem(last=False)
    return svg


def audits_of_version(
    session: Session, caller: Principal, version_id: int, *, figures: bool = True
) -> list[Audit]:
    """The accepted audits of a version the caller may see, newest first."""
    audits = []
    subs = session.scalars(
        select(Submission).where(Submission.version_id == version_id).order_by(Submission.id.desc())
    )
    for sub in subs:
        engagement = load_engagement(session, sub.engagement_id).row
        if sight(caller, submission_resource(sub, engagement)) is Sight.NONE:
            continue
        summary = sub.summary
        report = json.loads(sub.report) if sub.report is not None else None
        cosigners = list(
            session.scalars(select(Cosignature.org_id).where(Cosignature.submission_id == sub.id))
        )
        names = slugs(session, {sub.org_id, *cosigners})
        audit = Audit(
            submission_id=sub.id,
            tester=names[sub.org_id],
            tier=summary["tier"],
            plan=summary["plan"],
            completed_at=summary.get("completed_at", ""),
            decision=summary["decision"]["action"].replace("_", " "),
            decision_summary=summary["decision"]["summary"],
            public=sub.published_at is not None,
            log_index=sub.log_index,
            statement_sha256=sub.statement_sha256,
            cosigners=sorted({names[c] for c in cosigners}),
        )
        audit.areas = (_areas(report) if report else []) or _summary_areas(summary)
        if figures and report is not None:
            audit.figure = figure(sub.statement_sha256, report)
        audits.append(audit)
    return audits
