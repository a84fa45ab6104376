"""``assay plan show|validate|power``."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.table import Table

from assay._util.console import table_console

plan_app = typer.Typer(
    help="Audit plans: suites, sample sizes, thresholds, capability levels and actions.",
    no_args_is_help=True,
)


@plan_app.command("list")
def list_plans() -> None:
    """List the built-in plans."""
    from assay.audit import builtin_plan_names, load_plan

    table = Table("plan", "suites", "sequential", "description")
    for name in builtin_plan_names():
        plan = load_plan(name)
        table.add_row(
            name,
            str(len(plan.suites)),
            "yes" if plan.statistics.sequential else "no",
            plan.description,
        )
    table_console().print(table)


@plan_app.command("show")
def show_plan(
    plan: str = typer.Argument("quick", help="Built-in plan name or path to a plan YAML file."),
) -> None:
    """Print a plan in full (with `extends:` resolved) as YAML; a valid starting point
    for your own plan."""
    from assay.audit import load_plan

    loaded = load_plan(plan)
    typer.echo(f"# assay audit plan, digest {loaded.digest}")
    typer.echo(yaml.safe_dump(loaded.model_dump(mode="json"), sort_keys=False, width=100).rstrip())


@plan_app.command("validate")
def validate_plan(
    path: Path = typer.Argument(..., help="Plan YAML file to check."),
) -> None:
    """Check a plan file against the plan schema and the suites assay knows.
    Exits 0 when valid, 2 with the first problem otherwise."""
    from assay._util.errors import UsageError

    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    from assay.audit import load_plan

    loaded = load_plan(str(path))
    typer.echo(
        f"{path}: valid plan {loaded.name!r}: {len(loaded.suites)} suites, "
        f"{len(loaded.thresholds)} thresholds, {len(loaded.risk_areas)} risk areas; "
        f"digest {loaded.digest}"
    )


@plan_app.command("power")
def plan_power(
    plan: str = typer.Argument("standard", help="Built-in plan name or path to a plan YAML file."),
    power: float = typer.Option(0.8, "--power", min=0.5, max=0.99, help="Target power."),
    effect: float = typer.Option(
        0.1, "--effect", min=0.01, max=0.5, help="Distance from the threshold to plan for."
    ),
) -> None:
    """For each rate threshold in a plan: the sample size the plan gives, the smallest
    true distance from the threshold it detects with the given power (each side), the
    sample size needed to detect --effect, and for each sampling design (fixed,
    group-sequential, confidence sequence) the exact chance of a settled finding at
    --effect from the threshold (above / below) and the expected sample size, at the
    level the plan's multiple-comparison control demands. Thresholds in other units
    (logits, scores) and metrics that are not a per-item rate (worst cases, model
    coefficients) are listed without figures: their power depends on more than the
    sample size."""
    from assay.audit import CONFIDENCE, load_plan
    from assay.stats import (
        Design,
        format_value,
        minimum_detectable_effect,
        operating_characteristics,
        sample_size_to_decide,
    )
    from assay.suites import get_suite

    loaded = load_plan(plan)
    interval = loaded.statistics.interval
    limits = {e.id: e.limit for e in loaded.suites}
    tested = {t.suite for t in loaded.thresholds}
    m = len([e for e in loaded.suites if e.id in tested])
    control = loaded.statistics.multiple_comparisons != "none"
    level = (1 - CONFIDENCE) / (m if control else 1)
    table = Table(
        "suite",
        "threshold",
        "n in plan",
        f"detects, above ({power:.0%} power)",
        "detects, below",
        f"n for ±{effect:.0%}",
        f"fixed: P(settled) ±{effect:.0%}",
        "group-seq.: P, mean n",
        "conf. seq.: P, mean n",
    )
    for t in loaded.thresholds:
        spec = get_suite(t.suite)
        if t.unit != "proportion" or not spec.per_sample_rate:
            table.add_row(t.suite, format_value(t.value, t.unit) + f" {t.unit}", *["-"] * 7)
            continue
        items = spec.item_count
        n = min(items, limits[t.suite] or items)
        mde = minimum_detectable_effect(n, t.value, power=power, method=interval)

        def distance(value: float | None) -> str:
            return "never" if value is None else f"{100 * value:.1f} points"

        needed = [
            sample_size_to_decide(p, t.value, power=power, method=interval)
            for p in (t.value + effect, t.value - effect)
            if 0 <= p <= 1
        ]
        designs = {
            "fixed": Design.fixed(n),
            "group": Design.group_sequential(
                n, loaded.statistics.looks, loaded.statistics.spending
            ),
            "sequence": Design.confidence_sequence(n, loaded.statistics.batch_for(n)),
        }
        cells = []
        for name, design in designs.items():
            sides = []
            mean_n = []
            for truth in (t.value + effect, t.value - effect):
                if not 0 < truth < 1:
                    continue
                oc = operating_characteristics(design, t.value, truth, level, interval)
                sides.append(oc.above if truth > t.value else oc.below)
                mean_n.append(oc.expected_n)
            text = " / ".join(f"{p:.2f}" for p in sides)
            cells.append(text if name == "fixed" else f"{text}, n {max(mean_n):.0f}")
        table.add_row(
            t.suite,
            format_value(t.value),
            f"{n}" + (f" (of {items})" if n < items else ""),
            distance(mde.distance_above),
            distance(mde.distance_below),
            " / ".join("-" if x is None else str(x) for x in needed),
            *cells,
        )
    console = table_console()
    console.print(table)
    console.print(
        f"{interval} intervals at 95%; 'detects' is the true distance from the threshold at "
        f"which a fixed sample settles the finding on the correct side with {power:.0%} "
        f"probability. P(settled) is the exact chance of a finding on the correct side at "
        f"±{effect:.0%} from the threshold (above / below) at {level:.2g}, the level "
        f"{'Holm or Benjamini-Hochberg across ' + str(m) + ' findings demands' if control else 'the plan uses'}"
        f"; mean n is the larger expected sample size of the two. The plan uses "
        f"{loaded.statistics.design_kind}."
    )
