"""The Ray executor's driver side: work items out to the cluster with back-pressure,
samples back into the run stores as they arrive, failed items retried on what is left.

Every target's audit is the ordinary :func:`~assay.audit.run_audit` (planning, run
store, report, attestation) running in a driver thread; only its suite runner is
replaced by :class:`RayRunner`, which turns each ``(suite, samples)`` batch into a
:class:`~assay.campaign._worker.WorkItem`. One pump thread takes the samples workers
send to the :class:`~assay.campaign._worker.Inbox` actor and commits them to their
run store, and collects finished tasks. A failed task (a killed worker, a lost node)
is resubmitted with only the samples its store still lacks, so nothing finished is
lost or computed twice; Ray's own task retries are off because they would rerun the
whole item.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

from assay._util.errors import AssayError
from assay.audit._execution import model_call
from assay.audit._planning import AuditRun, PlannedSuite
from assay.audit._store import RunStore
from assay.campaign._worker import Inbox, WorkItem, WorkResult, execute_work_item
from assay.records import SampleRecord


@dataclass
class Retry:
    """A work item resubmitted after its task failed."""

    target: str
    suite: str
    remaining: int
    total: int
    reason: str


@dataclass
class _Job:
    item: WorkItem
    target: str
    sink: _StoreSink
    future: Future[WorkResult]
    total: int
    attempt: int = 0


@dataclass
class DispatchStats:
    """What the executor did, for the campaign's report and its tests."""

    tasks: int = 0
    samples_received: int = 0
    samples_recomputed: int = 0  # a sample arriving that its store already held
    retries: list[Retry] = field(default_factory=list)
    worker_pids: set[int] = field(default_factory=set)


class _StoreSink:
    """Commits one audit's samples; counts any that were already done."""

    def __init__(
        self, store: RunStore, on_sample: Callable[[str, bool], None], stats: DispatchStats
    ) -> None:
        self.store = store
        self.on_sample = on_sample
        self.stats = stats
        self._done: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def done(self, suite: str) -> set[str]:
        with self._lock:
            if suite not in self._done:
                self._done[suite] = {sid for sid, _epoch in self.store.done(suite)}
            return set(self._done[suite])

    def add(self, record: SampleRecord) -> None:
        self.done(record.suite)
        with self._lock:
            seen = self._done[record.suite]
            if record.sample_id in seen:
                self.stats.samples_recomputed += 1
            seen.add(record.sample_id)
        self.store.add(record)
        self.stats.samples_received += 1
        self.on_sample(record.suite, True)


class Dispatcher:
    """Runs work items on a Ray cluster, at most ``max_in_flight`` at a time."""

    def __init__(self, *, max_in_flight: int, retries: int, poll_seconds: float = 0.05) -> None:
        import ray

        self._ray = ray
        self.retries = retries
        self.max_in_flight = max_in_flight
        self.stats = DispatchStats()
        self._inbox: Any = ray.remote(num_cpus=0)(Inbox).remote()
        self._task = ray.remote(max_retries=0, num_cpus=1)(execute_work_item)
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._lock = threading.Lock()
        self._running: dict[Any, _Job] = {}  # object ref -> job
        self._jobs: dict[str, _Job] = {}  # item key -> job
        self._poll = poll_seconds
        self._closed = threading.Event()
        self._failure: BaseException | None = None
        self._pump = threading.Thread(target=self._pump_loop, name="assay-ray-pump", daemon=True)
        self._pump.start()

    def runner(
        self, label: str
    ) -> Callable[[AuditRun, RunStore, Callable[[str, bool], None]], Any]:
        """The suite-runner factory for the audit of target ``label``."""

        def factory(
            run: AuditRun, store: RunStore, on_sample: Callable[[str, bool], None]
        ) -> RayRunner:
            return RayRunner(self, label, run, _StoreSink(store, on_sample, self.stats))

        return factory

    def submit(self, item: WorkItem, target: str, sink: _StoreSink) -> Future[WorkResult]:
        """Queue ``item``; blocks while ``max_in_flight`` items are running."""
        while not self._slots.acquire(timeout=0.5):
            self._raise_if_closed()
        self._raise_if_closed()
        job = _Job(item, target, sink, Future(), total=len(item.sample_ids))
        self._launch(job)
        return job.future

    def close(self) -> None:
        """Stop the pump and cancel what is still running; waiting audits get an error."""
        self._closed.set()
        self._pump.join(timeout=10)
        with self._lock:
            running = list(self._running.items())
            self._running.clear()
        for ref, job in running:
            self._ray.cancel(ref, force=True)
            if not job.future.done():
                job.future.set_exception(AssayError("the campaign stopped"))

    def _raise_if_closed(self) -> None:
        if self._closed.is_set():
            raise AssayError("the campaign stopped") from self._failure

    def _launch(self, job: _Job) -> None:
        ref = self._task.remote(job.item, self._inbox)
        with self._lock:
            self._running[ref] = job
            self._jobs[job.item.key] = job
            self.stats.tasks += 1

    def _pump_loop(self) -> None:
        try:
            while not self._closed.is_set():
                self._drain()
                with self._lock:
                    refs = list(self._running)
                if not refs:
                    time.sleep(self._poll)
                    continue
                ready, _ = self._ray.wait(refs, num_returns=1, timeout=self._poll)
                for ref in ready:
                    self._finish(ref)
        except BaseException as exc:  # a broken driver-cluster link: fail every waiter
            self._failure = exc
            self._closed.set()
            with self._lock:
                jobs = list(self._running.values())
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(AssayError(f"lost the Ray cluster: {exc}"))

    def _drain(self) -> None:
        samples, started = self._ray.get(self._inbox.take.remote())
        for _key, pid in started:
            self.stats.worker_pids.add(pid)
        for key, record in samples:
            with self._lock:
                job = self._jobs.get(key)
            if job is not None:
                job.sink.add(record)

    def _finish(self, ref: Any) -> None:
        with self._lock:
            job = self._running.pop(ref)
        try:
            result: WorkResult = self._ray.get(ref)
        except self._ray.exceptions.RayError as exc:
            # everything the failed worker sent before it stopped is in the inbox: keep it
            self._drain()
            done = job.sink.done(job.item.suite)
            remaining = [s for s in job.item.sample_ids if s not in done]
            reason = (
                str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            )
            if not remaining:
                job.future.set_result(WorkResult(key=job.item.key, pid=0))
                self._slots.release()
            elif job.attempt < self.retries:
                self.stats.retries.append(
                    Retry(job.target, job.item.suite, len(remaining), job.total, reason)
                )
                attempt = job.attempt + 1
                base = job.item.key.rsplit("#", 1)[0]
                item = replace(job.item, key=f"{base}#{attempt}", sample_ids=remaining)
                self._launch(replace(job, item=item, attempt=attempt))
            else:
                job.future.set_exception(
                    AssayError(
                        f"{job.target}: suite {job.item.suite} failed {job.attempt + 1} time(s) "
                        f"on the Ray cluster: {reason}",
                        hint="finished samples are saved; rerun the campaign to resume",
                    )
                )
                self._slots.release()
            return
        self._drain()
        job.future.set_result(result)
        self._slots.release()


class RayRunner:
    """An audit's suite runner that sends each suite of a batch to the cluster."""

    def __init__(
        self, dispatcher: Dispatcher, target: str, run: AuditRun, sink: _StoreSink
    ) -> None:
        self.dispatcher = dispatcher
        self.target = target
        self.audit = run
        self.sink = sink
        self.errors: dict[str, int] = {}
        self.error_messages: dict[str, str] = {}
        self._count = 0

    def run(self, batch: list[tuple[PlannedSuite, list[Any]]]) -> bool:
        if not batch:
            return False
        futures = []
        for p, samples in batch:
            self._count += 1
            item = WorkItem(
                key=f"{self.target}/{self.audit.plan.name}/{p.spec.id}/{self._count}#0",
                suite=p.spec.id,
                params=p.params,
                sample_ids=[str(s.id) for s in samples],
                model=model_call(self.audit, p),
                max_samples=self.audit.config.max_connections,
            )
            futures.append((p, self.dispatcher.submit(item, self.target, self.sink)))
        logs = self.audit.out / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        failure: BaseException | None = None
        for p, future in futures:
            try:
                result = future.result()
            except BaseException as exc:  # wait for the others: their samples still count
                failure = failure or exc
                continue
            for name, data in result.logs.items():
                (logs / name).write_bytes(data)
            if result.errors:
                self.errors[p.spec.id] = self.errors.get(p.spec.id, 0) + result.errors
                for _ in range(result.errors):
                    self.sink.on_sample(p.spec.id, False)
            if result.error_message:
                self.error_messages.setdefault(p.spec.id, result.error_message)
            if result.status == "error":
                failure = failure or AssayError(
                    f"suite {p.spec.id} failed: {result.error_message or 'unknown error'}",
                    hint="scored samples are saved; rerun to resume",
                )
        if failure is not None:
            raise failure
        return True
