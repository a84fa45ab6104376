"""The gateway configuration file and the log commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from assay._util.errors import UsageError
from assay.gateway import GatewayConfig, RequestLog, TokenStore, build_gateway


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
"""
    )
    config = GatewayConfig.load(path)
    gateway = build_gateway(config, show_progress=False)
    assert gateway.backend.kind == "local" and gateway.backend.batching.max_batch_size == 4  # type: ignore[attr-defined]
    assert gateway.backend.batching.max_new_tokens == 64  # type: ignore[attr-defined]
    assert (tmp_path / "gw.sqlite").exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[server]\nport = 'eighty'", "server.port"),
        ("[server]\nbogus = 1", "server.bogus"),
        ("[limits]\nmax_new_tokens = 0", "limits.max_new_tokens"),
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


def test_log_verify_and_export_commands(tmp_path: Path, assay_home: Path) -> None:
    db = tmp_path / "gw.sqlite"
    store = TokenStore.at_path(db)
    log = RequestLog(store.engine)
    for i in range(3):
        log.append(
            token_id="t1",
            engagement="acme" if i < 2 else "other",
            route="/v1/completions",
            model="m",
            tier="grey",
            status=200,
            prompt_tokens=10 + i,
            completion_tokens=1,
            floats=21,
            commitment="sha256:" + "a" * 64,
        )
    ok = run("gateway", "log", "verify", "--db", str(db), home=assay_home)
    assert ok.returncode == 0 and "3 entries" in ok.stdout

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
    from assay.attest import key_id, load_public_key, verify_envelope

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
    assert data["chain"]["ok"] and data["chain"]["entries"] == 3 and len(data["entries"]) == 2

    with store.engine.begin() as connection:
        connection.execute(text("update request_log set floats = 0 where seq = 2"))
    broken = run("gateway", "log", "verify", "--db", str(db), home=assay_home)
    assert broken.returncode == 1 and "entry 2" in broken.stderr
    refused = run(
        "gateway", "log", "export", "--engagement", "acme", "--db", str(db), home=assay_home
    )
    assert refused.returncode == 1 and "broken" in refused.stderr
