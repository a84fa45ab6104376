"""The terminal summary printed at the end of an audit."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from assay.report._html import ACTION_WORDS
from assay.report._model import Report
from assay.stats import format_value

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
    if report.decision.not_assessed:
        console.print(
            "[bold yellow]Not assessed:[/] " + "; ".join(report.decision.not_assessed),
            soft_wrap=True,
        )
    table = Table(
        title=f"assay audit of {report.target.model} ({report.tier} tier)", title_justify="left"
    )
    table.add_column("suite")
    table.add_column("method")
    table.add_column("n", justify="right")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("threshold", justify="right")
    table.add_column("finding")
    for s in report.suites:
        m = s.metrics[0]
        value = format_value(m.value, m.unit)
        ci = (
            f"{format_value(m.ci.low, m.unit)} to {format_value(m.ci.high, m.unit)}"
            if m.ci
            else "-"
        )
        threshold = (
            format_value(s.decision.threshold, m.unit) if s.decision.threshold is not None else "-"
        )
        n = f"{s.n}" if s.n == s.n_planned else f"{s.n}/{s.n_planned}"
        outcome = s.decision.outcome
        table.add_row(
            s.id,
            f"{s.tier}/{s.method}",
            n,
            m.name,
            value,
            ci,
            threshold,
            f"[{_STYLE[outcome]}]{outcome.replace('_', ' ')}[/]",
        )
        for g in s.breakdown:
            gm = g.metrics[0]
            gv = format_value(gm.value, gm.unit)
            gci = (
                f"{format_value(gm.ci.low, gm.unit)} to {format_value(gm.ci.high, gm.unit)}"
                if gm.ci
                else "-"
            )
            table.add_row(f"  {g.value}", "", str(gm.n), "", gv, gci, "", "", style="dim")
    console.print(table)
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
