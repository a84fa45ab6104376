"""Fairness between tenants of one gateway: a victim engagement's chat latency, alone,
while a noisy engagement floods the gateway with large completion requests, and while
a fine-tuning job trains.

Each figure is the victim's median latency in a setting divided by its median latency
alone, measured side by side on the same in-process gateway (real uvicorn on
loopback): 1.0 = unaffected. ``--runs`` repeats the pair (solo, noisy); the report
gives the median ratio and its range, with the machine's load average, since other
processes on a shared machine move every figure. The noisy engagement keeps
``--noisy-clients`` requests of ``--noisy-prompts`` prompts each in flight (each
prompt is a row; the gateway caps rows per request at ``max_rows_per_request``).

    .venv/bin/python bench/gateway_fairness.py                     # SmolLM2 (builtin:smollm2)
    .venv/bin/python bench/gateway_fairness.py --target tiny --victims 12   # a tiny random model
    .venv/bin/python bench/gateway_fairness.py --trace --runs 1 --ft-steps 0  # where time goes

``--trace`` instruments the engine (private hooks, for this script only): per victim
request, the time its row waited before joining a batch, the time it spent decoding,
and the rows of the decoding steps it was part of; and the median step time by rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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


class _Trace:
    """Where the victim's time goes: queue wait, decoding, rows per step."""

    def __init__(self) -> None:
        from collections import defaultdict

        from assay.gateway.backends import _batcher, _engine

        self.rows: dict[int, dict[str, float]] = defaultdict(dict)
        self.steps: list[tuple[float, int, str]] = []  # duration, rows, phase
        submit, forward, finished = (
            _batcher.MicroBatcher.submit,
            _engine.Engine._forward,
            _engine.Engine._finished,
        )
        trace = self

        async def traced_submit(self: Any, request: Any, engagement: str = "") -> Any:
            if engagement == "victim":
                trace.rows[id(request)]["submit"] = time.monotonic()
            return await submit(self, request, engagement)

        def traced_forward(self: Any, rows: list[int], requests: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            for i in rows:
                row = trace.rows.get(id(requests[i]))
                if row is not None:
                    row.setdefault("joined", started)
                    row["steps"] = row.get("steps", 0) + 1
                    row["rows"] = row.get("rows", 0) + len(rows)
            out = forward(self, rows, requests, **kwargs)
            trace.steps.append((time.monotonic() - started, len(rows), self._phase))
            return out

        def traced_finished(self: Any, result: Any, request: Any, token: int) -> bool:
            done: bool = finished(self, result, request, token)
            if done and id(request) in trace.rows:
                trace.rows[id(request)]["done"] = time.monotonic()
            return done

        _batcher.MicroBatcher.submit = traced_submit  # type: ignore[method-assign]
        _engine.Engine._forward = traced_forward  # type: ignore[method-assign]
        _engine.Engine._finished = traced_finished  # type: ignore[method-assign]

    def reset(self) -> None:
        self.rows.clear()
        self.steps.clear()

    def take(self) -> dict[str, Any]:
        """The summary since the last call (or reset)."""
        rows = [r for r in self.rows.values() if {"submit", "joined", "done"} <= set(r)]
        if not rows:
            self.reset()
            return {}
        by_rows: dict[int, list[float]] = {}
        for duration, n, phase in self.steps:
            if phase == "decode":
                by_rows.setdefault(n, []).append(duration)
        summary = {
            "victim_queue_wait_s": statistics.median(r["joined"] - r["submit"] for r in rows),
            "victim_decoding_s": statistics.median(r["done"] - r["joined"] for r in rows),
            "victim_rows_per_step": statistics.median(r["rows"] / r["steps"] for r in rows),
            "decode_step_ms_by_rows": {
                n: round(statistics.median(d) * 1000, 1) for n, d in sorted(by_rows.items())
            },
        }
        self.reset()
        return summary


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _pair(
    url: str,
    victim: str,
    noisy: str,
    model: str,
    args: argparse.Namespace,
    trace: _Trace | None,
) -> dict[str, Any]:
    """One run: the victim alone, then next to the noisy engagement."""
    load = _load()
    if trace:
        trace.reset()
    solo = asyncio.run(_victim(url, victim, model, args.victims, args.victim_tokens))
    solo_trace = trace.take() if trace else None

    async def contended() -> tuple[list[float], int]:
        stop = asyncio.Event()
        noise = asyncio.create_task(
            _noise(url, noisy, model, args.noisy_prompts, args.noisy_clients, stop)
        )
        await asyncio.sleep(2.0)  # let the noise fill the queue
        if trace:
            trace.reset()
        latencies = await _victim(url, victim, model, args.victims, args.victim_tokens)
        stop.set()
        return latencies, await noise

    loaded, completed = asyncio.run(contended())
    return {
        "load_before": load,
        "load_after": _load(),
        "victim_solo_s": solo,
        "victim_with_noise_s": loaded,
        "noisy_requests_completed": completed,
        "ratio": statistics.median(loaded) / statistics.median(solo),
        "trace_solo": solo_trace,
        "trace_with_noise": trace.take() if trace else None,
    }


def _fine_tuning(
    url: str, victim: str, white: str, model: str, args: argparse.Namespace
) -> dict[str, Any]:
    """The victim alone, then while a fine-tuning job trains in the worker process."""
    load = _load()
    solo = asyncio.run(_victim(url, victim, model, args.victims, args.victim_tokens))
    headers = {"Authorization": f"Bearer {white}"}
    data = [
        {"prompt": f"Question {i}: what is the placeholder?", "completion": " Placeholder X."}
        for i in range(16)
    ]
    with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
        job = client.post(
            "/fine_tuning/jobs",
            json={
                "model": model,
                "training_data": data,
                "hyperparameters": {"steps": args.ft_steps, "batch_size": 1, "max_length": 64},
            },
        )
        job.raise_for_status()
        job_id = job.json()["id"]
        while True:  # measure once the worker is training (its model loaded, steps going)
            state = client.get(f"/fine_tuning/jobs/{job_id}").json()
            if state["status"] != "queued" and state["steps_done"] >= 1:
                break
            if state["status"] in ("succeeded", "failed"):
                raise SystemExit(f"the fine-tuning job ended before the measurement: {state}")
            time.sleep(0.2)
        steps_before = state["steps_done"]
        training = asyncio.run(_victim(url, victim, model, args.victims, args.victim_tokens))
        state = client.get(f"/fine_tuning/jobs/{job_id}").json()
    if state["status"] != "running":
        raise SystemExit("the fine-tuning job did not run through the whole measurement")
    return {
        "load_before": load,
        "load_after": _load(),
        "victim_solo_s": solo,
        "victim_during_fine_tuning_s": training,
        "fine_tuning_steps_during": state["steps_done"] - steps_before,
        "ratio": statistics.median(training) / statistics.median(solo),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", default="builtin:smollm2", help="builtin:smollm2 or tiny")
    parser.add_argument("--victims", type=int, default=8, help="victim requests per phase")
    parser.add_argument("--victim-tokens", type=int, default=16)
    parser.add_argument("--noisy-prompts", type=int, default=64)
    parser.add_argument("--noisy-clients", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="solo/noisy pairs")
    parser.add_argument("--ft-steps", type=int, default=2000, help="0: skip the fine-tuning case")
    parser.add_argument("--trace", action="store_true", help="where the victim's time goes")
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
    _, white = tokens.issue(tier=Tier.WHITE, engagement="tuner")
    backend = LocalBackend(local)
    backend.enable_fine_tuning(tokens.engine, Path(tempfile.mkdtemp()) / "adapters")
    result: dict[str, Any] = {
        "target": args.target,
        "cpus": os.cpu_count(),
        "settings": vars(args) | {"out": str(args.out)},
    }
    trace = _Trace() if args.trace else None
    with BackgroundServer(create_app(backend, tokens)) as server:
        url, model = server.base_url, local.name
        asyncio.run(_victim(url, victim, model, 2, args.victim_tokens))  # warm up
        runs = [_pair(url, victim, noisy, model, args, trace) for _ in range(args.runs)]
        ft = _fine_tuning(url, victim, white, model, args) if args.ft_steps else None
    ratios = [r["ratio"] for r in runs]
    result |= {
        "runs": runs,
        "noisy_ratio_median": statistics.median(ratios),
        "noisy_ratio_range": [min(ratios), max(ratios)],
        "median_solo_s": statistics.median(s for r in runs for s in r["victim_solo_s"]),
        "fine_tuning": ft,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    loads = [r["load_before"] for r in runs]
    print(
        f"{args.target}: victim next to a noisy engagement: {result['noisy_ratio_median']:.1f}x "
        f"its solo latency (median of {len(runs)} runs, range {min(ratios):.1f}-{max(ratios):.1f}; "
        f"solo median {result['median_solo_s']:.2f} s; load average {min(loads)}-{max(loads)} "
        f"on {os.cpu_count()} cores)"
    )
    for run in runs if trace else []:
        for phase in ("trace_solo", "trace_with_noise"):
            print(f"  {phase}: {json.dumps(run[phase])}")
    if ft is not None:
        print(
            f"{args.target}: victim while a fine-tuning job trains: {ft['ratio']:.1f}x "
            f"({ft['fine_tuning_steps_during']} steps trained meanwhile; load {ft['load_before']})"
        )


if __name__ == "__main__":
    main()
