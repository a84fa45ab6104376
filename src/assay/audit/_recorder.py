"""Inspect hooks that persist each scored sample and advance the progress bars.

Inspect calls ``on_sample_end`` once per finished sample; we commit the sample to
the run store right there, so an interrupted audit loses nothing it scored.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import UTC, datetime
from typing import Any, Protocol

from inspect_ai.hooks import Hooks, SampleEnd, TaskStart, hooks

from assay.records import SampleRecord

logger = logging.getLogger("assay.audit")

OUTPUT_CHARS = 4000


class SampleSink(Protocol):
    """Where scored samples go: the run store, or (on a Ray worker) the campaign
    driver that commits them to its run store."""

    def add(self, record: SampleRecord) -> None: ...


class _Recording:
    def __init__(self, store: SampleSink, on_sample: Callable[[str, bool], None]) -> None:
        self.store = store
        self.on_sample = on_sample
        self.suite_of_eval: dict[str, str] = {}
        self.errors: dict[str, int] = {}
        self.error_messages: dict[str, str] = {}


_active: _Recording | None = None


def quiet_inspect_startup() -> None:
    """Let Inspect load its hooks now, with its start-up banner (which would announce
    this recorder on stdout) swallowed; it loads them only once per process."""
    try:
        from inspect_ai.hooks._startup import init_hooks
    except ImportError:  # a future Inspect moved it: the banner is cosmetic
        return
    with redirect_stdout(io.StringIO()):
        init_hooks()


@contextmanager
def recording(store: SampleSink, on_sample: Callable[[str, bool], None]) -> Iterator[_Recording]:
    """While active, every sample Inspect finishes is written to ``store``;
    ``on_sample(suite, ok)`` is told about it (for progress display)."""
    global _active
    if _active is not None:
        raise RuntimeError("an audit is already recording in this process")
    _active = _Recording(store, on_sample)
    try:
        yield _active
    finally:
        _active = None


@hooks(name="assay_recorder", description="persists scored samples of assay audits")
class AssayRecorder(Hooks):
    """Registered once at import; does nothing unless an audit is recording."""

    def enabled(self) -> bool:
        return _active is not None

    async def on_task_start(self, data: TaskStart) -> None:
        if _active is None:
            return
        metadata = data.spec.metadata or {}
        suite = str(metadata.get("assay_suite") or data.spec.task)
        _active.suite_of_eval[data.eval_id] = suite

    async def on_sample_end(self, data: SampleEnd) -> None:
        if _active is None:
            return
        suite = _active.suite_of_eval.get(data.eval_id, "unknown")
        sample = data.sample
        if sample.error is not None or not sample.scores:
            _active.errors[suite] = _active.errors.get(suite, 0) + 1
            if sample.error is not None:
                _active.error_messages.setdefault(suite, sample.error.message.splitlines()[0][:300])
            _active.on_sample(suite, False)
            return
        score = next(iter(sample.scores.values()))
        try:
            value = float(score.value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            logger.warning(
                "sample %s of %s has a non-numeric score %r", sample.id, suite, score.value
            )
            _active.on_sample(suite, False)
            return
        usage = _usage(sample)
        record = SampleRecord(
            suite=suite,
            sample_id=str(sample.id),
            epoch=int(sample.epoch),
            value=value,
            answer=score.answer,
            output=sample.output.completion[:OUTPUT_CHARS] if sample.output else None,
            sample_metadata=_jsonable(sample.metadata or {}),
            score_metadata=_jsonable(score.metadata or {}),
            input_tokens=usage[0],
            output_tokens=usage[1],
            eval_id=data.eval_id,
            scored_at=datetime.now(UTC),
        )
        _active.store.add(record)
        _active.on_sample(suite, True)


def _usage(sample: Any) -> tuple[int, int]:
    total_in = total_out = 0
    for usage in (sample.model_usage or {}).values():
        total_in += int(getattr(usage, "input_tokens", 0) or 0)
        total_out += int(getattr(usage, "output_tokens", 0) or 0)
    return total_in, total_out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
