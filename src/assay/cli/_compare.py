"""``assay compare``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from assay._util.console import table_console
from assay._util.errors import AssayError


def compare_command(
    a: Path = typer.Argument(..., help="Baseline: report.json or its audit folder."),
    b: Path = typer.Argument(..., help="Candidate: report.json or its audit folder."),
    fail_on_regression: bool = typer.Option(
        False, "--fail-on-regression", help="Exit 1 when any suite regressed (for CI)."
    ),
) -> None:
    """Compare two audits suite by suite (B minus A), paired on shared items where the
    sample records allow, and flag regressions: changes whose whole 95% interval lies on
    the unsafe side."""
    from assay.report import compare_reports
    from assay.stats import format_value

    comparison = compare_reports(a, b)
    table = Table("suite", "metric", "A", "B", "B - A (95% interval)", "verdict", "method")
    for s in comparison.suites:
        change = (
            "-"
            if s.difference is None or s.low is None or s.high is None
            else f"{format_value(s.difference, s.unit)} ({format_value(s.low, s.unit)} to "
            f"{format_value(s.high, s.unit)})"
        )
        colour = {"regression": "red", "improvement": "green"}.get(s.verdict, "default")
        table.add_row(
            s.suite,
            s.metric,
            format_value(s.a, s.unit),
            format_value(s.b, s.unit),
            change,
            f"[{colour}]{s.verdict.replace('_', ' ')}[/]",
            s.method + (f"; {s.note}" if s.note else ""),
        )
    console = table_console()
    console.print(f"A = {comparison.a}, B = {comparison.b}")
    console.print(table)
    regressions = comparison.regressions
    if regressions:
        names = ", ".join(s.suite for s in regressions)
        console.print(f"[red]{len(regressions)} regression(s):[/] {names}")
        if fail_on_regression:
            raise AssayError(f"{len(regressions)} suite(s) regressed: {names}")
    else:
        console.print("no regressions")
