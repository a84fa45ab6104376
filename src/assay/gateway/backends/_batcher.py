"""Dynamic micro-batching: concurrent requests share one forward pass.

Requests queue up while the model is busy; when it is free the worker takes up to
``max_batch_size`` of them (bounded by a token budget), waiting at most
``max_wait_s`` for a batch to fill. Each request's future resolves the moment its
own row is finished, not when the slowest row of its batch is.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from assay.gateway.backends._engine import Admit, GenerationRequest, GenerationResult
from assay.gateway.backends._thread import model_thread

T = TypeVar("T")

RunBatch = Callable[
    [Sequence[GenerationRequest], Callable[[int, GenerationResult], None], Admit | None],
    list[GenerationResult],
]


@dataclass
class BatchStats:
    """Counters a test or the metrics endpoint can read."""

    batches: int = 0
    requests: int = 0
    largest_batch: int = 0
    admitted: int = 0  # requests that joined a running batch
    sizes: list[int] = field(default_factory=list)


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
    ) -> None:
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.max_batch_tokens = max_batch_tokens
        self.continuous = continuous and max_batch_size > 1
        self._lock = threading.Lock()  # the queue is read by the model thread too
        self.stats = BatchStats()
        self._queue: deque[tuple[GenerationRequest, asyncio.Future[GenerationResult]]] = deque()
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor = model_thread()

    async def submit(self, request: GenerationRequest) -> GenerationResult:
        """Queue one request and wait for its result."""
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.done():
            self._wake = asyncio.Event()
            self._worker = loop.create_task(self._work())
        future: asyncio.Future[GenerationResult] = loop.create_future()
        with self._lock:
            self._queue.append((request, future))
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
            requests = [r for r, _ in batch]
            futures = [f for _, f in batch]

            def deliver(
                i: int,
                result: GenerationResult,
                futures: list[asyncio.Future[GenerationResult]] = futures,
            ) -> None:
                loop.call_soon_threadsafe(_resolve, futures[i], result)

            def admit(
                active: int,
                can_join: Callable[[GenerationRequest], bool],
                futures: list[asyncio.Future[GenerationResult]] = futures,
            ) -> list[GenerationRequest]:
                joined = self._admit(active, can_join)
                futures.extend(f for _, f in joined)
                self.stats.requests += len(joined)
                self.stats.admitted += len(joined)
                return [r for r, _ in joined]

            self.stats.batches += 1
            self.stats.requests += len(batch)
            self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
            self.stats.sizes.append(len(batch))
            try:
                await loop.run_in_executor(
                    self._executor,
                    self._run_batch,
                    requests,
                    deliver,
                    admit if self.continuous else None,
                )
            except Exception as exc:
                for f in futures:
                    if not f.done():
                        loop.call_soon(_fail, f, exc)
            if self._queue:
                self._wake.set()

    def _admit(
        self, active: int, can_join: Callable[[GenerationRequest], bool]
    ) -> list[tuple[GenerationRequest, asyncio.Future[GenerationResult]]]:
        """Called on the model thread between decoding steps: queued requests that
        may join the running batch, oldest first, within the batch limits."""
        with self._lock:
            room = self.max_batch_size - active
            if room <= 0 or not self._queue:
                return []
            joined: list[tuple[GenerationRequest, asyncio.Future[GenerationResult]]] = []
            kept: deque[tuple[GenerationRequest, asyncio.Future[GenerationResult]]] = deque()
            tokens = 0
            for entry in self._queue:
                request, future = entry
                if future.cancelled():
                    continue
                if (
                    len(joined) < room
                    and can_join(request)
                    and tokens + _cost(request) <= self.max_batch_tokens
                ):
                    joined.append(entry)
                    tokens += _cost(request)
                else:
                    kept.append(entry)
            self._queue = kept
            return joined

    def _take_batch(self) -> list[tuple[GenerationRequest, asyncio.Future[GenerationResult]]]:
        """The oldest request, plus the queued requests closest to it in length.

        Rows of similar length waste less compute on padding. Only the first few
        batches' worth of the queue are considered and the oldest request always
        goes, so no request waits behind later arrivals for long.
        """
        with self._lock:
            while self._queue and self._queue[0][1].cancelled():  # the client went away
                self._queue.popleft()
            if not self._queue:
                return []
            window = [
                e for e in list(self._queue)[: 4 * self.max_batch_size] if not e[1].cancelled()
            ]
            anchor = window[0]
            anchor_length = len(anchor[0].prompt_ids)
            candidates = sorted(window[1:], key=lambda e: abs(len(e[0].prompt_ids) - anchor_length))
            batch = [anchor]
            tokens = _cost(anchor[0])
            for entry in candidates:
                if len(batch) >= self.max_batch_size:
                    break
                if tokens + _cost(entry[0]) > self.max_batch_tokens:
                    continue
                batch.append(entry)
                tokens += _cost(entry[0])
            chosen = {id(e[1]) for e in batch}
            self._queue = deque(
                e for e in self._queue if id(e[1]) not in chosen and not e[1].cancelled()
            )
            return batch


def _cost(request: GenerationRequest) -> int:
    return len(request.prompt_ids) + max(request.max_new_tokens, 0)


def _resolve(future: asyncio.Future[GenerationResult], result: GenerationResult) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[GenerationResult], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
