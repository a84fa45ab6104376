"""The gateway configuration file and the log commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from assay._util.errors import UsageError
from assay.attest import load_or_create_key
from assay.gateway import GatewayConfig, RequestLog, Tier, TokenStore, build_gateway


def test_defaults_serve_smollm2_on_loopback() -> None:
    config = GatewayConfig.load(None)
    assert config.server.host == "127.0.0.1" and config.server.port == 8000
    assert config.limits.max_new_tokens == 4096 and config.fine_tuning.enabled


def test_a_full_file_loads(tmp_path: Path, tiny_model_dir: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f"""
[server]
port = 9123
[model]
target = "hf:{tiny_model_dir}"
[limits]
max_new_tokens = 64
max_request_bytes = 4096
[batching]
max_batch_size = 4
[storage]
database = "sqlite:///{tmp_path / "gw.sqlite"}"
adapters_dir = "{tmp_path / "adapters"}"
[fine_tuning]
worker_threads = 2
max_attempts = 3
"""
    )
    config = GatewayConfig.load(path)
    gateway = build_gateway(config, show_progress=False)
    assert gateway.backend.kind == "local" and gateway.backend.batching.max_batch_size == 4  # type: ignore[attr-defined]
    assert gateway.backend.batching.max_new_tokens == 64  # type: ignore[attr-defined]
    worker = gateway.backend.fine_tuning.settings  # type: ignore[attr-defined]
    assert (worker.threads, worker.nice, worker.max_attempts) == (2, 10, 3)
    assert (tmp_path / "gw.sqlite").exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[server]\nport = 'eighty'", "server.port"),
        ("[server]\nbogus = 1", "server.bogus"),
        ("[limits]\nmax_new_tokens = 0", "limits.max_new_tokens"),
        ("[fine_tuning]\nworker_nice = 40", "fine_tuning.worker_nice"),
        ("[model]\ntarget='builtin:smollm2'\n[upstream]\nbase_url='http://x/v1'", "not both"),
        ("this is = = not toml", "not valid TOML"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(UsageError, match=fragment):
        GatewayConfig.load(path)


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ASSAY_HOME": str(home)},
    )


@pytest.mark.slow
def test_log_verify_and_export_commands(tmp_path: Path, assay_home: Path) -> None:
    db = tmp_path / "gw.sqlite"
    store = TokenStore.at_path(db)
    log = RequestLog(store.engine, load_or_create_key("gateway"))
    for i in range(3):
        engagement = "acme" if i < 2 else "other"
        index = log.begin(
            token_id="t1",
            engagement=engagement,
            tier="grey",
            method="POST",
            route="/v1/completions",
            model="m",
            commitment="sha256:" + "a" * 64,
            commitment_over="jcs",
        )
        log.complete(
            index,
            engagement=engagement,
            status=200,
            prompt_tokens=10 + i,
            completion_tokens=1,
            floats=21,
        )
    receipts = tmp_path / "receipts.jsonl"
    receipts.write_text(json.dumps(log.receipt([0, 1])) + "\n")
    ok = run("gateway", "log", "verify", "--db", str(db), "-r", str(receipts), home=assay_home)
    assert ok.returncode == 0 and "6 entries" in ok.stdout and "1 receipts hold" in ok.stdout

    out = tmp_path / "export.json"
    exported = run(
        "gateway",
        "log",
        "export",
        "--engagement",
        "acme",
        "--db",
        str(db),
        "--out",
        str(out),
        home=assay_home,
    )
    assert exported.returncode == 0, exported.stderr
    envelope = json.loads(out.read_text())
    from assay.attest import key_id, load_public_key, verify_checkpoint, verify_envelope

    public = load_public_key(assay_home / "keys" / "gateway.pub")
    payload, _ = verify_envelope(envelope, {key_id(public): public})
    data = json.loads(payload)
    assert data["totals"] == {
        "requests": 2,
        "prompt_tokens": 21,
        "completion_tokens": 2,
        "floats": 42,
        "errors": 0,
    }
    assert data["chain"]["ok"] and data["chain"]["entries"] == 6 and len(data["entries"]) == 2
    checkpoint, _ = verify_checkpoint(data["chain"]["checkpoint"], [public])
    assert checkpoint.tree_size == 6

    with store.engine.begin() as connection:
        connection.execute(text("drop trigger tlog_leaves_no_update"))
        connection.execute(text("update tlog_leaves set data = x'7b7d' where idx = 2"))
    broken = run("gateway", "log", "verify", "--db", str(db), home=assay_home)
    assert broken.returncode == 1 and "entry 2" in broken.stderr
    refused = run(
        "gateway", "log", "export", "--engagement", "acme", "--db", str(db), home=assay_home
    )
    assert refused.returncode == 1 and "damaged" in refused.stderr


def test_log_verify_on_a_fresh_home_says_there_is_no_log(tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"
    result = run("gateway", "log", "verify", home=home)
    assert result.returncode != 0
    assert (
        "no gateway request log" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    )
    assert not (home / "gateway" / "gateway.sqlite").exists()


def test_token_update_changes_limits_from_the_next_request(
    tmp_path: Path, assay_home: Path
) -> None:
    db = tmp_path / "gw.sqlite"
    store = TokenStore.at_path(db)
    info, _ = store.issue(tier=Tier.GREY, engagement="acme", max_floats=10)
    result = run(
        "gateway",
        "token",
        "update",
        info.id,
        "--max-floats",
        "none",
        "--rate",
        "5",
        "--db",
        str(db),
        home=assay_home,
    )
    assert result.returncode == 0, result.stderr
    updated = store.get(info.id)
    assert updated.max_floats is None and updated.rate_per_minute == 5
    bad = run(
        "gateway",
        "token",
        "update",
        info.id,
        "--max-floats",
        "-3",
        "--db",
        str(db),
        home=assay_home,
    )
    assert bad.returncode == 2
