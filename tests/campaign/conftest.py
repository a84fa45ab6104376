"""Campaign fixtures: three targets (a tiny random Llama served in-process, and two
scripted targets behind real gateways) and a Ray cluster on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
from assay.testing import REFUSING_REPLY, ScriptedBackend, always_comply

# small enough for two cores: a tiny model's replies are cut at 8 tokens
PLAN = """\
schema_version: 1
extends: quick
name: campaign-test
suites:
  - {id: hazard_knowledge, limit: 6}
  - {id: misuse_refusal, limit: 6, params: {max_tokens: 8}}
"""
SLOW_REPLY_SECONDS = 0.3  # the slow target: long enough to kill a worker mid-suite


def slow_refuser() -> ScriptedBackend:
    def reply(_messages: Any) -> str:
        time.sleep(SLOW_REPLY_SECONDS)
        return REFUSING_REPLY

    return ScriptedBackend("slow-refuser", reply)


@dataclass
class Targets:
    campaign_file: Path
    slow: ScriptedBackend
    key: str


@pytest.fixture(scope="module")
def targets(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Targets]:
    """The campaign file: the tiny model (plain), an always-complying and a slow
    refusing scripted target; the two scripted gateways share one grey-tier key."""
    folder = tmp_path_factory.mktemp("campaign")
    tokens = TokenStore.in_memory()
    _, key = tokens.issue(tier=Tier.GREY, engagement="campaign-tests")
    slow = slow_refuser()
    complier = BackgroundServer(create_app(always_comply(), tokens)).start()
    refuser = BackgroundServer(create_app(slow, tokens)).start()
    (folder / "plan.yaml").write_text(PLAN)
    campaign = folder / "campaign.yaml"
    campaign.write_text(
        "name: three-targets\n"
        "targets:\n"
        f"  - {{target: 'hf:{tiny_model_dir}', name: tiny}}\n"
        f"  - {{target: 'openai:{complier.base_url}', name: complier, api_key_env: CAMPAIGN_KEY}}\n"
        f"  - {{target: 'openai:{refuser.base_url}', name: slow-refuser, api_key_env: CAMPAIGN_KEY}}\n"
        "plans: [plan.yaml]\n"
        "max_connections: 4\n"
    )
    previous = os.environ.get("CAMPAIGN_KEY")
    os.environ["CAMPAIGN_KEY"] = key
    try:
        yield Targets(campaign, slow, key)
    finally:
        if previous is None:
            os.environ.pop("CAMPAIGN_KEY", None)
        else:
            os.environ["CAMPAIGN_KEY"] = previous
        complier.stop()
        refuser.stop()


def per_sample(audit_folder: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    """An audit's samples.jsonl without what differs between any two runs (when and in
    which Inspect eval a sample was scored)."""
    records = {}
    for line in (audit_folder / "samples.jsonl").read_text().splitlines():
        record = json.loads(line)
        record.pop("eval_id")
        record.pop("scored_at")
        records[(record["suite"], record["sample_id"], record["epoch"])] = record
    return records


@dataclass
class RayCluster:
    address: str
    process: subprocess.Popen[bytes]

    def workers_running(self, function: str = "execute_work_item") -> list[int]:
        """Pids of this cluster's worker processes executing ``function`` right now."""
        import psutil

        pids = []
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if child.cmdline()[:1] == [f"ray::{function}"]:
                    pids.append(child.pid)
            except (psutil.NoSuchProcess, psutil.AccessDenied, IndexError):
                continue
        return pids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    """``ray start --head --num-cpus 2`` on loopback, without token authentication,
    stopped (its whole process group) when the module's tests are done."""
    pytest.importorskip("ray")
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Ray's socket paths must be short
    port = _free_port()
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    ray_bin = Path(sys.executable).with_name("ray")
    log = Path(temp) / "start.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                str(ray_bin),
                "start",
                "--head",
                "--block",
                "--num-cpus",
                "2",
                "--node-ip-address",
                "127.0.0.1",
                "--port",
                str(port),
                "--include-dashboard=false",
                "--disable-usage-stats",
                f"--temp-dir={temp}",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    previous = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    try:
        deadline = time.monotonic() + 90
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start failed: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield RayCluster(f"127.0.0.1:{port}", process)
    finally:
        if previous is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = previous
        for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError):  # what outlived `ray start`
            os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)
