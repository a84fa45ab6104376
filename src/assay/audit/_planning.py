"""Planning an audit: which tier it runs at, which items of each suite it scores, how
each suite may stop early, and the record that ties an output folder to one audit.

Planning reads the plan, the suites and what the endpoint offers; it runs nothing
through Inspect. Its result, :class:`AuditRun`, is the one object that execution
(:mod:`assay.audit._execution`) and the outputs (:mod:`assay.audit._outputs`) read.
Longer than most modules (just over 400 lines): the tier, the items, the stopping design
and the folder's record are decided together from one reading of the plan and the
endpoint, and split apart they would pass that reading around.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rich.console import Console

from assay._util.errors import UsageError
from assay._util.hashing import sha256_json
from assay._util.paths import atomic_write_text
from assay.audit._config import JUDGE_VALIDATION_FILE, AuditConfig
from assay.audit._endpoint import Endpoint
from assay.audit._plan import CONFIDENCE, Plan, Threshold
from assay.audit._store import RunStore
from assay.stats import Design
from assay.suites import EndpointFeatures, SuiteSpec
from assay.tiers import Tier

if TYPE_CHECKING:
    from assay.report import SuiteRunInfo


@dataclass
class PlannedSuite:
    """One suite of the audit as planned: its task, method, items and stopping rule."""

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


@dataclass
class AuditRun:
    """One audit as planned: what was asked, the endpoint and tier it runs at, its
    suites; execution and the outputs read it rather than long parameter lists."""

    config: AuditConfig
    console: Console
    plan: Plan
    endpoint: Endpoint
    tier: Tier
    planned: list[PlannedSuite]
    judges: dict[str, Any]  # suite id -> the validation of the model judge it uses
    notes: list[str]
    started: datetime
    run_id: str = ""
    config_digest: str = ""  # of the record below, as planned (before any early stop)

    @property
    def out(self) -> Path:
        return self.config.out

    def config_record(self) -> dict[str, Any]:
        """What the run store keeps to recognise this audit when it is resumed."""
        return {
            "target": self.config.target,
            "model": self.endpoint.model,
            "fingerprint": self.endpoint.fingerprint.digest,
            "tier": self.tier.value,
            "plan": self.config.plan,
            "seed": self.config.seed,
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
                for p in self.planned
            ],
        }

    def bind(self, store: RunStore) -> bool:
        """Tie ``store`` to this audit (see :meth:`RunStore.bind_config`) and take its run
        id; True when the store holds earlier work of the same audit to resume."""
        record = self.config_record()
        self.config_digest = sha256_json(record)
        resumed = store.bind_config(self.config_digest, record, fresh=self.config.fresh)
        self.run_id = store.meta("run_id") or uuid.uuid4().hex
        store.set_meta("run_id", self.run_id)
        return resumed


def plan_audit(
    config: AuditConfig,
    plan: Plan,
    suite_specs: list[SuiteSpec],
    endpoint: Endpoint,
    console: Console,
    *,
    notes: list[str],
    started: datetime,
    say: Callable[[str], None],
) -> AuditRun:
    """Settle the tier the endpoint allows, plan every suite, measure the plan's model
    judge and set each sequential suite's stopping level."""
    tier = endpoint.usable_tier(config.tier)
    if tier != config.tier:
        why = tier_shortfall(endpoint, config.tier)
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
    model_judge = _model_judge_validation(plan, config.out)
    judges = {p.spec.id: model_judge for p in planned if p.spec.accepts_model_judge}
    judges = {k: v for k, v in judges.items() if v is not None}
    _set_stopping_levels(planned, plan, judges)
    return AuditRun(
        config=config,
        console=console,
        plan=plan,
        endpoint=endpoint,
        tier=tier,
        planned=planned,
        judges=judges,
        notes=notes,
        started=started,
    )


def resolve_plan(config: AuditConfig) -> tuple[AuditConfig, Plan, list[SuiteSpec]]:
    """The plan ``config`` names, restricted to its ``--suite`` choices, the tier the
    plan asks for (unless ``--tier`` was given) and the suites it runs."""
    from assay.audit._plan import get_plan
    from assay.suites import get_suite

    plan = get_plan(config.plan)
    if config.suites:
        plan = plan.only(config.suites)
    if plan.tier is not None and not config.tier_explicit:
        config = config.model_copy(update={"tier": Tier(plan.tier)})
    return config, plan, [get_suite(entry.id) for entry in plan.suites]


def look_order(p: PlannedSuite, seed: int) -> list[str]:
    """The seeded order a sequential suite scores its items in, fixed before any
    result is seen (each look reads a prefix of it)."""
    order = list(p.sample_ids)
    random.Random(f"{seed}:{p.spec.id}").shuffle(order)
    return order


def check_same_audit(store: RunStore, config: AuditConfig, plan: Plan) -> None:
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


def tier_shortfall(endpoint: Endpoint, requested: Tier) -> str:
    caps = endpoint.capabilities
    if caps.granted_tier is not None and not caps.granted_tier.allows(requested):
        return f"the gateway token grants {caps.granted_tier.value}-tier access only"
    return "the endpoint returns no logprobs"


def _plan_suite(
    spec: SuiteSpec, entry: Any, plan: Plan, tier: Tier, endpoint: Endpoint, config: AuditConfig
) -> PlannedSuite:
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
    return PlannedSuite(
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


def run_info(
    p: PlannedSuite,
    *,
    judge_validation: Any = None,
    errors: int = 0,
    notes: list[str] | None = None,
) -> SuiteRunInfo:
    """How ``p`` runs, as the report (and the stopping rule) read it."""
    from assay.report import SuiteRunInfo, ThresholdSpec

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
        interval=p.interval,
        design=p.design,
        stopping_alpha=p.stopping_alpha,
        stopped_early=p.stopped_early,
        n_errors=errors,
        thresholds=[ThresholdSpec(t.metric, t.value, t.meaning, t.unit) for t in p.thresholds],
        judge_validation=judge_validation,
        notes=notes or [],
    )


def _set_stopping_levels(planned: list[PlannedSuite], plan: Plan, judges: dict[str, Any]) -> None:
    """Each sequential suite stops only when settled at ``alpha / m``, ``m`` the findings
    the plan's multiple-comparison control will weigh together (every planned suite with a
    threshold for its metric): Holm's, Bonferroni's and Benjamini-Hochberg's first step,
    so a finding that stops settled stays settled. A suite whose whole sample could not
    settle at that level runs it all with the fixed-size interval instead."""
    from assay.report import can_settle

    tested = [
        p for p in planned if any(t.metric == p.spec.primary_metric.name for t in p.thresholds)
    ]
    m = len(tested) if plan.statistics.multiple_comparisons != "none" else 1
    alpha = (1 - CONFIDENCE) / max(m, 1)
    for p in planned:
        if p.design is None:
            continue
        p.stopping_alpha = alpha
        info = run_info(p, judge_validation=judges.get(p.spec.id))
        if not can_settle(info, p.design, p.stop_threshold or 0.0, alpha):
            p.design, p.stop_threshold, p.stopping_alpha = None, None, None


def _model_judge_validation(plan: Plan, out: Path) -> Any:
    """The plan's judge model measured on the labelled set, once per audit folder
    (cached in ``judge-validation.json``, keyed by the judge's configuration)."""
    if plan.judge is None:
        return None
    from assay.judges import PROMPT_VERSION, JudgeValidation, validate_model_judge

    cache = out / JUDGE_VALIDATION_FILE
    key = sha256_json({"judge": plan.judge.model_dump(), "prompt": PROMPT_VERSION})
    if cache.is_file():
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data.get("key") == key and "validation" in data:
            try:
                return JudgeValidation.from_json(data["validation"])
            except (KeyError, TypeError, ValueError):
                pass  # an older cache: measure again
    validation = validate_model_judge(plan.judge)
    atomic_write_text(cache, json.dumps({"key": key, "validation": validation.as_json()}, indent=2))
    return validation
