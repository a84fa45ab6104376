"""``assay verify`` and ``assay suites``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from assay._util.console import table_console
from assay._util.errors import AssayError, UsageError

suites_app = typer.Typer(help="The test suites assay ships.", no_args_is_help=True)


@suites_app.command("list")
def list_suites() -> None:
    """List suites with their risk area, tiers, version, item count, primary metric and data digest."""
    from assay.suites import all_suites

    suites = all_suites()
    console = table_console()
    narrow = console.width < 160  # the digests alone take 71 columns
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    # the id column has a fixed width so Rich never cuts an id; the others wrap
    table.add_column("suite", width=max(len(s.id) for s in suites))
    headers = ["risk area", "tiers", "items", "primary metric"]
    if not narrow:
        headers[2:2] = ["version"]
    for header in headers:
        table.add_column(header, overflow="fold")
    if not narrow:
        table.add_column("data digest", no_wrap=True)
    for s in suites:
        row = [
            s.id,
            s.risk_area.replace("_", " "),
            ", ".join(t.value for t in s.tiers),
            str(s.item_count),
            f"{s.primary_metric.name.replace('_', ' ')} ({s.primary_metric.kind})",
        ]
        if not narrow:
            row[3:3] = [s.version]
        table.add_row(*row, *([] if narrow else [s.data_digest]))
    console.print(table)
    if narrow:
        console.print("versions and data digests:")
        for s in suites:
            console.print(f"  {s.id} {s.version} {s.data_digest}", soft_wrap=True)


def verify_command(
    attestation: Path = typer.Argument(..., help="attestation.json to verify."),
    key: list[Path] = typer.Option(
        [],
        "--key",
        "-k",
        help="Trusted public key (PEM); repeatable. Default: your own tester key.",
    ),
    threshold: int = typer.Option(
        1, "--threshold", min=1, help="How many of the trusted keys must have signed."
    ),
    artifacts: Path | None = typer.Option(
        None,
        "--artifacts",
        help="Folder with report.json and samples.jsonl; they must be there. Default: beside "
        "the attestation, where missing files are skipped.",
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Local model folder to check against the model's fingerprint."
    ),
    disclosure: list[Path] = typer.Option(
        [], "--disclosure", "-d", help="Disclosed records (assay disclose); repeatable."
    ),
    log_proof: Path | None = typer.Option(
        None, "--log-proof", help="Transparency-log inclusion proof (assay attest log)."
    ),
    log_key: list[Path] = typer.Option(
        [], "--log-key", help="Trusted public key of the log (PEM); repeatable."
    ),
    trusted_checkpoint: Path | None = typer.Option(
        None,
        "--trusted-checkpoint",
        help="A log checkpoint you already trust; the log must be consistent with it.",
    ),
    suite_check: bool = typer.Option(
        True,
        "--suite-check/--no-suite-check",
        help="Compare suite data digests with the suites installed here (loads the catalog: "
        "a few seconds).",
    ),
    registry: str | None = typer.Option(
        None,
        "--registry",
        help="Check against a registry: signed by a key the submitting organisation had "
        "registered, in its transparency log, and the log only grew since you last looked.",
    ),
    witness: Path | None = typer.Option(
        None,
        "--witness",
        help="With --registry: the file keeping the last checkpoint you saw "
        "(default: one per registry in $ASSAY_HOME/witness).",
    ),
) -> None:
    """Verify an audit attestation offline; exit 0 only when every check passes.

    Checks signatures by trusted keys, the statement and its predicate schema, file
    digests and the Merkle root over the records when the files are at hand, disclosed
    records, log inclusion and consistency with a checkpoint you already trust.
    """
    from assay.attest import keys_dir, load_public_key, verify_attestation

    for path in [attestation, *disclosure, *key, *log_key]:
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
    for option, value in (("--log-proof", log_proof), ("--trusted-checkpoint", trusted_checkpoint)):
        if value is not None and not value.is_file():
            raise UsageError(f"no such file: {value} ({option})")
    if model is not None and not model.is_dir():
        raise UsageError(f"no such folder: {model} (--model)")
    if artifacts is not None and not artifacts.is_dir():
        raise UsageError(f"no such folder: {artifacts} (--artifacts)")
    if log_proof is not None and not log_key:
        raise UsageError("--log-proof needs the log's public key", hint="pass --log-key LOG.pem")
    if trusted_checkpoint is not None and log_proof is None:
        raise UsageError("--trusted-checkpoint needs --log-proof (the newer checkpoint)")
    if registry is not None:
        from assay.registry._witness import verify_with_registry

        if key or log_proof is not None or trusted_checkpoint is not None:
            raise UsageError(
                "--registry brings the keys, the log proof and the checkpoint itself",
                hint="drop --key, --log-proof and --trusted-checkpoint, or --registry",
            )

        result, notes = verify_with_registry(
            attestation,
            registry,
            witness=witness,
            log_key=load_public_key(log_key[0]) if log_key else None,
            artifacts=artifacts,
            disclosures=disclosure,
            check_suites=suite_check,
        )
        for note in notes:
            Console(stderr=True, highlight=False).print(f"note: {escape(note)}")
        _print_checks(result)
        return
    paths = list(key)
    if not paths:
        default = keys_dir() / "tester.pub"
        if not default.is_file():
            raise UsageError("no trusted key given", hint="pass --key PUBLIC_KEY.pem")
        paths = [default]
    result = verify_attestation(
        attestation,
        [load_public_key(p) for p in paths],
        artifacts,
        threshold=threshold,
        model_dir=model,
        disclosures=disclosure,
        log_proof=log_proof,
        log_keys=[load_public_key(p) for p in log_key],
        trusted_checkpoint=trusted_checkpoint,
        check_suites=suite_check,
    )
    _print_checks(result)


def _print_checks(result: Any) -> None:
    console = Console(highlight=False, soft_wrap=True)
    for check in result.checks:
        mark = (
            "[yellow]skip[/]" if check.skipped else "[green]ok[/]" if check.ok else "[red]FAIL[/]"
        )
        console.print(f"{mark} {escape(check.name)}: {escape(check.detail)}")
    failure = result.first_failure
    if failure is not None:
        raise AssayError(f"verification failed at {failure.name}: {failure.detail}")
    console.print("[green]verified[/]")
