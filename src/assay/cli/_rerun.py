"""``assay rerun``."""

from __future__ import annotations

from pathlib import Path

import typer

from assay._util.console import table_console
from assay._util.errors import UsageError


def rerun_command(
    attestation: Path = typer.Argument(..., help="attestation.json of the audit to re-execute."),
    out: Path = typer.Option(
        Path("assay-rerun"), "--out", "-o", help="Where the rerun's files go (resumable)."
    ),
    key: list[Path] = typer.Option(
        [], "--key", "-k", help="Trusted signer public key (PEM); default: your tester key."
    ),
    target: str | None = typer.Option(
        None, "--target", "-t", help="Run against this target instead of the recorded one."
    ),
    plan: str | None = typer.Option(
        None, "--plan", help="The plan file the audit used, when it was not a built-in plan."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Re-execute an attested audit from its recorded configuration (target, tier, plan,
    seed, and the very items when samples.jsonl is beside the attestation) and report how
    far the results agree: items scored identically, decisions, paired differences."""
    if not attestation.is_file():
        raise UsageError(f"no such file: {attestation}")
    from assay.attest import keys_dir, load_public_key

    paths = list(key) or [keys_dir() / "tester.pub"]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise UsageError(f"no public key at {missing[0]}", hint="pass --key SIGNER.pub")
    from assay.audit import rerun_attestation
    from assay.stats import format_value

    result = rerun_attestation(
        attestation,
        out,
        [load_public_key(p) for p in paths],
        target=target,
        plan_path=plan,
        show_progress=not quiet,
    )
    console = table_console()
    for s in result.comparison.suites:
        change = "-" if s.difference is None else format_value(s.difference, s.unit)
        console.print(
            f"{s.suite}: {format_value(s.a, s.unit)} -> {format_value(s.b, s.unit)} "
            f"(difference {change}; {s.verdict.replace('_', ' ')})"
        )
    share = result.items_identical / result.items_compared if result.items_compared else 0.0
    console.print(
        f"items scored identically: {result.items_identical} of {result.items_compared} "
        f"({share:.1%}); decisions agree: {result.decisions_agree} of {result.decisions_total}; "
        f"model fingerprint {'unchanged' if result.same_fingerprint else 'DIFFERENT'}"
        + (
            ""
            if result.same_items
            else "; the original samples.jsonl was not at hand, so the "
            "items were re-drawn from the seed"
        )
    )
