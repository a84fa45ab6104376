"""The outputs of an audit: the report (results, decisions under the plan's
multiplicity control), ``samples.jsonl``, the HTML page, the signed gateway log and
the attestation."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING

from assay import __version__
from assay._util.hashing import sha256_file
from assay._util.paths import atomic_write_text
from assay.audit._config import GATEWAY_LOG_FILE
from assay.audit._endpoint import Endpoint
from assay.audit._planning import AuditRun, run_info
from assay.audit._store import RunStore
from assay.policy import control_findings, decide_plan

if TYPE_CHECKING:
    from assay.report import GatewayLogInfo, Report


def build_report(run: AuditRun, store: RunStore, errors: dict[str, int]) -> Report:
    """The report of ``run`` from the samples in ``store``."""
    from assay.report import (
        Capabilities,
        Environment,
        PlanInfo,
        Report,
        TargetInfo,
        suite_result,
    )

    config, endpoint, plan, out = run.config, run.endpoint, run.plan, run.out
    results = []
    complete = True
    for p in run.planned:
        wanted = set(p.sample_ids)
        records = [r for r in store.records(p.spec.id) if r.sample_id in wanted]
        if len(records) < len(wanted):
            complete = False
        info = run_info(
            p,
            judge_validation=run.judges.get(p.spec.id),
            errors=errors.get(p.spec.id, 0),
            notes=[p.limit_note] if p.limit_note else [],
        )
        results.append(suite_result(info, records))
    controlled = control_findings(
        [(r.metrics[0], r.decision) for r in results], plan.statistics.multiple_comparisons
    )
    for result, controlled_decision in zip(results, controlled, strict=True):
        result.decision = controlled_decision
    decision = decide_plan(plan.risk_areas, {r.id: r.decision for r in results}, plan.authorities)
    logs_dir = out / "logs"
    logs = (
        sorted(str(p.relative_to(out)) for p in logs_dir.glob("*.eval"))
        if logs_dir.is_dir()
        else []
    )
    caps = endpoint.capabilities
    return Report(
        run_id=run.run_id,
        config_digest=run.config_digest,
        created_at=store.meta("created_at") or run.started.isoformat(),
        completed_at=datetime.now(UTC).isoformat(),
        complete=complete,
        target=TargetInfo(
            spec=str(endpoint.spec),
            kind=endpoint.spec.kind.value,
            model=endpoint.model,
            base_url=None if endpoint.in_process else endpoint.base_url,
            fingerprint=endpoint.fingerprint,
            capabilities=Capabilities(**caps.model_dump()),
        ),
        tier_requested=config.tier,
        tier=run.tier,
        seed=config.seed,
        plan=PlanInfo(
            name=plan.name,
            digest=plan.digest,
            suites=[p.spec.id for p in run.planned],
            thresholds={f"{t.suite}:{t.unit}": t.value for t in plan.thresholds},
            # the design in effect, also when the plan leaves it to the default
            statistics={
                **plan.statistics.model_dump(exclude_none=True),
                "design": plan.statistics.design_kind,
            },
        ),
        decision=decision,
        suites=results,
        samples_digest="",
        inspect_logs=logs,
        environment=Environment(
            assay_version=__version__,
            inspect_ai_version=package_version("inspect-ai"),
            python_version=platform.python_version(),
            platform=f"{platform.system()} {platform.machine()}",
        ),
        notes=run.notes,
    )


def write_outputs(run: AuditRun, report: Report, store: RunStore) -> dict[str, Path]:
    """Write the report's files into the audit folder, sign them, and say where they are."""
    from assay.report import Report, render_html, validate_report

    planned, out = run.planned, run.out
    wanted = {(p.spec.id, sid) for p in planned for sid in p.sample_ids}
    records = [r for r in store.records() if (r.suite, r.sample_id) in wanted]
    samples_path = out / "samples.jsonl"
    store.export_jsonl(samples_path, records)
    report.samples_digest = sha256_file(samples_path)
    data = report.model_dump(mode="json")
    validate_report(data)
    report_path = out / "report.json"
    atomic_write_text(report_path, Report.model_validate(data).model_dump_json(indent=2) + "\n")
    html_path = out / "report.html"
    descriptions = {p.spec.id: p.spec.description for p in planned}
    atomic_write_text(html_path, render_html(report, descriptions))
    files = {"report.json": report_path, "report.html": html_path, "samples.jsonl": samples_path}
    from assay.attest import attest_audit

    summary = None
    if report.gateway_log is not None:
        summary = report.gateway_log.model_dump(exclude={"file"})
    files["attestation.json"] = attest_audit(out, report, gateway_log=summary)
    if report.gateway_log is not None:
        files[report.gateway_log.file] = out / report.gateway_log.file
    return files


def export_gateway_log(endpoint: Endpoint, out: Path) -> GatewayLogInfo | None:
    """Export and sign the in-process gateway's log for this audit (gateway key from
    ASSAY_HOME), so the report and attestation carry its head and totals."""
    if endpoint.request_log is None or endpoint.engagement is None:
        return None
    from assay.attest import (
        gateway_log_summary,
        key_id,
        load_or_create_key,
        sign_gateway_log,
        write_envelope,
    )
    from assay.report import GatewayLogInfo

    export = endpoint.request_log.export(endpoint.engagement)
    key = load_or_create_key("gateway")
    envelope = sign_gateway_log(export, key)
    write_envelope(out / GATEWAY_LOG_FILE, envelope)
    summary = gateway_log_summary(envelope, {key_id(key.public_key): key.public_key})
    return GatewayLogInfo(**summary, file=GATEWAY_LOG_FILE)
