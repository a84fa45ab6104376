"""``assay verify`` and ``assay suites``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from assay._util.console import table_console
from assay._util.errors import AssayError, UsageError

suites_app = typer.Typer(help="The test suites assay ships.", no_args_is_help=True)


@suites_app.command("list")
def list_suites() -> None:
    """List suites with their risk area, tiers, version, item count, primary metric and data digest."""
    from assay.suites import all_suites

    table = Table(
        "suite", "risk area", "tiers", "version", "items", "primary metric", "data digest"
    )
    for s in all_suites():
        table.add_row(
            s.id,
            s.risk_area,
            ",".join(t.value for t in s.tiers),
            s.version,
            str(s.item_count),
            f"{s.primary_metric.name} ({s.primary_metric.kind})",
            s.data_digest,
        )
    table_console().print(table)


def verify_command(
    attestation: Path = typer.Argument(..., help="attestation.json to verify."),
    key: list[Path] = typer.Option(
        [],
        "--key",
        "-k",
        help="Trusted public key (PEM); repeatable. Default: your own tester key.",
    ),
    artifacts: Path | None = typer.Option(
        None,
        "--artifacts",
        help="Folder with report.json and samples.jsonl (default: beside the attestation).",
    ),
) -> None:
    """Verify an audit attestation offline: signatures by trusted keys, statement, file digests.
    Exits 0 only when every check passes."""
    from assay.attest import keys_dir, load_public_key, verify_attestation

    if not attestation.is_file():
        raise UsageError(f"no such file: {attestation}")
    paths = list(key)
    if not paths:
        default = keys_dir() / "tester.pub"
        if not default.is_file():
            raise UsageError("no trusted key given", hint="pass --key PUBLIC_KEY.pem")
        paths = [default]
    result = verify_attestation(attestation, [load_public_key(p) for p in paths], artifacts)
    console = Console()
    for check in result.checks:
        mark = "[green]ok[/]" if check.ok else "[red]FAIL[/]"
        console.print(f"{mark} {check.name}: {check.detail}")
    failure = result.first_failure
    if failure is not None:
        raise AssayError(f"verification failed at {failure.name}: {failure.detail}")
    console.print("[green]verified[/]")
