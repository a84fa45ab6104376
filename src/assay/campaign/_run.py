"""Running a campaign: every target's audit against every plan, then the comparison."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from assay._util.errors import AssayError, UsageError
from assay.audit import AuditConfig, AuditInterrupted, Plan, run_audit
from assay.campaign._compare import AuditEntry, write_comparison
from assay.campaign._ray import DispatchStats
from assay.campaign._spec import Campaign, CampaignTarget
from assay.tiers import Tier

Executor = Literal["local", "ray"]


@dataclass
class CampaignOutcome:
    """What a campaign did: one entry per (target, plan) audit, and the comparison."""

    out: Path
    audits: list[AuditEntry]
    files: dict[str, Path]
    samples_run: int
    executor: Executor
    stats: DispatchStats | None = None  # the Ray executor's counts

    @property
    def failed(self) -> list[AuditEntry]:
        return [a for a in self.audits if a.error is not None]


@dataclass
class _Job:
    target: CampaignTarget
    plan: Plan
    plan_ref: str
    config: AuditConfig
    entry: AuditEntry = field(init=False)

    def __post_init__(self) -> None:
        self.entry = AuditEntry(
            target=self.target.label,
            spec=self.target.target,
            plan=self.plan.name,
            folder=f"{self.target.label}/{self.plan.name}",
        )


def run_campaign(
    campaign: Campaign,
    plans: list[Plan],
    out: Path,
    *,
    executor: Executor = "local",
    address: str | None = "auto",
    max_in_flight: int | None = None,
    retries: int = 2,
    fresh: bool = False,
    show_progress: bool = True,
    console: Console | None = None,
) -> CampaignOutcome:
    """Audit every target of ``campaign`` against every plan into ``out/TARGET/PLAN/``
    (rerunning resumes each audit) and write ``out/comparison.json`` and ``.md``.

    A failed audit is recorded in the comparison and the others go on."""
    console = console or Console(stderr=True)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    jobs = [
        _Job(
            target, plan, ref, _audit_config(campaign, target, plan, ref, out, fresh, show_progress)
        )
        for target in campaign.targets
        for plan, ref in zip(plans, campaign.plans, strict=True)
    ]
    _create_keys()  # before audits run side by side: each would otherwise make its own
    stats: DispatchStats | None = None
    samples = 0
    if executor == "local":
        for job in jobs:
            samples += _audit(job, console, runner=None)
    else:
        with _dispatcher(address, max_in_flight, retries) as dispatcher:
            stats = dispatcher.stats
            quiet = Console(stderr=True, quiet=True)
            width = max(1, min(len(jobs), dispatcher.max_in_flight))
            pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="assay-campaign")
            try:
                futures = [
                    pool.submit(
                        _audit,
                        job,
                        quiet,
                        runner=dispatcher.runner(job.target.label),
                        announce=console,
                    )
                    for job in jobs
                ]
                samples = sum(f.result() for f in futures)
            except KeyboardInterrupt:
                dispatcher.close()
                pool.shutdown(wait=True, cancel_futures=True)
                raise AuditInterrupted(
                    "campaign interrupted; every scored sample is saved",
                    hint="run the same command again to resume",
                ) from None
            pool.shutdown(wait=True)
    files = write_comparison(campaign, [j.entry for j in jobs], plans, out, executor, stats)
    return CampaignOutcome(
        out=out,
        audits=[j.entry for j in jobs],
        files=files,
        samples_run=samples,
        executor=executor,
        stats=stats,
    )


def _audit_config(
    campaign: Campaign,
    target: CampaignTarget,
    plan: Plan,
    plan_ref: str,
    out: Path,
    fresh: bool,
    show_progress: bool,
) -> AuditConfig:
    return AuditConfig(
        target=target.target,
        tier=target.tier or Tier.GREY,
        tier_explicit=target.tier is not None,
        plan=plan_ref,
        suites=campaign.suites,
        limit=campaign.limit,
        seed=campaign.seed,
        model=target.model,
        api_key_env=target.api_key_env,
        out=out / target.label / plan.name,
        fresh=fresh,
        max_connections=campaign.max_connections,
        full=campaign.full,
        sequential=campaign.sequential,
        show_progress=show_progress,
    )


def _audit(job: _Job, console: Console, *, runner: Any, announce: Console | None = None) -> int:
    """Run one audit; its failure is recorded, not raised (Ctrl-C still stops all)."""
    say = announce or console
    say.print(
        f"campaign: auditing {job.target.label} ({job.target.target}) on plan {job.plan.name}"
    )
    if runner is not None:
        job.config = job.config.model_copy(update={"show_progress": False})
    try:
        outcome = run_audit(job.config, console, runner=runner)
    except AuditInterrupted:
        raise
    except AssayError as exc:
        job.entry.error = exc.one_line()
        say.print(
            f"[yellow]campaign:[/] {job.target.label} on {job.plan.name} failed: {exc.one_line()}"
        )
        return 0
    job.entry.samples_run = outcome.samples_run
    job.entry.resumed = outcome.resumed
    return outcome.samples_run


@contextlib.contextmanager
def _dispatcher(address: str | None, max_in_flight: int | None, retries: int) -> Iterator[Any]:
    try:
        import ray
    except ImportError:  # pragma: no cover - a dependency, but say so plainly
        raise UsageError(
            "the ray executor needs the ray package",
            hint="install it with: pip install 'assay[ray]' (or use --executor local)",
        ) from None
    from assay.campaign._ray import Dispatcher

    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        except ConnectionError as exc:
            raise UsageError(
                f"cannot reach a Ray cluster at {address or 'a new local cluster'}: {exc}",
                hint="start one with `ray start --head` (or pass --address HOST:PORT)",
            ) from None
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
        slots = max_in_flight or max(2, 2 * cpus)
        dispatcher = Dispatcher(max_in_flight=slots, retries=retries)
        try:
            yield dispatcher
        finally:
            dispatcher.close()
    finally:
        if started_here:
            ray.shutdown()


def _create_keys() -> None:
    from assay.attest import load_or_create_key

    load_or_create_key("tester")
    load_or_create_key("gateway")
