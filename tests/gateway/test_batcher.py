"""The micro-batcher: batches form under concurrency, answers arrive per row."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from assay.gateway.backends import GenerationRequest, GenerationResult, MicroBatcher


def fake_engine(delay: float, log: list[list[int]]) -> Callable[..., list[GenerationResult]]:
    def run(
        requests: Sequence[GenerationRequest],
        on_done: Callable[[int, GenerationResult], None],
        admit: object = None,
        on_fail: object = None,
    ) -> list[GenerationResult]:
        log.append([len(r.prompt_ids) for r in requests])
        results = []
        for i, r in enumerate(requests):
            time.sleep(delay * r.max_new_tokens)
            result = GenerationResult(prompt_ids=r.prompt_ids, text=f"len{len(r.prompt_ids)}")
            on_done(i, result)
            results.append(result)
        return results

    return run


def test_concurrent_requests_are_batched_and_answered_in_order_of_identity() -> None:
    log: list[list[int]] = []
    batcher = MicroBatcher(fake_engine(0.001, log), max_batch_size=8, max_wait_s=0.01)

    async def go() -> list[GenerationResult]:
        return await asyncio.gather(
            *(
                batcher.submit(GenerationRequest(prompt_ids=[0] * (i + 1), max_new_tokens=1))
                for i in range(20)
            )
        )

    results = asyncio.run(go())
    assert [r.text for r in results] == [f"len{i + 1}" for i in range(20)]
    assert sum(len(b) for b in log) == 20
    assert max(len(b) for b in log) == 8


def test_batches_group_similar_lengths_but_always_take_the_oldest() -> None:
    log: list[list[int]] = []
    batcher = MicroBatcher(fake_engine(0.0, log), max_batch_size=4, max_wait_s=0.05)
    lengths = [50, 3, 49, 4, 51, 2, 48, 5]

    async def go() -> None:
        await asyncio.gather(
            *(
                batcher.submit(GenerationRequest(prompt_ids=[0] * n, max_new_tokens=0))
                for n in lengths
            )
        )

    asyncio.run(go())
    assert sorted(log[0]) == [48, 49, 50, 51]  # the oldest (50) and its nearest neighbours
    assert sorted(log[1]) == [2, 3, 4, 5]


def test_short_rows_are_answered_before_long_rows_of_the_same_batch_finish() -> None:
    log: list[list[int]] = []
    batcher = MicroBatcher(fake_engine(0.05, log), max_batch_size=4, max_wait_s=0.02)
    finished: dict[str, float] = {}

    async def one(name: str, tokens: int) -> None:
        await batcher.submit(GenerationRequest(prompt_ids=[1], max_new_tokens=tokens))
        finished[name] = time.monotonic()

    async def go() -> None:
        await asyncio.gather(one("short", 1), one("long", 10))

    asyncio.run(go())
    assert len(log) == 1
    assert finished["long"] - finished["short"] > 0.3
