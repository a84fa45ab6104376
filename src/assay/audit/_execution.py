"""Executing a planned audit: its suites through Inspect (each scored sample committed
to the run store as it finishes), sequential suites look by look until settled, and
the plan's white-box techniques through the gateway."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from rich.progress import Progress

from assay._util.errors import AssayError
from assay._util.hashing import sha256_json
from assay._util.paths import atomic_write_text
from assay._util.progress import advance, audit_progress
from assay.audit._config import INSPECT_EVAL_OPTIONS, AuditInterrupted
from assay.audit._planning import AuditRun, PlannedSuite, look_order, run_info
from assay.audit._store import RunStore
from assay.stats import SequentialMonitor


@dataclass(frozen=True)
class Executed:
    """What running the suites did: samples scored now, and failures per suite."""

    samples_run: int
    errors: dict[str, int]
    error_messages: dict[str, str]


@dataclass(frozen=True)
class ModelCall:
    """How Inspect reaches the target for one suite. Plain data, so a campaign's Ray
    worker builds the very model a local run builds."""

    provider: str
    model: str
    base_url: str
    api_key: str
    max_connections: int
    seed: int
    model_args: dict[str, Any]

    def build(self) -> Any:
        from inspect_ai.model import GenerateConfig, get_model

        return get_model(
            f"{self.provider}/assay/{self.model}",
            base_url=self.base_url,
            api_key=self.api_key,
            config=GenerateConfig(max_connections=self.max_connections, seed=self.seed),
            memoize=False,
            **self.model_args,
        )


def model_call(run: AuditRun, planned: PlannedSuite) -> ModelCall:
    endpoint, config = run.endpoint, run.config
    provider = "openai-api-completions" if planned.provider == "completions" else "openai-api"
    connections = config.max_connections if endpoint.in_process else min(config.max_connections, 10)
    return ModelCall(
        provider=provider,
        model=endpoint.model,
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,
        max_connections=connections,
        seed=config.seed,
        model_args=dict(planned.model_args),
    )


def eval_batch(
    batch: Sequence[tuple[Any, list[Any], str, ModelCall]], log_dir: str, max_samples: int
) -> list[Any]:
    """One ``inspect_ai.eval`` call over ``(task, samples, suite id, model)`` entries,
    with the options every audit uses; returns Inspect's logs."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai import task_with
    from inspect_ai.dataset import MemoryDataset

    tasks = [
        task_with(task, dataset=MemoryDataset(samples, name=name), model=call.build())
        for task, samples, name, call in batch
    ]
    return list(
        inspect_eval(
            tasks,
            log_dir=log_dir,
            max_tasks=1,
            max_samples=max_samples,
            fail_on_error=False,
            **INSPECT_EVAL_OPTIONS,
        )
    )


class SuiteRunner(Protocol):
    """Scores batches of ``(suite, samples)``; failed samples counted per suite."""

    errors: dict[str, int]
    error_messages: dict[str, str]

    def run(self, batch: list[tuple[PlannedSuite, list[Any]]]) -> bool: ...


# Builds the runner of one audit: a campaign's Ray executor passes its own
RunnerFactory = Callable[[AuditRun, RunStore, Callable[[str, bool], None]], SuiteRunner]


def run_suites(run: AuditRun, store: RunStore, runner: RunnerFactory | None = None) -> Executed:
    """Score every planned sample not yet in ``store``: in this process through Inspect,
    or through the runner ``runner`` builds (which must commit each sample to ``store``)."""
    from assay.audit._recorder import quiet_inspect_startup

    planned = run.planned
    totals: dict[str, tuple[int, int]] = {}
    for p in planned:
        done = {sid for sid, _epoch in store.done(p.spec.id)}
        wanted = set(p.sample_ids)
        totals[p.spec.id] = (len(wanted & done), len(wanted))
    fixed = [p for p in planned if p.design is None]
    sequential = [p for p in planned if p.design is not None]

    with _progress(run) as progress:
        bars = {
            sid: progress.add_task(sid, total=total, completed=done, start=False)
            for sid, (done, total) in totals.items()
        }
        counted = {"samples": 0}

        def on_sample(suite: str, ok: bool) -> None:
            counted["samples"] += 1
            if ok and suite in bars:
                advance(progress, bars[suite])

        with contextlib.ExitStack() as stack:
            suite_runner: SuiteRunner
            if runner is None:
                quiet_inspect_startup()
                suite_runner = stack.enter_context(_InspectRunner(run, store, on_sample))
            else:
                suite_runner = runner(run, store, on_sample)
            batch = [(p, _remaining(p, store, p.sample_ids)) for p in fixed]
            ran_any = suite_runner.run([(p, r) for p, r in batch if r])
            for p in sequential:
                ran_any |= _run_sequentially(p, store, suite_runner, run, run.judges.get(p.spec.id))
                bar = bars[p.spec.id]
                progress.update(bar, total=len(p.sample_ids), completed=len(p.sample_ids))
    if not ran_any:
        run.console.print("all planned samples are already scored; rebuilding the report")
    return Executed(
        counted["samples"], dict(suite_runner.errors), dict(suite_runner.error_messages)
    )


def _remaining(p: PlannedSuite, store: RunStore, ids: Sequence[str]) -> list[Any]:
    done = {sid for sid, _epoch in store.done(p.spec.id)}
    wanted = set(ids)
    return [s for s in p.samples if str(s.id) in wanted and str(s.id) not in done]


@contextmanager
def _ctrl_c_noticed() -> Iterator[Callable[[], bool]]:
    """While Inspect runs, Ctrl-C raises KeyboardInterrupt and is remembered.

    asyncio installs its own SIGINT handler only when none is set; that one cancels the
    running task, which Inspect may absorb, and the interrupt is then lost."""
    seen = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield seen.is_set
        return

    def interrupt(_signum: int, _frame: object) -> None:
        seen.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield seen.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


class _InspectRunner:
    """Runs batches of (suite, samples) through one ``inspect_ai.eval`` call each, in
    this process; the recorder commits each scored sample to the run store."""

    def __init__(
        self, audit: AuditRun, store: RunStore, on_sample: Callable[[str, bool], None]
    ) -> None:
        from assay.audit._recorder import recording

        self.audit = audit
        self._recording = recording(store, on_sample)
        self.errors: dict[str, int] = {}
        self.error_messages: dict[str, str] = {}

    def __enter__(self) -> _InspectRunner:
        rec = self._recording.__enter__()
        self.errors, self.error_messages = rec.errors, rec.error_messages
        return self

    def __exit__(self, *exc: object) -> None:
        self._recording.__exit__(None, None, None)

    def run(self, batch: list[tuple[PlannedSuite, list[Any]]]) -> bool:
        if not batch:
            return False
        entries = [(p.task, samples, p.spec.id, model_call(self.audit, p)) for p, samples in batch]
        try:
            with _ctrl_c_noticed() as noticed:
                logs = eval_batch(
                    entries,
                    log_dir=str(self.audit.out / "logs"),
                    max_samples=self.audit.config.max_connections,
                )
        except KeyboardInterrupt:
            raise AuditInterrupted(
                "audit interrupted; every scored sample is saved",
                hint="run the same command again to resume",
            ) from None
        statuses = [log.status for log in logs]
        # Inspect can swallow Ctrl-C and return fewer logs, cancelled ones, or (when the
        # cancellation lands between samples) complete ones: the flag says it came.
        if noticed() or len(logs) < len(entries) or any(s == "cancelled" for s in statuses):
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
    p: PlannedSuite, store: RunStore, runner: SuiteRunner, audit: AuditRun, judge: Any = None
) -> bool:
    """Score ``p``'s samples in a seeded random order, up to each of its design's looks in
    turn, until :class:`~assay.stats.SequentialMonitor` (the rule the benchmarks measure)
    finds the finding settled at the plan's stopping level, or the samples run out.
    Shrinks ``p.sample_ids`` to the samples used.

    The order is fixed before any result is seen and each decision looks only at a
    complete prefix of it, so which samples finish first (refusals are short) cannot
    bias the estimate; the design's interval is valid at whatever look the test stops.
    """
    from assay.report import rate_estimate

    design = p.design
    assert design is not None and p.stop_threshold is not None and p.stopping_alpha is not None
    monitor = SequentialMonitor(design, p.stop_threshold, p.stopping_alpha)
    info = run_info(p, judge_validation=judge)
    order = look_order(p, audit.config.seed)
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


@contextmanager
def _progress(run: AuditRun) -> Iterator[Progress]:
    with audit_progress(run.console, disable=not run.config.show_progress) as progress:
        yield progress


def run_techniques(run: AuditRun) -> list[Any]:
    """Run the plan's white-box techniques through the endpoint's gateway. Each result
    is saved in ``techniques/<id>.json`` (private findings, such as adversarial
    suffixes, beside it in ``<id>.private.json``, mode 0600) and reused on resume."""
    plan, endpoint = run.plan, run.endpoint
    if not plan.techniques:
        return []
    from assay.techniques import TECHNIQUES, TechniqueResult, WhiteboxClient

    folder = run.out / "techniques"
    folder.mkdir(exist_ok=True)
    results: list[TechniqueResult] = []
    client = WhiteboxClient(endpoint.base_url, endpoint.api_key)
    with _progress(run) as progress:
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
            atomic_write_text(
                saved,
                json.dumps({"key": key, "result": result.model_dump(mode="json")}, indent=2),
            )
            results.append(TechniqueResult.model_validate(result.model_dump(mode="json")))
    return results
