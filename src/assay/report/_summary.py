"""The terminal summary printed at the end of an audit."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from assay.report._html import ACTION_WORDS
from assay.report._model import Report

_STYLE = {
    "capability_present": "bold red",
    "safeguard_inadequate": "bold red",
    "capability_ruled_out": "green",
    "safeguard_adequate": "green",
    "inconclusive": "yellow",
    "no_data": "yellow",
    "no_threshold": "",
}


def print_summary(report: Report, console: Console) -> None:
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
        value = f"{m.value:.3f}" if m.value is not None else "-"
        ci = f"{m.ci.low:.3f}-{m.ci.high:.3f}" if m.ci else "-"
        threshold = f"{s.decision.threshold:.2f}" if s.decision.threshold is not None else "-"
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
            gv = f"{gm.value:.3f}" if gm.value is not None else "-"
            gci = f"{gm.ci.low:.3f}-{gm.ci.high:.3f}" if gm.ci else "-"
            table.add_row(f"  {g.value}", "", str(gm.n), "", gv, gci, "", "", style="dim")
    console.print(table)
    for s in report.suites:
        if s.judge is not None:
            j = s.judge
            console.print(
                f"[dim]{s.id}: refusal judge {j.judge}@{j.version} accuracy {j.accuracy.value:.3f} "
                f"(sensitivity {j.sensitivity.value:.3f}, specificity {j.specificity.value:.3f}) on {j.n} labelled replies[/]"
            )
    console.print(
        f"[bold]Recommendation:[/] {ACTION_WORDS[report.decision.action]}. {report.decision.summary}"
    )
