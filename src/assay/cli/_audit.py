"""``assay audit``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from assay.models import DEFAULT_TARGET, parse_target
from assay.tiers import Tier

if TYPE_CHECKING:
    from assay.audit import AuditConfig


def audit_command(
    target: str = typer.Option(
        DEFAULT_TARGET,
        "--target",
        "-t",
        help="What to test: builtin:smollm2, hf:PATH_OR_ID, openai:BASE_URL or gateway:URL.",
    ),
    tier: Tier | None = typer.Option(
        None,
        "--tier",
        help="Access tier to test at (default grey; falls back to black with a note when the "
        "endpoint returns no logprobs, unless given explicitly).",
        case_sensitive=False,
    ),
    plan: str = typer.Option(
        "quick",
        "--plan",
        "-p",
        help="Plan: quick (every suite, small samples; minutes), standard (decision-sized samples, sequential stopping) or a path to a plan YAML file (see `assay plan show`).",
    ),
    full: bool = typer.Option(
        False, "--full", help="Every item of every suite, ignoring the plan's sample limits."
    ),
    suite: list[str] = typer.Option(
        [], "--suite", "-s", help="Run only these suites (repeatable)."
    ),
    limit: int | None = typer.Option(
        None, "--limit", "-n", min=1, help="At most N items per suite (a seeded random subset)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for sampling items and generation."),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Model name at an openai:/gateway: endpoint (default: the only one it serves).",
    ),
    api_key_env: str | None = typer.Option(
        None,
        "--api-key-env",
        help="Environment variable holding the key (default ASSAY_OPENAI_API_KEY or OPENAI_API_KEY for openai:, ASSAY_GATEWAY_TOKEN for gateway:).",
    ),
    out: Path = typer.Option(
        Path("assay-out"),
        "--out",
        "-o",
        help="Output directory; rerunning into it resumes the audit.",
    ),
    fresh: bool = typer.Option(
        False, "--fresh", help="Discard earlier results in --out instead of resuming."
    ),
    max_connections: int = typer.Option(
        32, "--max-connections", min=1, help="Concurrent requests to the endpoint."
    ),
    sequential: bool | None = typer.Option(
        None,
        "--sequential/--fixed",
        help="Stop rate suites once their finding is settled (anytime-valid confidence "
        "sequences), or always run the planned samples (default: the plan's choice).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or summary table."),
    engagement: int | None = typer.Option(
        None,
        "--engagement",
        help="A registry engagement: audit its gateway with the token sealed to your key.",
    ),
    registry: str | None = typer.Option(
        None, "--registry", help="The registry of --engagement (default $ASSAY_REGISTRY_URL)."
    ),
    sealing_key: str = typer.Option(
        "tester", "--sealing-key", help="Your X25519 key in $ASSAY_HOME/keys (with --engagement)."
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Run nothing: print what the audit would cost (queries, prompt and generated "
        "tokens, white-box budgets, wall time from a short calibration, money with "
        "--price-in/--price-out) per suite and in total.",
    ),
    price_in: float | None = typer.Option(
        None, "--price-in", help="With --dry-run: price per million prompt tokens."
    ),
    price_out: float | None = typer.Option(
        None, "--price-out", help="With --dry-run: price per million generated tokens."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="With --dry-run: print the estimate as JSON (assay-dry-run-1)."
    ),
    calibrate: bool = typer.Option(
        True,
        "--calibrate/--no-calibrate",
        help="With --dry-run: time a few calls on the target to estimate wall time "
        "(cached per target and machine).",
    ),
) -> None:
    """Run an audit plan against a target and write report.json, report.html,
    attestation.json, samples.jsonl and the Inspect logs into --out."""
    console = Console(stderr=True)
    if not dry_run and (price_in is not None or price_out is not None or as_json):
        from assay._util.errors import UsageError

        raise UsageError(
            "--price-in, --price-out and --json go with --dry-run",
            hint="add --dry-run to estimate the audit's cost without running it",
        )
    if not quiet and console.is_terminal:  # importing Inspect and torch takes seconds: say so
        console.print("[dim]starting: loading the evaluation libraries[/]", highlight=False)
    if engagement is not None:
        target, api_key_env, tier = _engagement_target(engagement, registry, sealing_key, tier)
    if not dry_run:
        # run_audit's first check, made before the audit machinery loads: a malformed
        # target is refused at once (a dry run checks the plan first, so it waits)
        parse_target(target)
    from assay.audit import AuditConfig, run_audit

    config = AuditConfig(
        target=target,
        tier=tier or Tier.GREY,
        tier_explicit=tier is not None,
        plan=plan,
        suites=suite or None,
        limit=limit,
        seed=seed,
        model=model,
        api_key_env=api_key_env,
        out=out,
        fresh=fresh,
        max_connections=max_connections,
        full=full,
        sequential=sequential,
        show_progress=not quiet,
    )
    if dry_run:
        _dry_run(config, console, price_in, price_out, as_json=as_json, calibrate=calibrate)
        return
    outcome = run_audit(config, console)
    status = "resumed and completed" if outcome.resumed else "completed"
    console.print(
        f"audit {status}; files in {outcome.out}/: " + ", ".join(sorted(outcome.files)) + ", logs/"
    )


def _dry_run(
    config: AuditConfig,
    console: Console,
    price_in: float | None,
    price_out: float | None,
    *,
    as_json: bool,
    calibrate: bool,
) -> None:
    import json

    from assay.audit import estimate_audit, print_estimate

    def say(phase: str) -> None:
        if config.show_progress and console.is_terminal:
            console.print(f"[dim]{phase}[/]", highlight=False)

    estimate = estimate_audit(
        config, console, price_in=price_in, price_out=price_out, calibrate=calibrate, say=say
    )
    if as_json:
        typer.echo(json.dumps(estimate.as_json(), indent=2))
    else:
        print_estimate(estimate)


def _engagement_target(
    engagement: int, registry: str | None, sealing_key: str, tier: Tier | None
) -> tuple[str, str, Tier]:
    """The engagement's gateway as the target; its opened token in a variable of this
    process only."""
    import os

    from assay.registry._client import RegistryClient, engagement_access
    from assay.registry._sealed import load_sealing_key

    with RegistryClient(registry) as client:
        access = engagement_access(client, engagement, load_sealing_key(sealing_key))
    os.environ[ENGAGEMENT_TOKEN_VAR] = access.token
    return f"gateway:{access.gateway_url}", ENGAGEMENT_TOKEN_VAR, tier or Tier(access.tier)


ENGAGEMENT_TOKEN_VAR = "ASSAY_ENGAGEMENT_GATEWAY_TOKEN"
