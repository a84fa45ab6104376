"""Fairness between tenants of one gateway: a victim engagement's chat latency, alone
and while a noisy engagement floods the gateway with large completion requests.

The figure is the victim's median latency with the noise divided by its median latency
alone (1.0 = unaffected), measured side by side in one run on the same in-process
gateway (real uvicorn on loopback). The noisy engagement keeps ``--noisy-clients``
requests of ``--noisy-prompts`` prompts each in flight (each prompt x n is a row; the
gateway caps rows per request at ``max_rows_per_request``).

    .venv/bin/python bench/gateway_fairness.py                     # SmolLM2 (builtin:smollm2)
    .venv/bin/python bench/gateway_fairness.py --target tiny --victims 20   # a tiny random model
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx


async def _victim(base_url: str, key: str, model: str, n: int, max_tokens: int) -> list[float]:
    latencies = []
    async with httpx.AsyncClient(base_url=base_url, timeout=900) as client:
        for i in range(n):
            started = time.monotonic()
            response = await client.post(
                "/chat/completions",
                json={
                    "model": model,
                    "messages": [{"role": "user", "content": f"Say hello number {i}."}],
                    "max_tokens": max_tokens,
                    "temperature": 0,
                },
                headers={"Authorization": f"Bearer {key}"},
            )
            response.raise_for_status()
            latencies.append(time.monotonic() - started)
    return latencies


async def _noise(
    base_url: str, key: str, model: str, prompts: int, clients: int, stop: asyncio.Event
) -> int:
    sent = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=900) as client:

        async def one() -> None:
            nonlocal sent
            while not stop.is_set():
                response = await client.post(
                    "/completions",
                    json={
                        "model": model,
                        "prompt": [f"Write a long story about topic {j}." for j in range(prompts)],
                        "max_tokens": 32,
                        "temperature": 0,
                    },
                    headers={"Authorization": f"Bearer {key}"},
                )
                response.raise_for_status()
                sent += 1

        await asyncio.gather(*(one() for _ in range(clients)))
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", default="builtin:smollm2", help="builtin:smollm2 or tiny")
    parser.add_argument("--victims", type=int, default=8, help="victim requests per phase")
    parser.add_argument("--victim-tokens", type=int, default=16)
    parser.add_argument("--noisy-prompts", type=int, default=64)
    parser.add_argument("--noisy-clients", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "gateway_fairness.json"
    )
    args = parser.parse_args()

    from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
    from assay.gateway.backends import LocalBackend

    if args.target == "tiny":
        from assay.models import load_local_model
        from assay.testing import build_tiny_llama

        local = load_local_model(build_tiny_llama(Path(tempfile.mkdtemp()) / "tiny"), name="tiny")
    else:
        from assay.models import load_target_model, parse_target

        local = load_target_model(parse_target(args.target))
    tokens = TokenStore.in_memory()
    _, victim = tokens.issue(tier=Tier.BLACK, engagement="victim")
    _, noisy = tokens.issue(tier=Tier.BLACK, engagement="noisy")
    result: dict[str, Any] = {
        "target": args.target,
        "settings": vars(args) | {"out": str(args.out)},
    }
    with BackgroundServer(create_app(LocalBackend(local), tokens)) as server:
        url, model = server.base_url, local.name
        asyncio.run(_victim(url, victim, model, 2, args.victim_tokens))  # warm up
        solo = asyncio.run(_victim(url, victim, model, args.victims, args.victim_tokens))

        async def contended() -> tuple[list[float], int]:
            stop = asyncio.Event()
            noise = asyncio.create_task(
                _noise(url, noisy, model, args.noisy_prompts, args.noisy_clients, stop)
            )
            await asyncio.sleep(2.0)  # let the noise fill the queue
            latencies = await _victim(url, victim, model, args.victims, args.victim_tokens)
            stop.set()
            return latencies, await noise

        loaded, noisy_requests = asyncio.run(contended())
    result |= {
        "victim_solo_s": solo,
        "victim_with_noise_s": loaded,
        "noisy_requests_completed": noisy_requests,
        "median_solo_s": statistics.median(solo),
        "median_with_noise_s": statistics.median(loaded),
        "slowdown": statistics.median(loaded) / statistics.median(solo),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"victim median {result['median_solo_s']:.2f} s alone, "
        f"{result['median_with_noise_s']:.2f} s with a noisy engagement "
        f"({result['slowdown']:.1f}x); noisy requests completed: {noisy_requests}"
    )


if __name__ == "__main__":
    main()
