"""Campaign throughput: the Ray executor with 1 and 2 workers against the local executor,
on the same targets, plan and items, side by side in one run.

Targets: N scripted targets behind real gateways on loopback, each answering after a
fixed latency (a stand-in for a remote API; a scripted gateway answers one request at
a time, so a target's latency adds up over its samples). Plan: hazard_knowledge and
misuse_refusal, ``--items`` each.

Contenders (every run a fresh output folder; interleaved over rounds, order rotated):
  local   ``--executor local``: the audits one after another in this process
  ray-1   ``--executor ray`` on a 2-CPU loopback cluster with ``--max-in-flight 1``
  ray-2   the same cluster with ``--max-in-flight 2``
A warm-up Ray run (not counted) starts the cluster's workers first.

Run:  .venv/bin/python bench/campaign_throughput.py [--targets 4] [--items 8] [--latency 0.1] [--rounds 3]
Writes bench/results/campaign_throughput.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _provenance import git_commit

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def ray_cluster(cpus: int) -> Iterator[str]:
    """A loopback cluster in its own process group, stopped (the group) on exit."""
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    port = _free_port()
    log = Path(temp) / "start.log"
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("ray")),
                "start",
                "--head",
                "--block",
                f"--num-cpus={cpus}",
                "--node-ip-address=127.0.0.1",
                f"--port={port}",
                "--include-dashboard=false",
                "--disable-usage-stats",
                f"--temp-dir={temp}",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    os.environ["RAY_AUTH_MODE"] = "disabled"
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=4)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per reply")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/campaign_throughput.json")
    args = parser.parse_args()

    # the commit under test, read before anything runs
    commit = git_commit()
    os.environ.setdefault("ASSAY_HOME", tempfile.mkdtemp(prefix="assay-bench-home-"))
    from assay.campaign import load_campaign, run_campaign
    from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
    from assay.testing import COMPLIANT_REPLY, REFUSING_REPLY, ScriptedBackend

    def slow(name: str, text: str) -> ScriptedBackend:
        def reply(_messages: Any) -> str:
            time.sleep(args.latency)
            return text

        return ScriptedBackend(name, reply)

    tokens = TokenStore.in_memory()
    _, key = tokens.issue(tier=Tier.GREY, engagement="bench")
    os.environ["BENCH_KEY"] = key
    servers = [
        BackgroundServer(
            create_app(slow(f"t{i}", COMPLIANT_REPLY if i % 2 else REFUSING_REPLY), tokens)
        ).start()
        for i in range(args.targets)
    ]
    folder = Path(tempfile.mkdtemp(prefix="assay-bench-campaign-"))
    (folder / "plan.yaml").write_text(
        "schema_version: 1\nextends: quick\nname: bench\nsuites:\n"
        f"  - {{id: hazard_knowledge, limit: {args.items}}}\n"
        f"  - {{id: misuse_refusal, limit: {args.items}, params: {{max_tokens: 8}}}}\n"
    )
    (folder / "campaign.yaml").write_text(
        "name: bench\ntargets:\n"
        + "".join(
            f"  - {{target: 'openai:{s.base_url}', name: t{i}, api_key_env: BENCH_KEY}}\n"
            for i, s in enumerate(servers)
        )
        + "plans: [plan.yaml]\nmax_connections: 4\n"
    )
    campaign, plans = load_campaign(folder / "campaign.yaml")
    samples = args.targets * 2 * args.items
    rows: list[dict[str, Any]] = []
    contenders = ["local", "ray-1", "ray-2"]
    try:
        with ray_cluster(2) as address:

            def once(name: str, label: str) -> float:
                out = Path(tempfile.mkdtemp(prefix=f"assay-bench-{name}-"))
                options: dict[str, Any] = {"executor": "local"}
                if name.startswith("ray"):
                    options = {
                        "executor": "ray",
                        "address": address,
                        "max_in_flight": int(name.split("-")[1]),
                    }
                started = time.perf_counter()
                outcome = run_campaign(campaign, plans, out, show_progress=False, **options)
                seconds = time.perf_counter() - started
                assert not outcome.failed and outcome.samples_run == samples, outcome.failed
                print(f"{label} {name}: {seconds:.1f} s", file=sys.stderr)
                return seconds

            once("ray-2", "warm-up")
            for round_ in range(args.rounds):
                order = contenders[round_ % 3 :] + contenders[: round_ % 3]
                for name in order:
                    seconds = once(name, f"round {round_ + 1}")
                    rows.append({"contender": name, "round": round_ + 1, "seconds": seconds})
    finally:
        for server in servers:
            server.stop()

    summary = {}
    for name in contenders:
        times = [r["seconds"] for r in rows if r["contender"] == name]
        summary[name] = {"median": statistics.median(times), "min": min(times), "max": max(times)}
    result = {
        "commit": commit,
        "command": "bench/campaign_throughput.py " + " ".join(sys.argv[1:]),
        "targets": args.targets,
        "items_per_suite": args.items,
        "latency_seconds": args.latency,
        "samples_per_campaign": samples,
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_at_end": os.getloadavg(),
        "rows": rows,
        "summary": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    local = summary["local"]["median"]
    print("| contender | median s (min-max) | samples/s | speed vs local |")
    print("|---|---|---|---|")
    for name in contenders:
        s = summary[name]
        print(
            f"| {name} | {s['median']:.1f} ({s['min']:.1f}-{s['max']:.1f}) | "
            f"{samples / s['median']:.2f} | {local / s['median']:.2f}x |"
        )


if __name__ == "__main__":
    main()
