"""Fine-tuning jobs, gateway side: accepted, persisted, handed to a worker process,
followed, and their adapters served.

A job is acknowledged only once its training data is on disk and its row is in the
database (``queued``). A dispatcher claims queued jobs one at a time (an atomic update,
so several gateway processes on one database never run a job twice), starts a worker
process if none is running (:mod:`._worker`: its own copy of the base weights, its own
threads), and records each step's loss as the worker reports it. When the worker has
written the adapter, the adapter is loaded into the served model on the model thread
(between batches) and the job succeeds. When the worker dies, the job is queued again
(from its first step) or, after ``max_attempts`` starts, failed with the reason; a job
left ``running`` by a gateway process that died is taken over once its lease expires.
No acknowledged job stays unfinished without an explanation.

Adapters are served as ``MODEL@SUFFIX`` to tokens of the job's engagement only; no
route returns adapter weights.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from assay.gateway._db import utcnow
from assay.gateway._errors import GatewayError, bad_request
from assay.gateway.finetuning._data import JobData, tokenize_example
from assay.gateway.finetuning._jobs import JobStore
from assay.gateway.finetuning._process import WorkerDied, WorkerProcess, WorkerSettings
from assay.gateway.finetuning._protocol import (
    FineTuneExample,
    FineTuneHyperparameters,
    FineTuneJob,
)

logger = logging.getLogger("assay.gateway.finetune")

RunOnModel = Callable[[Callable[[], Any]], Awaitable[Any]]


class FineTuneManager:
    """Creates, dispatches and resolves fine-tuning jobs for one local model."""

    def __init__(
        self,
        *,
        engine: Engine,
        adapters_dir: Path,
        base_name: str,
        base_dir: Path,
        tokenizer: Any,
        get_model: Callable[[], Any],
        set_model: Callable[[Any], None],
        run_on_model: RunOnModel,
        max_examples: int = 2000,
        settings: WorkerSettings | None = None,
    ) -> None:
        self.adapters_dir = adapters_dir
        self.jobs = JobStore(engine, base_name, adapters_dir / "_jobs")
        self.base_name = base_name
        self.base_dir = base_dir
        self.tokenizer = tokenizer
        self.get_model = get_model
        self.set_model = set_model
        self.run_on_model = run_on_model
        self.max_examples = max_examples
        self.settings = settings or WorkerSettings()
        self.instance = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._loaded: set[str] = set()
        self._wake: asyncio.Event | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._worker: WorkerProcess | None = None
        self._current: str | None = None

    @property
    def worker_pid(self) -> int | None:
        """The running worker's process id, if one is running."""
        return self._worker.pid if self._worker is not None else None

    # ---- variants -------------------------------------------------------------------

    def resolve(self, model: str, engagement: str) -> str | None:
        """The adapter (job id) behind ``MODEL@SUFFIX`` for this engagement; ``None``
        for the base model. Unknown variants and other engagements' variants are 404."""
        if "@" not in model:
            return None
        base, suffix = model.split("@", 1)
        row = self.jobs.variant(engagement, suffix) if base == self.base_name else None
        if row is None:
            raise GatewayError(
                404, f"model {model!r} is not served here", code="model_not_found", param="model"
            )
        if row.status != "succeeded":
            raise GatewayError(
                409,
                f"{model!r} is not ready: its job is {row.status}",
                code="adapter_not_ready",
                param="model",
            )
        if row.id not in self._loaded:
            raise GatewayError(
                503,
                f"{model!r} is not loaded on this gateway yet; retry in a few seconds",
                code="adapter_not_loaded",
                param="model",
            )
        return row.id

    def variants(self, engagement: str) -> list[str]:
        finished = self.jobs.finished(engagement)
        return [self.jobs.variant_name(a) for job_id, a in finished if job_id in self._loaded]

    # ---- lifecycle ----------------------------------------------------------------------

    async def startup(self) -> None:
        """Load finished adapters (after a restart), drop leftover data files, and start
        dispatching (jobs queued before a restart run now)."""
        await self._sync_adapters()
        if self.jobs.jobs_dir.is_dir():
            live = set(self.jobs.ids("queued", "running"))
            for path in self.jobs.jobs_dir.glob("*.json"):
                if path.stem not in live:
                    path.unlink(missing_ok=True)
        self._ensure_dispatcher()

    async def aclose(self) -> None:
        """Stop dispatching and the worker; a job it was training is queued again
        (without counting the attempt), to run when a gateway serves this model again."""
        current, dispatcher = self._current, self._dispatcher
        self._dispatcher = None
        if dispatcher is not None:
            dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatcher
        if current is not None:
            self._requeue(current, count_attempt=False)
        if self._worker is not None:
            await self._worker.stop(timeout=0)
            self._worker = None

    # ---- jobs -------------------------------------------------------------------------

    async def create(
        self,
        *,
        engagement: str,
        token_id: str,
        examples: list[FineTuneExample],
        hyper: FineTuneHyperparameters,
        suffix: str | None,
    ) -> FineTuneJob:
        """Validate, persist and queue a job; it is acknowledged once it is durable."""
        if len(examples) > self.max_examples:
            raise bad_request(
                f"at most {self.max_examples} training examples per job", param="training_data"
            )
        job_id = "ftjob-" + secrets.token_hex(8)
        adapter = suffix or job_id
        if self.jobs.variant(engagement, adapter) is not None:
            raise bad_request(
                f"this engagement already has a variant named {adapter!r}", param="suffix"
            )
        tokenized = [tokenize_example(self.tokenizer, e, hyper.max_length) for e in examples]
        tokenized = [t for t in tokenized if t.learnable]
        if not tokenized:
            raise bad_request(
                "no example has completion tokens left after truncation", param="training_data"
            )
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        JobData(job_id, hyper, pad, tokenized).write(self.jobs.data_path(job_id))
        self.jobs.add(
            job_id=job_id,
            engagement=engagement,
            token_id=token_id,
            adapter=adapter,
            hyper=hyper,
            examples=len(tokenized),
        )
        self._ensure_dispatcher()
        assert self._wake is not None
        self._wake.set()
        return self.jobs.get(job_id, engagement)

    def get(self, job_id: str, engagement: str) -> FineTuneJob:
        return self.jobs.get(job_id, engagement)

    def list(self, engagement: str) -> list[FineTuneJob]:
        return self.jobs.of(engagement)

    # ---- dispatching ------------------------------------------------------------------

    def _ensure_dispatcher(self) -> None:
        if self._dispatcher is None or self._dispatcher.done():
            self._wake = asyncio.Event()
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    async def _dispatch(self) -> None:
        assert self._wake is not None
        while True:
            try:
                job_id = self.jobs.claim(self.instance)
                if job_id is not None:
                    await self._run(job_id)
                    continue
                self._reclaim_stale()
                await self._sync_adapters()
            except asyncio.CancelledError:
                raise
            except Exception:  # the dispatcher must outlive a database hiccup
                logger.exception("fine-tuning dispatcher")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_s)
            self._wake.clear()

    async def _run(self, job_id: str) -> None:
        """Hand a claimed job to the worker and follow it to its end."""
        path = self.jobs.data_path(job_id)
        if not path.is_file():
            self.jobs.end(job_id, "failed", error="its training data is no longer on the gateway")
            return
        self._current = job_id
        heartbeat = asyncio.get_running_loop().create_task(self._heartbeat(job_id))
        try:
            try:
                if self._worker is None or self._worker.exited:
                    self._worker = await WorkerProcess.start(self.base_dir, self.settings)
                out = self.adapters_dir / job_id
                command = {"job": job_id, "data": str(path), "out": str(out)}
                await self._worker.send({"train": command})
                await self._follow(job_id, self._worker)
            except WorkerDied as exc:
                self._worker = None
                self._requeue(job_id, reason=str(exc))
        finally:
            heartbeat.cancel()
            self._current = None

    async def _follow(self, job_id: str, worker: WorkerProcess) -> None:
        losses: list[dict[str, float]] = []
        while True:
            event = await worker.next_event()
            if event is None:
                code = await worker.wait()
                raise WorkerDied(f"the fine-tuning worker stopped (exit code {code})")
            if event.get("job") != job_id:
                continue
            kind = event.get("event")
            if kind == "step":
                losses.append({"step": int(event["step"]), "loss": float(event["loss"])})
                self.jobs.update(job_id, losses=list(losses), heartbeat_at=utcnow())
            elif kind == "done":
                await self._finish(job_id, float(event.get("seconds", 0.0)))
                return
            elif kind == "failed":
                self.jobs.end(job_id, "failed", error=str(event.get("error", "failed"))[:500])
                return

    async def _finish(self, job_id: str, seconds: float) -> None:
        path = self.adapters_dir / job_id
        try:
            await self.run_on_model(functools.partial(self._load_adapter, job_id, path))
        except Exception as exc:
            logger.exception("loading the adapter of fine-tuning job %s", job_id)
            self.jobs.end(job_id, "failed", error=f"the adapter could not be loaded: {exc}"[:500])
            return
        self.jobs.succeed(job_id, seconds)

    async def _heartbeat(self, job_id: str) -> None:
        """Keep this process's claim on a running job fresh (steps may be slow)."""
        while True:
            await asyncio.sleep(self.settings.lease_s / 4)
            await asyncio.to_thread(self.jobs.update, job_id, heartbeat_at=utcnow())

    def _requeue(self, job_id: str, *, reason: str = "", count_attempt: bool = True) -> None:
        self.jobs.requeue(
            job_id,
            max_attempts=self.settings.max_attempts,
            reason=reason,
            count_attempt=count_attempt,
        )
        if self._wake is not None:
            self._wake.set()

    def _reclaim_stale(self) -> None:
        """Jobs left ``running`` by a gateway process that stopped showing signs of life."""
        limit = utcnow() - timedelta(seconds=self.settings.lease_s)
        for job_id, seen in self.jobs.running():
            if job_id != self._current and seen < limit:
                when = seen.isoformat(timespec="seconds")
                self._requeue(job_id, reason=f"the gateway running it stopped (last seen {when})")

    async def _sync_adapters(self) -> None:
        """Load the adapters of finished jobs not loaded here yet (after a restart, or
        trained by another gateway process on the same database)."""
        for job_id in self.jobs.ids("succeeded"):
            path = self.adapters_dir / job_id
            if job_id not in self._loaded and path.is_dir():
                await self.run_on_model(functools.partial(self._load_adapter, job_id, path))

    def _load_adapter(self, job_id: str, path: Path) -> None:
        """On the model thread: add a finished adapter to the served model."""
        from peft import PeftModel

        from assay.gateway.whitebox._hooks import is_peft

        model = self.get_model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # peft asks a deprecated question
            if is_peft(model):
                model.load_adapter(str(path), adapter_name=job_id, is_trainable=False)
            else:
                model = PeftModel.from_pretrained(
                    model, str(path), adapter_name=job_id, is_trainable=False
                )
                self.set_model(model)
        model.eval()
        self._loaded.add(job_id)
