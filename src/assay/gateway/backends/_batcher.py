"""Dynamic micro-batching: concurrent requests share one forward pass.

Requests queue up while the model is busy; when it is free the worker takes up to
``max_batch_size`` of them (bounded by a token budget), waiting at most
``max_wait_s`` for a batch to fill. Each request's future resolves the moment its
own row is finished, not when the slowest row of its batch is.

Engagements take turns: a batch (and each join into a running batch) takes one row
from each engagement with rows waiting, in the order their oldest rows arrived, before
a second from any, so one tenant with many rows cannot starve another. And they share
the batch: while more than one engagement has rows running or waiting (or had some
within the last ``linger_s``, so that a client sending one request after another keeps
its place between them), none holds more than ``max_batch_size // engagements`` rows
(at least one). An engagement below its share joins the running batch at the next
decoding step even when the batch is full (up to twice ``max_batch_size``); the others'
rows above their share are not replaced when they finish. A decoding step costs about
as much as its rows, so a tenant's latency is bounded by its share of the batch, not
by how much another tenant sends.

A row that fails is taken out of its batch and fails only its own request; if a whole
batch fails for a reason no row can be blamed for, its unfinished rows are rerun one
by one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from assay.gateway.backends._engine import (
    Admit,
    GenerationRequest,
    GenerationResult,
    OnFail,
)
from assay.gateway.backends._thread import model_thread

T = TypeVar("T")

RunBatch = Callable[
    [
        Sequence[GenerationRequest],
        Callable[[int, GenerationResult], None],
        Admit | None,
        OnFail | None,
    ],
    list[GenerationResult],
]


@dataclass
class BatchStats:
    """Counters a test can read."""

    batches: int = 0
    requests: int = 0
    admitted: int = 0  # requests that joined a running batch
    sizes: list[int] = field(default_factory=list)  # the last 1024 batch sizes


_Future = asyncio.Future[GenerationResult]


@dataclass
class _Queued:
    request: GenerationRequest
    future: asyncio.Future[GenerationResult]
    engagement: str


class MicroBatcher:
    """Collects requests from many coroutines into batches for one model thread."""

    def __init__(
        self,
        run_batch: RunBatch,
        *,
        max_batch_size: int = 16,
        max_wait_s: float = 0.005,
        max_batch_tokens: int = 32768,
        continuous: bool = True,
        linger_s: float = 1.0,
    ) -> None:
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.max_batch_tokens = max_batch_tokens
        self.continuous = continuous and max_batch_size > 1
        self._lock = threading.Lock()  # the queue is read by the model thread too
        self.stats = BatchStats()
        self._queue: deque[_Queued] = deque()
        self._held: Counter[str] = Counter()  # rows of the running batch per engagement
        self.linger_s = linger_s
        self._left: dict[str, float] = {}  # when an engagement's last running row ended
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor = model_thread()

    async def submit(self, request: GenerationRequest, engagement: str = "") -> GenerationResult:
        """Queue one request (of ``engagement``, for fair turns) and wait for its result."""
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.done():
            self._wake = asyncio.Event()
            self._worker = loop.create_task(self._work())
        future: asyncio.Future[GenerationResult] = loop.create_future()
        with self._lock:
            self._queue.append(_Queued(request, future, engagement))
        assert self._wake is not None
        self._wake.set()
        return await future

    async def run_exclusive(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the model thread; it waits for the running batch and blocks
        the next one, so nothing else touches the model meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._queue:
                continue
            deadline = time.monotonic() + self.max_wait_s
            while len(self._queue) < self.max_batch_size and time.monotonic() < deadline:
                await asyncio.sleep(self.max_wait_s / 5)
            batch = self._take_batch()
            if not batch:
                continue
            await self._run(loop, batch)
            if self._queue:
                self._wake.set()

    async def _run(self, loop: asyncio.AbstractEventLoop, batch: list[_Queued]) -> None:
        rows = list(batch)  # grows as requests join the running batch

        def deliver(i: int, result: GenerationResult) -> None:
            self._release(rows[i])
            loop.call_soon_threadsafe(_resolve, rows[i].future, result)

        def fail(i: int, exc: BaseException) -> None:
            self._release(rows[i])
            loop.call_soon_threadsafe(_fail, rows[i].future, exc)

        def admit(
            active: int, can_join: Callable[[GenerationRequest], bool]
        ) -> list[GenerationRequest]:
            joined = self._admit(active, can_join)
            rows.extend(joined)
            self.stats.requests += len(joined)
            self.stats.admitted += len(joined)
            return [q.request for q in joined]

        with self._lock:
            self._held = Counter(q.engagement for q in batch)
        self.stats.batches += 1
        self.stats.requests += len(batch)
        self.stats.sizes.append(len(batch))
        del self.stats.sizes[:-1024]
        try:
            await loop.run_in_executor(
                self._executor,
                self._run_batch,
                [q.request for q in batch],
                deliver,
                admit if self.continuous else None,
                fail,
            )
        except Exception:  # no row to blame: rerun the unfinished alone
            with self._lock:
                self._held.clear()
            for queued in rows:
                if queued.future.done():
                    continue
                future = queued.future

                def alone_done(_i: int, result: GenerationResult, f: _Future = future) -> None:
                    loop.call_soon_threadsafe(_resolve, f, result)

                def alone_fail(_i: int, exc: BaseException, f: _Future = future) -> None:
                    loop.call_soon_threadsafe(_fail, f, exc)

                try:
                    await loop.run_in_executor(
                        self._executor,
                        self._run_batch,
                        [queued.request],
                        alone_done,
                        None,
                        alone_fail,
                    )
                except Exception as exc:
                    loop.call_soon_threadsafe(_fail, queued.future, exc)

    def _release(self, queued: _Queued) -> None:
        """A row of the running batch ended (called on the model thread)."""
        with self._lock:
            self._held[queued.engagement] -= 1
            if self._held[queued.engagement] <= 0:
                self._left[queued.engagement] = time.monotonic()

    def _admit(self, active: int, can_join: Callable[[GenerationRequest], bool]) -> list[_Queued]:
        """Called on the model thread between decoding steps: queued requests that may
        join the running batch, engagements taking turns and sharing the batch."""
        with self._lock:
            if not self._queue:
                return []
            joined = self._take(
                self.max_batch_size - active, can_join, self._held, 2 * self.max_batch_size - active
            )
            self._held.update(q.engagement for q in joined)
            return joined

    def _take_batch(self) -> list[_Queued]:
        """Up to ``max_batch_size`` queued requests, engagements taking turns."""
        with self._lock:
            return self._take(self.max_batch_size, lambda _r: True, Counter(), self.max_batch_size)

    def _take(
        self,
        room: int,
        can_join: Callable[[GenerationRequest], bool],
        held: Counter[str],
        ceiling: int,
    ) -> list[_Queued]:
        """Round-robin over engagements (oldest waiting first) within the token budget.

        One engagement with work takes up to ``room`` rows. Several take up to their
        share each (``held`` rows already running count), even beyond ``room`` but never
        beyond ``ceiling``. Each engagement's oldest row goes first, then its rows
        closest in length to the oldest row of all (less padding). Caller holds the lock.
        """
        lines: dict[str, list[_Queued]] = {}
        for queued in self._queue:
            if not queued.future.cancelled():  # cancelled: the client went away
                lines.setdefault(queued.engagement, []).append(queued)
        if not lines:
            return []
        working = set(lines) | {e for e, n in held.items() if n > 0} | self._lingering()
        if len(working) > 1:
            share = max(1, self.max_batch_size // len(working))
            allowance = {e: share - held[e] for e in lines}
            limit = ceiling
        else:
            allowance = dict.fromkeys(lines, room)
            limit = room
        anchor = len(next(iter(lines.values()))[0].request.prompt_ids)
        turns = {
            engagement: deque(
                [
                    line[0],
                    *sorted(
                        line[1 : 4 * max(limit, 1) + 1],
                        key=lambda q: abs(len(q.request.prompt_ids) - anchor),
                    ),
                ]
            )
            for engagement, line in lines.items()
        }
        taken: list[_Queued] = []
        tokens = 0
        while len(taken) < limit and turns:
            for engagement in list(turns):
                line = turns[engagement]
                if allowance[engagement] <= 0:
                    del turns[engagement]
                    continue
                queued = line.popleft()
                if not line:
                    del turns[engagement]
                cost = _cost(queued.request)
                if not can_join(queued.request) or (
                    taken and tokens + cost > self.max_batch_tokens
                ):
                    continue
                taken.append(queued)
                tokens += cost
                allowance[engagement] -= 1
                if len(taken) >= limit:
                    break
        chosen = {id(q) for q in taken}
        self._queue = deque(
            q for q in self._queue if id(q) not in chosen and not q.future.cancelled()
        )
        return taken

    def _lingering(self) -> set[str]:
        """Engagements whose last row ended within ``linger_s``. Caller holds the lock."""
        now = time.monotonic()
        for engagement in [e for e, t in self._left.items() if now - t >= self.linger_s]:
            del self._left[engagement]
        return set(self._left)


def _cost(request: GenerationRequest) -> int:
    return len(request.prompt_ids) + max(request.max_new_tokens, 0)


def _resolve(future: asyncio.Future[GenerationResult], result: GenerationResult) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[GenerationResult], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
