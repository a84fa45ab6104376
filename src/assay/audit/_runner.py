"""``assay audit``: run a plan's suites through Inspect against a target, resumably.

The steps live beside this module: planning (:mod:`assay.audit._planning`), execution
(:mod:`assay.audit._execution`) and the outputs (:mod:`assay.audit._outputs`); this
module opens the endpoint and the run store and calls them in order.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from assay._util.console import table_console
from assay._util.errors import UsageError
from assay.audit._config import GATEWAY_DB, RECEIPTS_FILE, AuditConfig, AuditOutcome
from assay.audit._endpoint import keep_receipt, open_endpoint
from assay.audit._execution import RunnerFactory, run_suites, run_techniques
from assay.audit._outputs import build_report, export_gateway_log, write_outputs
from assay.audit._planning import check_same_audit, plan_audit, resolve_plan
from assay.audit._store import STORE_FILE, RunStore
from assay.models import parse_target


def run_audit(
    config: AuditConfig, console: Console | None = None, *, runner: RunnerFactory | None = None
) -> AuditOutcome:
    """Run (or resume) an audit and write its report files into ``config.out``.

    ``runner`` replaces the in-process Inspect runner (a campaign's Ray executor)."""
    console = console or Console(stderr=True)
    spec = parse_target(config.target)
    config, plan, suite_specs = resolve_plan(config)
    out = config.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    if config.fresh:
        (out / GATEWAY_DB).unlink(missing_ok=True)
    store = RunStore(out / STORE_FILE)
    started = datetime.now(UTC)

    def say(phase: str) -> None:  # for a person watching; logs keep errors to one line
        if config.show_progress and console.is_terminal:
            console.print(f"[dim]{phase}[/]", highlight=False)

    try:
        # before loading any model: a folder that holds another audit is refused at once
        check_same_audit(store, config, plan)
        with open_endpoint(
            spec,
            tier=config.tier,
            model=config.model,
            api_key_env=config.api_key_env,
            show_progress=config.show_progress,
            gateway_db=out / GATEWAY_DB,
            on_phase=say,
        ) as endpoint:
            run = plan_audit(
                config, plan, suite_specs, endpoint, console, notes=[], started=started, say=say
            )
            resumed = run.bind(store)
            say("starting Inspect")
            executed = run_suites(run, store, runner)
            techniques = run_techniques(run)
            gateway_log = export_gateway_log(endpoint, out)
            keep_receipt(endpoint, out / RECEIPTS_FILE)
    finally:
        store.close()

    store = RunStore(out / STORE_FILE)
    try:
        report = build_report(run, store, executed.errors)
        report.gateway_log = gateway_log
        report.techniques = techniques
        files = write_outputs(run, report, store)
    finally:
        store.close()
    if config.show_progress:
        from assay.report import print_summary

        print_summary(report, table_console())
    for suite, message in executed.error_messages.items():
        console.print(
            f"[yellow]warning:[/] {executed.errors[suite]} sample(s) of {suite} failed: {message}"
        )
    return AuditOutcome(
        report=report, out=out, resumed=resumed, samples_run=executed.samples_run, files=files
    )
