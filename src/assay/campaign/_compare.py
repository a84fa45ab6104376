"""The campaign's comparison: every target x risk area, with intervals and decisions,
read from the audits' own ``report.json`` files (``comparison.json`` and ``.md``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay._util.paths import atomic_write_text
from assay.audit import Plan

if TYPE_CHECKING:
    from assay.campaign._ray import DispatchStats
    from assay.campaign._spec import Campaign
    from assay.report import Report

COMPARISON_VERSION = "1"


@dataclass
class AuditEntry:
    """One (target, plan) audit of a campaign and where its folder is."""

    target: str
    spec: str
    plan: str
    folder: str  # relative to the campaign's output folder
    error: str | None = None
    samples_run: int = 0
    resumed: bool = False


def comparison_rows(entry: AuditEntry, report: Report, plan: Plan) -> list[dict[str, Any]]:
    """One row per risk area of ``plan``: the level and actions ``report`` decided, and
    the primary metric of each of the area's suites that ran, with interval and decision."""
    findings: dict[str, dict[str, Any]] = {}
    for suite in report.suites:
        metric = suite.metrics[0] if suite.metrics else None
        findings[suite.id] = {
            "suite": suite.id,
            "metric": metric.name if metric else None,
            "value": metric.value if metric else None,
            "ci": None if metric is None or metric.ci is None else [metric.ci.low, metric.ci.high],
            "n": suite.n,
            "n_planned": suite.n_planned,
            "outcome": suite.decision.outcome,
        }
    suites_of = {area.id: area.suites for area in plan.risk_areas}
    rows = []
    for area in report.decision.risk_areas:
        rows.append(
            {
                "target": entry.target,
                "plan": entry.plan,
                "risk_area": area.risk_area,
                "title": area.title,
                "level": area.level,
                "level_name": area.level_name,
                "settled": area.settled,
                "assessed": area.assessed,
                "actions": list(area.actions),
                "findings": [
                    findings[s] for s in suites_of.get(area.risk_area, []) if s in findings
                ],
            }
        )
    return rows


def write_comparison(
    campaign: Campaign,
    audits: list[AuditEntry],
    plans: list[Plan],
    out: Path,
    executor: str,
    stats: DispatchStats | None,
) -> dict[str, Path]:
    """Write ``comparison.json`` and ``comparison.md`` into ``out``."""
    from assay.report import Report

    rows: list[dict[str, Any]] = []
    summaries = []
    for entry in audits:
        summary: dict[str, Any] = asdict(entry)
        report_path = out / entry.folder / "report.json"
        if entry.error is None and report_path.is_file():
            report = Report.model_validate_json(report_path.read_text(encoding="utf-8"))
            summary.update(
                report=f"{entry.folder}/report.json",
                complete=report.complete,
                tier=report.tier.value,
                action=report.decision.action,
                model=report.target.model,
                fingerprint=report.target.fingerprint.digest,
            )
            plan = next(p for p in plans if p.name == entry.plan)
            rows.extend(comparison_rows(entry, report, plan))
        summaries.append(summary)
    data: dict[str, Any] = {
        "comparison_version": COMPARISON_VERSION,
        "campaign": campaign.name,
        "created_at": datetime.now(UTC).isoformat(),
        "executor": executor,
        "plans": [p.name for p in plans],
        "audits": summaries,
        "rows": rows,
    }
    if stats is not None:
        data["ray"] = {
            "tasks": stats.tasks,
            "samples_received": stats.samples_received,
            "samples_recomputed": stats.samples_recomputed,
            "retries": [asdict(r) for r in stats.retries],
        }
    json_path = out / "comparison.json"
    atomic_write_text(json_path, json.dumps(data, indent=2) + "\n")
    md_path = out / "comparison.md"
    atomic_write_text(md_path, render_markdown(data))
    return {"comparison.json": json_path, "comparison.md": md_path}


def _interval(finding: dict[str, Any]) -> str:
    value, ci = finding["value"], finding["ci"]
    if value is None:
        return f"{finding['suite']}: no data"
    text = f"{finding['suite']} {value:.2f}"
    if ci is not None:
        text += f" [{ci[0]:.2f}, {ci[1]:.2f}]"
    return f"{text} n={finding['n']} {finding['outcome']}"


def render_markdown(data: dict[str, Any]) -> str:
    """The comparison as Markdown: the audits, then one table row per target x risk area."""
    lines = [f"# Campaign {data['campaign']}", ""]
    lines += [
        f"Executor: {data['executor']}. Each audit's folder holds its report.json, "
        "report.html, attestation.json and samples.jsonl.",
        "",
        "| target | plan | action | complete | folder |",
        "|---|---|---|---|---|",
    ]
    for audit in data["audits"]:
        if audit.get("error"):
            lines.append(
                f"| {audit['target']} | {audit['plan']} | failed: {_cell(audit['error'])} | - "
                f"| {audit['folder']} |"
            )
        else:
            lines.append(
                f"| {audit['target']} | {audit['plan']} | {audit.get('action', '-')} | "
                f"{'yes' if audit.get('complete') else 'no'} | {audit['folder']} |"
            )
    lines += [
        "",
        "## Risk areas",
        "",
        "Findings are each suite's primary metric with its 95% interval, n and decision.",
        "",
        "| target | plan | risk area | level | settled | actions | findings |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        level = row["level_name"] if row["assessed"] else "not assessed"
        findings = "<br>".join(_cell(_interval(f)) for f in row["findings"]) or "-"
        lines.append(
            f"| {row['target']} | {row['plan']} | {_cell(row['title'])} | {_cell(level)} | "
            f"{'yes' if row['settled'] else 'no'} | {', '.join(row['actions']) or '-'} | "
            f"{findings} |"
        )
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
