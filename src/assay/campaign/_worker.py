"""What a Ray worker runs: one work item, a (target, suite) pair with the samples still
to score, through the same Inspect call a local audit makes. Each scored sample goes
to the driver's inbox the moment Inspect finishes it; the driver commits it to the
target's run store."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.audit._execution import ModelCall, eval_batch
from assay.records import SampleRecord


@dataclass(frozen=True)
class WorkItem:
    """One suite of one target's audit: everything a worker needs, as plain data."""

    key: str  # unique per attempt: routes the samples it sends back
    suite: str
    params: dict[str, Any]
    sample_ids: list[str]
    model: ModelCall
    max_samples: int


@dataclass
class WorkResult:
    key: str
    pid: int
    errors: int = 0
    error_message: str | None = None
    status: str = "success"
    logs: dict[str, bytes] = field(default_factory=dict)


class _InboxSink:
    """The recorder's sample sink on a worker: send to the driver's inbox and wait until
    it holds the sample (a worker killed after this loses nothing)."""

    def __init__(self, inbox: Any, key: str) -> None:
        self.inbox = inbox
        self.key = key

    def add(self, record: SampleRecord) -> None:
        import ray

        ray.get(self.inbox.put.remote(self.key, record))


def execute_work_item(item: WorkItem, inbox: Any) -> WorkResult:
    """Score ``item``'s samples; return failures and the Inspect log files."""
    import ray

    from assay.audit._recorder import quiet_inspect_startup, recording
    from assay.suites import get_suite

    ray.get(inbox.started.remote(item.key, os.getpid()))
    quiet_inspect_startup()
    task = get_suite(item.suite).build(**item.params)
    wanted = set(item.sample_ids)
    samples = [s for s in task.dataset if str(s.id) in wanted]
    missing = wanted - {str(s.id) for s in samples}
    if missing:
        raise RuntimeError(
            f"suite {item.suite} on this worker lacks {len(missing)} planned sample(s), e.g. "
            f"{sorted(missing)[0]!r}: is the same assay version installed on every node?"
        )
    result = WorkResult(key=item.key, pid=os.getpid())
    with (
        tempfile.TemporaryDirectory(prefix="assay-work-") as log_dir,
        recording(_InboxSink(inbox, item.key), lambda _suite, _ok: None) as rec,
    ):
        logs = eval_batch([(task, samples, item.suite, item.model)], log_dir, item.max_samples)
        result.logs = {p.name: p.read_bytes() for p in Path(log_dir).glob("*.eval")}
    result.errors = rec.errors.get(item.suite, 0)
    result.error_message = rec.error_messages.get(item.suite)
    result.status = logs[0].status if logs else "cancelled"
    if result.status == "error" and logs[0].error is not None:
        result.error_message = logs[0].error.message.splitlines()[0][:300]
    return result


class Inbox:
    """The Ray actor that holds samples sent by workers until the driver takes them."""

    def __init__(self) -> None:
        self._samples: list[tuple[str, SampleRecord]] = []
        self._started: list[tuple[str, int]] = []

    def put(self, key: str, record: SampleRecord) -> None:
        self._samples.append((key, record))

    def started(self, key: str, pid: int) -> None:
        self._started.append((key, pid))

    def take(self) -> tuple[list[tuple[str, SampleRecord]], list[tuple[str, int]]]:
        samples, started = self._samples, self._started
        self._samples, self._started = [], []
        return samples, started
