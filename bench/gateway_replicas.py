"""Gateway throughput with 1, 2 and 4 replicas on one PostgreSQL database, and quota
overshoot under the same load.

Every replica is a real ``assay gateway serve`` process in front of one upstream
OpenAI-compatible server (:func:`assay.testing.stub_upstream_app` in a process of its
own, which answers at once: what is measured is the gateway's own cost per request,
i.e. token check, rate limit, quota reservation and settlement, two request-log
appends and a signed receipt). 64 concurrent clients (one asyncio process, httpx)
spread requests round-robin over the replicas.

Per replica count and round:
  throughput  ``--requests`` chat requests with a token without quotas: requests/s
  overshoot   256 requests with a token whose quota is 100 requests: answers - 100
              (must be 0)

Figures are ratios against 1 replica, measured side by side in one run (absolute
requests/s drift on a shared machine). The database is ``--db`` or a throwaway
cluster (scripts/throwaway-postgres); each replica count gets a fresh schema.

Run:  .venv/bin/python bench/gateway_replicas.py [--replicas 1 2 4] [--requests 640] [--rounds 3]
Writes bench/results/gateway_replicas.jsonl (one row per round) and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from _provenance import git_commit
from assay.gateway import Tier, TokenStore
from assay.testing import STUB_MODEL, postgres_schema

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "gateway_replicas.jsonl"
CLIENTS = 64
QUOTA, QUOTA_REQUESTS = 100, 256
BODY = {
    "model": STUB_MODEL,
    "messages": [{"role": "user", "content": "Step 1: placeholder question"}],
    "max_tokens": 3,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


@contextmanager
def _processes(commands: list[list[str]], urls: list[str], logs: Path) -> Iterator[None]:
    started = []
    try:
        for i, command in enumerate(commands):
            out = (logs / f"p{i}-{uuid.uuid4().hex[:6]}.log").open("wb")
            started.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT))
        for url, process in zip(urls, started, strict=True):
            _wait(url, process)
        yield
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    folder = tempfile.mkdtemp(prefix="assay-bench-pg-")
    script = str(ROOT / "scripts" / "throwaway-postgres")
    started = subprocess.run(
        [sys.executable, script, "start", folder], capture_output=True, text=True, check=True
    )
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run([sys.executable, script, "stop", folder], check=False)


async def _drive(urls: list[str], secret: str, n: int) -> tuple[float, dict[int, int]]:
    """``n`` requests from CLIENTS concurrent clients; wall seconds and status counts."""
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    counts: dict[int, int] = {}
    queue = iter(range(n))
    async with httpx.AsyncClient(
        timeout=300, limits=limits, headers={"Authorization": f"Bearer {secret}"}
    ) as client:

        async def worker() -> None:
            for i in queue:
                try:
                    r = await client.post(f"{urls[i % len(urls)]}/v1/chat/completions", json=BODY)
                    status = r.status_code
                except httpx.TransportError:  # counted, not fatal: the row says how many
                    status = 0
                counts[status] = counts.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        return time.perf_counter() - started, counts


def measure(db: str, replicas: int, requests: int, rounds: int, logs: Path) -> list[dict[str, Any]]:
    rows = []
    with postgres_schema(db, prefix="bench_") as url, tempfile.TemporaryDirectory() as scratch:
        TokenStore(url).engine.dispose()  # migrate once, before the replicas start
        upstream_port = _free_port()
        upstream = f"http://127.0.0.1:{upstream_port}"
        config = Path(scratch) / "gateway.toml"
        config.write_text(
            f'[upstream]\nbase_url = "{upstream}/v1"\n\n[server]\nlog_level = "warning"\n'
        )
        ports = [_free_port() for _ in range(replicas)]
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        upstream_command = [
            *(sys.executable, "-m", "uvicorn", "--factory", "assay.testing:stub_upstream_app"),
            *("--port", str(upstream_port), "--log-level", "warning", "--no-access-log"),
        ]
        gateway_commands = [
            [
                *(sys.executable, "-m", "assay", "gateway", "serve", "--config", str(config)),
                *("--db", url, "--port", str(p)),
            ]
            for p in ports
        ]
        # the upstream first: a gateway lists the upstream's models when it starts
        with (
            _processes([upstream_command], [upstream], logs),
            _processes(gateway_commands, urls, logs),
        ):
            tokens = TokenStore(url)
            _, warm = tokens.issue(tier=Tier.BLACK, engagement="warm-up")
            asyncio.run(_drive(urls, warm, 2 * CLIENTS))
            for number in range(rounds):
                _, free = tokens.issue(tier=Tier.BLACK, engagement=f"throughput-{number}")
                seconds, counts = asyncio.run(_drive(urls, free, requests))
                info, limited = tokens.issue(
                    tier=Tier.BLACK, engagement=f"quota-{number}", max_requests=QUOTA
                )
                _, quota_counts = asyncio.run(_drive(urls, limited, QUOTA_REQUESTS))
                rows.append(
                    {
                        "replicas": replicas,
                        "round": number,
                        "requests": requests,
                        "ok": counts.get(200, 0),
                        "transport_errors": counts.get(0, 0) + quota_counts.get(0, 0),
                        "seconds": round(seconds, 3),
                        "requests_per_s": round(counts.get(200, 0) / seconds, 1),
                        "quota": QUOTA,
                        "quota_answers": quota_counts.get(200, 0),
                        "quota_used": tokens.usage(info.id).requests,
                        "overshoot": quota_counts.get(200, 0) - QUOTA,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
            tokens.engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--requests", type=int, default=640)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", default=os.environ.get("ASSAY_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    commit = git_commit()
    load = os.getloadavg()[0]
    meta = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {load:.1f} at start",
        "command": "bench/gateway_replicas.py " + " ".join(sys.argv[1:]),
    }
    rows: list[dict[str, Any]] = []
    logs = Path(tempfile.mkdtemp(prefix="assay-bench-replicas-"))
    print(f"process logs in {logs}", flush=True)
    with _database(args.db) as db:
        for n in args.replicas:
            rows.extend(measure(db, n, args.requests, args.rounds, logs))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as out:
        for row in rows:
            out.write(json.dumps({**meta, **row}) + "\n")
    base = statistics.median(r["requests_per_s"] for r in rows if r["replicas"] == args.replicas[0])
    print(f"\n{meta['machine']}; commit {commit}")
    print("| replicas | requests/s, median (min–max) | ratio to 1 | quota overshoot |")
    print("|---|---|---|---|")
    for n in args.replicas:
        mine = [r for r in rows if r["replicas"] == n]
        speeds = [r["requests_per_s"] for r in mine]
        median = statistics.median(speeds)
        print(
            f"| {n} | {median:.1f} ({min(speeds):.1f}–{max(speeds):.1f}) | {median / base:.2f} "
            f"| {sum(r['overshoot'] for r in mine)} over {len(mine)} rounds |"
        )


if __name__ == "__main__":
    main()
