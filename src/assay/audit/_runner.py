"""``assay audit``: run a plan's suites through Inspect against a target, resumably."""

from __future__ import annotations

import json
import platform
import random
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import Progress

from assay import __version__
from assay._util.console import table_console
from assay._util.errors import AssayError, UsageError
from assay._util.hashing import sha256_file, sha256_json
from assay._util.progress import advance, audit_progress
from assay.audit._endpoint import Endpoint, keep_receipt, open_endpoint
from assay.audit._plan import CONFIDENCE, DEFAULT_PLAN, Plan, Threshold, get_plan
from assay.audit._store import STORE_FILE, RunStore
from assay.gateway import Tier
from assay.models import DEFAULT_TARGET, parse_target
from assay.policy import control_findings, decide_plan
from assay.report import (
    Capabilities,
    Environment,
    GatewayLogInfo,
    PlanInfo,
    Report,
    SuiteRunInfo,
    TargetInfo,
    ThresholdSpec,
    can_settle,
    print_summary,
    rate_estimate,
    render_html,
    suite_result,
    validate_report,
)
from assay.stats import Design, SequentialMonitor
from assay.suites import EndpointFeatures, SuiteSpec, get_suite

GATEWAY_DB = "gateway.sqlite"  # an in-process gateway's tokens and request log
GATEWAY_LOG_FILE = "gateway-log.json"
RECEIPTS_FILE = "gateway-receipts.jsonl"  # signed checkpoints of the gateway's request log


class AuditConfig(BaseModel):
    """Everything that determines an audit's results, plus where they go."""

    target: str = DEFAULT_TARGET
    tier: Tier = Tier.GREY
    tier_explicit: bool = False
    plan: str = DEFAULT_PLAN
    suites: list[str] | None = None
    limit: int | None = Field(default=None, ge=1)
    seed: int = 0
    model: str | None = None
    api_key_env: str | None = None
    out: Path = Path("assay-out")
    fresh: bool = False
    max_connections: int = Field(default=32, ge=1)
    full: bool = False
    sequential: bool | None = Field(
        default=None, description="stop rate suites early when settled (default: the plan's choice)"
    )
    only_samples: dict[str, list[str]] | None = Field(
        default=None, description="score exactly these sample ids per suite (a rerun)"
    )
    show_progress: bool = True


# How audits call Inspect. Every scored sample is already committed to the run store
# by the recorder, so Inspect's own live buffer (for watching a run in its viewer)
# is off and its log file is written in large chunks: both cost time per sample.
INSPECT_EVAL_OPTIONS: dict[str, Any] = {
    "display": "none",
    "log_level": "error",
    "log_realtime": False,
    "log_buffer": 100,
    "score_display": False,
}


class AuditInterrupted(AssayError):
    """The audit stopped early; finished samples are saved."""

    exit_code = 130


@dataclass
class AuditOutcome:
    report: Report
    out: Path
    resumed: bool
    samples_run: int
    files: dict[str, Path] = field(default_factory=dict)


@dataclass
class _PlannedSuite:
    spec: SuiteSpec
    task: Any
    tier: Tier
    method: str
    params: dict[str, Any]
    sample_ids: list[str]
    thresholds: list[Threshold]
    provider: str = "chat"
    model_args: dict[str, Any] = field(default_factory=dict)
    design: Design | None = None  # a sequential design, for rate suites tested sequentially
    stop_threshold: float | None = None  # the threshold the stopping rule tests
    stopping_alpha: float | None = None  # the level the plan's multiplicity control demands
    interval: Literal["wilson", "clopper-pearson"] = "wilson"  # the plan's fixed-size interval
    n_max: int = 0
    # the task's full dataset, kept aside: inspect's task_with() replaces it in place
    samples: list[Any] = field(default_factory=list)
    stopped_early: bool = False
    limit_note: str | None = None  # --limit was above the plan's sample size


def run_audit(config: AuditConfig, console: Console | None = None) -> AuditOutcome:
    """Run (or resume) an audit and write its report files into ``config.out``."""
    console = console or Console(stderr=True)
    spec = parse_target(config.target)
    plan = get_plan(config.plan)
    if config.suites:
        plan = plan.only(config.suites)
    if plan.tier is not None and not config.tier_explicit:
        config = config.model_copy(update={"tier": Tier(plan.tier)})
    suite_specs = [get_suite(entry.id) for entry in plan.suites]
    out = config.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    if config.fresh:
        (out / GATEWAY_DB).unlink(missing_ok=True)
    store = RunStore(out / STORE_FILE)
    started = datetime.now(UTC)
    notes: list[str] = []

    def say(phase: str) -> None:  # for a person watching; logs keep errors to one line
        if config.show_progress and console.is_terminal:
            console.print(f"[dim]{phase}[/]", highlight=False)

    try:
        # before loading any model: a folder that holds another audit is refused at once
        _check_same_audit(store, config, plan)
        with open_endpoint(
            spec,
            tier=config.tier,
            model=config.model,
            api_key_env=config.api_key_env,
            show_progress=config.show_progress,
            gateway_db=out / GATEWAY_DB,
            on_phase=say,
        ) as endpoint:
            tier = endpoint.usable_tier(config.tier)
            if tier != config.tier:
                why = _tier_shortfall(endpoint, config.tier)
                if config.tier_explicit:
                    raise UsageError(
                        f"cannot audit at {config.tier.value} tier: {why}",
                        hint=f"use --tier {tier.value}",
                    )
                notes.append(f"ran at {tier.value} tier instead of {config.tier.value}: {why}")
                console.print(f"[yellow]note:[/] running at {tier.value} tier: {why}")
            notes += endpoint.notes
            if plan.techniques and tier is not Tier.WHITE:
                raise UsageError(
                    f"plan {plan.name!r} runs white-box techniques, but the audit runs at "
                    f"{tier.value} tier",
                    hint="use a white-tier gateway token (gateway: targets) or a local target",
                )
            say(f"preparing {len(suite_specs)} suite(s)")
            planned = [
                _plan_suite(s, entry, plan, tier, endpoint, config)
                for s, entry in zip(suite_specs, plan.suites, strict=True)
            ]
            capped = [p for p in planned if p.limit_note]
            if capped:
                console.print(
                    f"[yellow]note:[/] --limit {config.limit} is above the plan's sample size "
                    f"for {len(capped)} suite(s) ("
                    + ", ".join(f"{p.spec.id}: {len(p.sample_ids)}" for p in capped)
                    + "); each ran the plan's size. Pass --full to let --limit decide."
                )
            model_judge = _model_judge_validation(plan, out)
            judges = {p.spec.id: model_judge for p in planned if p.spec.accepts_model_judge}
            judges = {k: v for k, v in judges.items() if v is not None}
            _set_stopping_levels(planned, plan, judges, console)
            config_digest = _config_digest(config, endpoint, tier, planned)
            resumed = store.bind_config(
                config_digest, _config_record(config, endpoint, tier, planned), fresh=config.fresh
            )
            run_id = store.meta("run_id") or uuid.uuid4().hex
            store.set_meta("run_id", run_id)
            say("starting Inspect")
            samples_run, errors, error_messages = _run_suites(
                planned, store, endpoint, config, console, out, judges
            )
            techniques = _run_techniques(plan, endpoint, tier, config, console, out)
            gateway_log = _export_gateway_log(endpoint, out)
            keep_receipt(endpoint, out / RECEIPTS_FILE)
    finally:
        store.close()

    store = RunStore(out / STORE_FILE)
    try:
        report = _build_report(
            config,
            endpoint,
            tier,
            plan,
            planned,
            store,
            run_id,
            config_digest,
            started,
            errors,
            notes,
            out,
            judges,
        )
        report.gateway_log = gateway_log
        report.techniques = techniques
        files = _write_outputs(report, store, planned, out)
    finally:
        store.close()
    if config.show_progress:
        print_summary(report, table_console())
    for suite, message in error_messages.items():
        console.print(f"[yellow]warning:[/] {errors[suite]} sample(s) of {suite} failed: {message}")
    return AuditOutcome(
        report=report, out=out, resumed=resumed, samples_run=samples_run, files=files
    )


def _check_same_audit(store: RunStore, config: AuditConfig, plan: Plan) -> None:
    """Refuse, before the model loads, a folder holding an audit of another target,
    plan, seed, tier or set of suites (the full check follows once the endpoint is
    probed: methods, sample sizes, the model's fingerprint)."""
    if config.fresh or store.meta("config") is None:
        return
    earlier = json.loads(store.meta("config") or "{}")
    asked: dict[str, Any] = {
        "target": config.target,
        "plan": config.plan,
        "seed": config.seed,
        "suites": [entry.id for entry in plan.suites],
    }
    found = dict(earlier, suites=[s.get("id") for s in earlier.get("suites", [])])
    if config.tier_explicit:
        asked["tier"] = config.tier.value
    differ = [key for key, value in asked.items() if key in found and found[key] != value]
    if differ:
        key = differ[0]
        raise UsageError(
            f"{config.out} holds an audit with a different configuration ({key}: "
            f"{_brief(found[key])} there, {_brief(asked[key])} now)",
            hint="pass --fresh to discard it, or choose another --out directory",
        )


def _brief(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _tier_shortfall(endpoint: Endpoint, requested: Tier) -> str:
    caps = endpoint.capabilities
    if caps.granted_tier is not None and not caps.granted_tier.allows(requested):
        return f"the gateway token grants {caps.granted_tier.value}-tier access only"
    return "the endpoint returns no logprobs"


def _plan_suite(
    spec: SuiteSpec, entry: Any, plan: Plan, tier: Tier, endpoint: Endpoint, config: AuditConfig
) -> _PlannedSuite:
    caps = endpoint.capabilities
    features = EndpointFeatures(
        completion_logprobs=caps.completion_logprobs,
        chat_logprobs=caps.chat_logprobs,
        native_tools=caps.native_tools,
    )
    choice = spec.run_choice(tier, features)
    params = {**choice.params, **entry.params}
    if plan.judge is not None and spec.accepts_model_judge:
        params["judge"] = plan.judge.model_dump()
    task = spec.build(**params)
    sample_ids = [str(s.id) for s in task.dataset]
    limits = [n for n in (None if config.full else entry.limit, config.limit) if n is not None]
    limit = min(limits) if limits else None
    plan_size = None if config.full or entry.limit is None else min(entry.limit, len(sample_ids))
    limit_note = (
        f"--limit {config.limit} is above the plan's sample size for this suite: ran the "
        f"plan's {plan_size} items (pass --full to let --limit decide)"
        if config.limit is not None
        and plan_size is not None
        and config.limit > plan_size
        and config.only_samples is None
        else None
    )
    fixed_items = config.only_samples is not None and spec.id in config.only_samples
    if fixed_items:
        assert config.only_samples is not None
        chosen = set(config.only_samples[spec.id])
        sample_ids = [s for s in sample_ids if s in chosen]
    elif limit is not None and limit < len(sample_ids):
        metadata = [s.metadata or {} for s in task.dataset]
        sample_ids = _subset(
            sample_ids, limit, config.seed, metadata, spec.breakdown_key, spec.keep_together
        )
    thresholds = plan.thresholds_for(spec.id)
    kind = plan.statistics.design_kind
    if config.sequential is False:
        kind = "fixed"
    elif config.sequential and kind == "fixed":
        kind = "group-sequential"
    rate_threshold = next(
        (t for t in thresholds if t.metric == spec.primary_metric.name and t.unit == "proportion"),
        None,
    )
    design = None
    if kind != "fixed" and spec.per_sample_rate and rate_threshold is not None and not fixed_items:
        n = len(sample_ids)
        design = (
            Design.group_sequential(n, plan.statistics.looks, plan.statistics.spending)
            if kind == "group-sequential"
            else Design.confidence_sequence(n, plan.statistics.batch_for(n))
        )
    return _PlannedSuite(
        spec=spec,
        task=task,
        tier=choice.tier,
        method=choice.method,
        params=params,
        sample_ids=sample_ids,
        thresholds=thresholds,
        provider=choice.provider,
        model_args=choice.model_args,
        design=design,
        stop_threshold=None if design is None else rate_threshold.value,  # type: ignore[union-attr]
        interval=plan.statistics.interval,
        n_max=len(sample_ids),
        samples=list(task.dataset),
        limit_note=limit_note,
    )


def _subset(
    ids: list[str],
    limit: int,
    seed: int,
    metadata: list[dict[str, Any]],
    key: str | None,
    together: str | None = None,
) -> list[str]:
    """A seeded subset of about ``limit`` items, stratified by ``key`` (round-robin over
    its values) so every group stays represented; items sharing the ``together``
    value (e.g. the two sides of a mirrored pair) are taken or left as a unit."""
    rng = random.Random(seed)
    units: dict[str, list[str]] = {}
    unit_stratum: dict[str, str] = {}
    for sample_id, meta in zip(ids, metadata, strict=True):
        unit = str(meta.get(together)) if together else sample_id
        units.setdefault(unit, []).append(sample_id)
        unit_stratum.setdefault(unit, str(meta.get(key, "")) if key else "")
    strata: dict[str, list[str]] = {}
    for unit, stratum in unit_stratum.items():
        strata.setdefault(stratum, []).append(unit)
    for members in strata.values():
        rng.shuffle(members)
    chosen: list[str] = []
    # the strata's order is seeded too: when the limit is below their number, which
    # ones are left out must not always be the same
    order = sorted(strata)
    rng.shuffle(order)
    queues = [strata[k] for k in order]
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.extend(units[queue.pop()])
    keep = set(chosen)
    return [s for s in ids if s in keep]


def _config_record(
    config: AuditConfig, endpoint: Endpoint, tier: Tier, planned: list[_PlannedSuite]
) -> dict[str, Any]:
    return {
        "target": config.target,
        "model": endpoint.model,
        "fingerprint": endpoint.fingerprint.digest,
        "tier": tier.value,
        "plan": config.plan,
        "seed": config.seed,
        "suites": [
            {
                "id": p.spec.id,
                "version": p.spec.version,
                "data_digest": p.spec.data_digest,
                "method": p.method,
                "params": p.params,
                "samples": len(p.sample_ids),
                "design": None if p.design is None else [p.design.kind, list(p.design.looks)],
                "samples_digest": sha256_json(sorted(p.sample_ids)),
            }
            for p in planned
        ],
    }


def _config_digest(
    config: AuditConfig, endpoint: Endpoint, tier: Tier, planned: list[_PlannedSuite]
) -> str:
    return sha256_json(_config_record(config, endpoint, tier, planned))


def _inspect_model(endpoint: Endpoint, planned: _PlannedSuite, config: AuditConfig) -> Any:
    from inspect_ai.model import GenerateConfig, get_model

    provider = "openai-api-completions" if planned.provider == "completions" else "openai-api"
    connections = config.max_connections if endpoint.in_process else min(config.max_connections, 10)
    return get_model(
        f"{provider}/assay/{endpoint.model}",
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,
        config=GenerateConfig(max_connections=connections, seed=config.seed),
        memoize=False,
        **planned.model_args,
    )


def _run_suites(
    planned: list[_PlannedSuite],
    store: RunStore,
    endpoint: Endpoint,
    config: AuditConfig,
    console: Console,
    out: Path,
    judges: dict[str, Any],
) -> tuple[int, dict[str, int], dict[str, str]]:
    from assay.audit._recorder import quiet_inspect_startup, recording

    quiet_inspect_startup()
    totals: dict[str, tuple[int, int]] = {}
    for p in planned:
        done = {sid for sid, _epoch in store.done(p.spec.id)}
        wanted = set(p.sample_ids)
        totals[p.spec.id] = (len(wanted & done), len(wanted))
    fixed = [p for p in planned if p.design is None]
    sequential = [p for p in planned if p.design is not None]

    with _progress(config, console) as progress:
        bars = {
            sid: progress.add_task(sid, total=total, completed=done, start=False)
            for sid, (done, total) in totals.items()
        }
        counted = {"samples": 0}

        def on_sample(suite: str, ok: bool) -> None:
            counted["samples"] += 1
            if ok and suite in bars:
                advance(progress, bars[suite])

        with recording(store, on_sample) as rec:
            runner = _InspectRunner(endpoint, config, out)
            batch = [(p, _remaining(p, store, p.sample_ids)) for p in fixed]
            ran_any = runner.run([(p, r) for p, r in batch if r])
            for p in sequential:
                ran_any |= _run_sequentially(p, store, runner, judges.get(p.spec.id))
                bar = bars[p.spec.id]
                progress.update(bar, total=len(p.sample_ids), completed=len(p.sample_ids))
    if not ran_any:
        console.print("all planned samples are already scored; rebuilding the report")
    return counted["samples"], dict(rec.errors), dict(rec.error_messages)


def _remaining(p: _PlannedSuite, store: RunStore, ids: Sequence[str]) -> list[Any]:
    done = {sid for sid, _epoch in store.done(p.spec.id)}
    wanted = set(ids)
    return [s for s in p.samples if str(s.id) in wanted and str(s.id) not in done]


class _InspectRunner:
    """Runs batches of (suite, samples) through one ``inspect_ai.eval`` call each."""

    def __init__(self, endpoint: Endpoint, config: AuditConfig, out: Path) -> None:
        self.endpoint, self.config, self.out = endpoint, config, out

    def run(self, batch: list[tuple[_PlannedSuite, list[Any]]]) -> bool:
        from inspect_ai import eval as inspect_eval
        from inspect_ai import task_with
        from inspect_ai.dataset import MemoryDataset

        if not batch:
            return False
        tasks = [
            task_with(
                p.task,
                dataset=MemoryDataset(samples, name=p.spec.id),
                model=_inspect_model(self.endpoint, p, self.config),
            )
            for p, samples in batch
        ]
        try:
            logs = inspect_eval(
                tasks,
                log_dir=str(self.out / "logs"),
                max_tasks=1,
                max_samples=self.config.max_connections,
                fail_on_error=False,
                **INSPECT_EVAL_OPTIONS,
            )
        except KeyboardInterrupt:
            raise AuditInterrupted(
                "audit interrupted; every scored sample is saved",
                hint="run the same command again to resume",
            ) from None
        statuses = [log.status for log in logs]
        # Inspect swallows Ctrl-C and returns fewer logs (or cancelled ones).
        if len(logs) < len(tasks) or any(s == "cancelled" for s in statuses):
            raise AuditInterrupted(
                "audit interrupted; every scored sample is saved",
                hint="run the same command again to resume",
            )
        failed = [log for log in logs if log.status == "error"]
        if failed:
            message = (
                failed[0].error.message.splitlines()[0] if failed[0].error else "unknown error"
            )
            raise AssayError(
                f"suite {failed[0].eval.task} failed: {message}",
                hint="scored samples are saved; rerun to resume",
            )
        return True


def _run_sequentially(
    p: _PlannedSuite, store: RunStore, runner: _InspectRunner, judge: Any = None
) -> bool:
    """Score ``p``'s samples in a seeded random order, up to each of its design's looks in
    turn, until :class:`~assay.stats.SequentialMonitor` (the rule the benchmarks measure)
    finds the finding settled at the plan's stopping level, or the samples run out.
    Shrinks ``p.sample_ids`` to the samples used.

    The order is fixed before any result is seen and each decision looks only at a
    complete prefix of it, so which samples finish first (refusals are short) cannot
    bias the estimate; the design's interval is valid at whatever look the test stops.
    """
    design = p.design
    assert design is not None and p.stop_threshold is not None and p.stopping_alpha is not None
    monitor = SequentialMonitor(design, p.stop_threshold, p.stopping_alpha)
    info = _run_info(p, interval=p.interval, judge_validation=judge)
    order = list(p.sample_ids)
    random.Random(f"{runner.config.seed}:{p.spec.id}").shuffle(order)
    ran = False
    while True:
        records = {r.sample_id: r for r in store.records(p.spec.id)}
        prefix: list[str] = []
        for sample_id in order:
            if sample_id not in records:
                break
            prefix.append(sample_id)
        n = len(prefix)
        done = n == len(order)
        if not done and monitor.at_look(n) and n > 0:
            estimate = rate_estimate(info, [records[s] for s in prefix])
            done = monitor.settled(estimate, n)
        if done:
            p.sample_ids = prefix
            p.stopped_early = n < len(order)
            return ran
        target = max(design.next_look(n), n + 1)
        pending = [s for s in order[n:target] if s not in records]
        before = len(records)
        ran |= runner.run([(p, _remaining(p, store, pending))])
        if len({r.sample_id for r in store.records(p.spec.id)}) == before:
            # every sample of the batch failed: stop here rather than retry forever
            p.sample_ids = prefix
            p.stopped_early = n < len(order)
            return ran


def _run_info(
    p: _PlannedSuite,
    *,
    interval: Literal["wilson", "clopper-pearson"],
    judge_validation: Any = None,
    errors: int = 0,
    notes: list[str] | None = None,
) -> SuiteRunInfo:
    """How ``p`` runs, as the report (and the stopping rule) read it."""
    return SuiteRunInfo(
        spec=p.spec,
        tier=p.tier,
        method=p.method,
        params={
            k: v
            for k, v in p.params.items()
            if isinstance(v, str | int | float | bool) or v is None
        },
        n_planned=p.n_max,
        interval=interval,
        design=p.design,
        stopping_alpha=p.stopping_alpha,
        stopped_early=p.stopped_early,
        n_errors=errors,
        thresholds=[ThresholdSpec(t.metric, t.value, t.meaning, t.unit) for t in p.thresholds],
        judge_validation=judge_validation,
        notes=notes or [],
    )


def _set_stopping_levels(
    planned: list[_PlannedSuite], plan: Plan, judges: dict[str, Any], console: Console
) -> None:
    """Each sequential suite stops only when settled at ``alpha / m``, ``m`` the findings
    the plan's multiple-comparison control will weigh together (every planned suite with a
    threshold for its metric): Holm's, Bonferroni's and Benjamini-Hochberg's first step,
    so a finding that stops settled stays settled. A suite whose whole sample could not
    settle at that level runs it all with the fixed-size interval instead."""
    tested = [
        p for p in planned if any(t.metric == p.spec.primary_metric.name for t in p.thresholds)
    ]
    m = len(tested) if plan.statistics.multiple_comparisons != "none" else 1
    alpha = (1 - CONFIDENCE) / max(m, 1)
    for p in planned:
        if p.design is None:
            continue
        p.stopping_alpha = alpha
        info = _run_info(p, interval=p.interval, judge_validation=judges.get(p.spec.id))
        if not can_settle(info, p.design, p.stop_threshold or 0.0, alpha):
            p.design, p.stop_threshold, p.stopping_alpha = None, None, None


@contextmanager
def _progress(config: AuditConfig, console: Console) -> Iterator[Progress]:
    with audit_progress(console, disable=not config.show_progress) as progress:
        yield progress


def _build_report(
    config: AuditConfig,
    endpoint: Endpoint,
    tier: Tier,
    plan: Plan,
    planned: list[_PlannedSuite],
    store: RunStore,
    run_id: str,
    config_digest: str,
    started: datetime,
    errors: dict[str, int],
    notes: list[str],
    out: Path,
    judges: dict[str, Any],
) -> Report:
    results = []
    complete = True
    for p in planned:
        wanted = set(p.sample_ids)
        records = [r for r in store.records(p.spec.id) if r.sample_id in wanted]
        if len(records) < len(wanted):
            complete = False
        info = _run_info(
            p,
            interval=plan.statistics.interval,
            judge_validation=judges.get(p.spec.id),
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
        run_id=run_id,
        config_digest=config_digest,
        created_at=store.meta("created_at") or started.isoformat(),
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
        tier=tier,
        seed=config.seed,
        plan=PlanInfo(
            name=plan.name,
            digest=plan.digest,
            suites=[p.spec.id for p in planned],
            thresholds={f"{t.suite}:{t.unit}": t.value for t in plan.thresholds},
            statistics=plan.statistics.model_dump(),
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
        notes=notes,
    )


def _write_outputs(
    report: Report, store: RunStore, planned: list[_PlannedSuite], out: Path
) -> dict[str, Path]:
    wanted = {(p.spec.id, sid) for p in planned for sid in p.sample_ids}
    records = [r for r in store.records() if (r.suite, r.sample_id) in wanted]
    samples_path = out / "samples.jsonl"
    store.export_jsonl(samples_path, records)
    report.samples_digest = sha256_file(samples_path)
    data = report.model_dump(mode="json")
    validate_report(data)
    report_path = out / "report.json"
    _atomic_write(report_path, Report.model_validate(data).model_dump_json(indent=2) + "\n")
    html_path = out / "report.html"
    descriptions = {p.spec.id: p.spec.description for p in planned}
    _atomic_write(html_path, render_html(report, descriptions))
    files = {"report.json": report_path, "report.html": html_path, "samples.jsonl": samples_path}
    from assay.attest import attest_audit

    summary = None
    if report.gateway_log is not None:
        summary = report.gateway_log.model_dump(exclude={"file"})
    files["attestation.json"] = attest_audit(out, report, gateway_log=summary)
    if report.gateway_log is not None:
        files[report.gateway_log.file] = out / report.gateway_log.file
    return files


def _run_techniques(
    plan: Plan,
    endpoint: Endpoint,
    tier: Tier,
    config: AuditConfig,
    console: Console,
    out: Path,
) -> list[Any]:
    """Run the plan's white-box techniques through the endpoint's gateway. Each result
    is saved in ``techniques/<id>.json`` (private findings, such as adversarial
    suffixes, beside it in ``<id>.private.json``, mode 0600) and reused on resume."""
    if not plan.techniques:
        return []
    from assay.techniques import TECHNIQUES, TechniqueResult, WhiteboxClient

    folder = out / "techniques"
    folder.mkdir(exist_ok=True)
    results: list[TechniqueResult] = []
    client = WhiteboxClient(endpoint.base_url, endpoint.api_key)
    with _progress(config, console) as progress:
        for entry in plan.techniques:
            spec = TECHNIQUES[entry.id]
            technique_config = spec.parse_config(entry.config)
            key = sha256_json(
                {
                    "id": entry.id,
                    "config": technique_config.model_dump(mode="json"),
                    "model": endpoint.model,
                    "fingerprint": endpoint.fingerprint.digest,
                }
            )
            saved = folder / f"{entry.id}.json"
            if saved.is_file():
                data = json.loads(saved.read_text(encoding="utf-8"))
                if data.get("key") == key:
                    results.append(TechniqueResult.model_validate(data["result"]))
                    continue
            bar = progress.add_task(entry.id, total=None)

            def report_progress(
                phase: str, done: int, total: int, bar: Any = bar, name: str = entry.id
            ) -> None:
                progress.update(bar, completed=done, total=total, description=f"{name}: {phase}")

            result = spec.run(client, endpoint.model, technique_config, progress=report_progress)
            if result.private:
                private = folder / f"{entry.id}.private.json"
                private.touch(mode=0o600)
                private.write_text(json.dumps(result.private, indent=2, default=str))
            _atomic_write(
                saved,
                json.dumps({"key": key, "result": result.model_dump(mode="json")}, indent=2),
            )
            results.append(TechniqueResult.model_validate(result.model_dump(mode="json")))
    return results


def _model_judge_validation(plan: Plan, out: Path) -> Any:
    """The plan's judge model measured on the labelled set, once per audit folder
    (cached in ``judge-validation.json``, keyed by the judge's configuration)."""
    if plan.judge is None:
        return None
    from assay.judges import PROMPT_VERSION, JudgeValidation, validate_model_judge

    cache = out / "judge-validation.json"
    key = sha256_json({"judge": plan.judge.model_dump(), "prompt": PROMPT_VERSION})
    if cache.is_file():
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data.get("key") == key and "validation" in data:
            try:
                return JudgeValidation.from_json(data["validation"])
            except (KeyError, TypeError, ValueError):
                pass  # an older cache: measure again
    validation = validate_model_judge(plan.judge)
    _atomic_write(cache, json.dumps({"key": key, "validation": validation.as_json()}, indent=2))
    return validation


def _export_gateway_log(endpoint: Endpoint, out: Path) -> GatewayLogInfo | None:
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

    export = endpoint.request_log.export(endpoint.engagement)
    key = load_or_create_key("gateway")
    envelope = sign_gateway_log(export, key)
    write_envelope(out / GATEWAY_LOG_FILE, envelope)
    summary = gateway_log_summary(envelope, {key_id(key.public_key): key.public_key})
    return GatewayLogInfo(**summary, file=GATEWAY_LOG_FILE)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


__all__ = ["AuditConfig", "AuditInterrupted", "AuditOutcome", "run_audit"]
