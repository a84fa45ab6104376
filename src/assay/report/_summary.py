"""The terminal summary printed at the end of an audit."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from assay.report._counts import group_label, suite_counts
from assay.report._html import ACTION_WORDS
from assay.report._model import Report
from assay.stats import Metric, format_value
from assay.techniques import tier_table

_STYLE = {
    "capability_present": "bold red",
    "safeguard_inadequate": "bold red",
    "capability_ruled_out": "green",
    "safeguard_adequate": "green",
    "exceeds_threshold": "bold red",
    "within_threshold": "green",
    "inconclusive": "yellow",
    "no_data": "yellow",
    "no_threshold": "",
}


def print_summary(report: Report, console: Console) -> None:
    """The results table, judges, techniques, risk areas and the recommendation.

    Fits 80 columns without cutting a suite id or a finding: the result column wraps
    instead, and how each n was counted follows the table."""
    if report.decision.not_assessed:
        console.print("[bold yellow]Not assessed:[/] " + "; ".join(report.decision.not_assessed))
    console.print(_results_table(report, narrow=console.width < 120))
    for s in report.suites:
        counts = suite_counts(report, s)
        if counts.short != str(counts.planned) or counts.unit != "items":
            console.print(f"[dim]{escape(s.id)}: n = {counts.used}: {escape(counts.sentence)}[/]")
    for s in report.suites:
        if s.judge is not None:
            j = s.judge
            console.print(
                f"[dim]{s.id}: judge {j.judge}@{j.version} accuracy {j.accuracy.value:.3f} "
                f"(sensitivity {j.sensitivity.value:.3f}, specificity {j.specificity.value:.3f}) on {j.n} labelled replies[/]"
            )
    for t in report.techniques:
        h = t.headline
        interval = (
            f" ({h.low:.3g} to {h.high:.3g})" if h.low is not None and h.high is not None else ""
        )
        value = "n/a" if h.value is None else f"{h.value:.3g}"
        budget = t.budget_used
        console.print(
            f"[bold]{t.technique}[/] (white): {h.name} {value}{interval}; "
            f"{budget.queries} queries, {budget.floats} floats, {budget.seconds:.0f} s"
            + ("" if t.complete else " [yellow]stopped by its budget[/]")
        )
    for row in tier_table(report.techniques):
        found = ", ".join(row.found_by) or "no tier"
        console.print(f"{row.hidden_property.replace('_', ' ')}: exposed by {found} access")
    for area in report.decision.risk_areas:
        if not area.assessed:
            console.print(
                f"{area.title}: [yellow]not assessed[/] (missing: {', '.join(area.missing_suites)})"
            )
            continue
        level = (
            f"level {area.level} ({area.level_name})" if area.level is not None else "undetermined"
        )
        settled = "" if area.settled else " [yellow]not settled[/]"
        console.print(
            f"{area.title}: {level}{settled} -> " + "; ".join(ACTION_WORDS[a] for a in area.actions)
        )
    console.print(
        f"[bold]Recommendation:[/] {ACTION_WORDS[report.decision.action]}. {report.decision.summary}"
    )


def _results_table(report: Report, *, narrow: bool) -> Table:
    table = Table(
        title=f"assay audit of {report.target.model} ({report.tier} tier)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    ids = [s.id for s in report.suites] or ["suite"]
    findings = [s.decision.outcome.replace("_", " ") for s in report.suites] or ["finding"]
    # Fixed widths for ids and findings: Rich squeezes (and then cuts) only the other
    # columns. A finding wraps between its words; a long group label folds.
    table.add_column("suite", width=max(map(len, ids)), overflow="fold")
    table.add_column("n", justify="right", overflow="fold")
    table.add_column("result (95% CI)", overflow="fold")
    table.add_column("threshold", justify="right", overflow="fold")
    longest = max(len(w) for f in findings for w in f.split())
    table.add_column("finding", width=longest if narrow else max(map(len, findings)))
    for s in report.suites:
        m = s.metrics[0]
        threshold = (
            format_value(s.decision.threshold, m.unit) if s.decision.threshold is not None else "-"
        )
        outcome = s.decision.outcome
        table.add_row(
            f"{escape(s.id)}\n[dim]{s.tier}/{escape(s.method)}[/]",
            suite_counts(report, s).short,
            f"{escape(m.name.replace('_', ' '))}: {_estimate(m)}",
            threshold,
            f"[{_STYLE[outcome]}]{outcome.replace('_', ' ')}[/]",
        )
        for g in s.breakdown:
            gm = g.metrics[0]
            table.add_row(
                f"  {escape(group_label(s, g))}",
                str(gm.n),
                _estimate(gm),
                "",
                "",
                style="dim",
            )
    return table


def _estimate(m: Metric) -> str:
    if m.value is None:
        return "no data"
    value = format_value(m.value, m.unit)
    if m.ci is None:
        return value
    return f"{value} ({format_value(m.ci.low, m.unit)} to {format_value(m.ci.high, m.unit)})"
