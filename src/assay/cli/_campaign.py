"""``assay campaign``: many targets against one or more plans, locally or on Ray."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

campaign_app = typer.Typer(
    help="Audit many targets against one or more plans and compare them.",
    no_args_is_help=True,
)


class ExecutorChoice(StrEnum):
    LOCAL = "local"
    RAY = "ray"


@campaign_app.command("run")
def run_command(
    campaign_file: Path = typer.Argument(..., help="The campaign YAML (see docs/campaigns.md)."),
    executor: ExecutorChoice = typer.Option(
        ExecutorChoice.LOCAL,
        "--executor",
        "-e",
        help="local: one audit after another in this process; ray: suites as Ray tasks.",
        case_sensitive=False,
    ),
    address: str = typer.Option(
        "auto",
        "--address",
        help="Ray cluster address (with --executor ray): auto finds the one `ray start "
        "--head` started on this machine; or HOST:PORT.",
    ),
    out: Path = typer.Option(
        Path("campaign-out"),
        "--out",
        "-o",
        help="Output folder: TARGET/PLAN/ per audit, comparison.json and comparison.md; "
        "rerunning resumes.",
    ),
    max_in_flight: int | None = typer.Option(
        None,
        "--max-in-flight",
        min=1,
        help="Ray tasks running at once (default twice the cluster's CPUs).",
    ),
    retries: int = typer.Option(
        2, "--retries", min=0, help="Resubmissions of a failed Ray task (on what is left)."
    ),
    fresh: bool = typer.Option(False, "--fresh", help="Discard earlier results in --out."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or summaries."),
) -> None:
    """Audit every target of CAMPAIGN_FILE against every plan; write each audit's folder
    and one comparison of every target x risk area. Exit 1 when an audit failed."""
    from assay.campaign import load_campaign, run_campaign

    console = Console(stderr=True)
    campaign, plans = load_campaign(campaign_file)
    outcome = run_campaign(
        campaign,
        plans,
        out,
        executor=executor.value,
        address=address,
        max_in_flight=max_in_flight,
        retries=retries,
        fresh=fresh,
        show_progress=not quiet,
        console=console,
    )
    console.print(
        f"campaign {campaign.name}: {len(outcome.audits) - len(outcome.failed)} of "
        f"{len(outcome.audits)} audit(s) completed; comparison in {outcome.out}/comparison.md",
        soft_wrap=True,
    )
    if outcome.failed:
        raise typer.Exit(1)


@campaign_app.command("validate")
def validate_command(
    campaign_file: Path = typer.Argument(..., help="The campaign YAML."),
) -> None:
    """Check a campaign file and its plans; exit 0 or 2."""
    from assay.campaign import load_campaign

    campaign, plans = load_campaign(campaign_file)
    typer.echo(
        f"{campaign_file}: {len(campaign.targets)} target(s) x {len(plans)} plan(s) "
        f"({', '.join(p.name for p in plans)})"
    )
