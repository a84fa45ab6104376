"""``assay gateway serve --workers N``: uvicorn's supervisor runs N gateway processes on
one port, sharing the database (here a SQLite file; on PostgreSQL see test_replicas)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from assay.gateway import BackgroundServer, Tier, TokenStore
from assay.testing import stub_upstream_app
from tests.gateway._processes import assay, burst, chat, codes, launch, serving, stop


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


@pytest.mark.slow
def test_workers_share_quotas_and_one_log_on_a_sqlite_file(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'gateway.sqlite'}"
    tokens = TokenStore(db)
    info, secret = tokens.issue(tier=Tier.BLACK, engagement="e", max_requests=30)
    with BackgroundServer(stub_upstream_app()) as upstream:
        config = tmp_path / "gateway.toml"
        config.write_text(f'[upstream]\nbase_url = "{upstream.base_url}"\n')
        log = tmp_path / "serve.log"
        process = launch(config, db, log, "--workers", "2")
        try:
            url = serving(process, log)
            assert len(_children(process.pid)) >= 2  # the supervisor's worker processes
            responses = asyncio.run(burst([url], secret, 80, chat()))
        finally:
            stop([process])
    assert codes(responses) == {"ok": 30, "429 quota_exceeded": 50}
    assert tokens.usage(info.id).requests == 30
    verified = assay("gateway", "log", "verify", "--db", db, "--config", str(config))
    assert verified.returncode == 0, verified.stderr
    assert "160 entries" in verified.stdout


def test_workers_need_a_shared_database(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[upstream]\nbase_url = "http://127.0.0.1:9/v1"\n')
    result = assay(
        "gateway", "serve", "--config", str(config), "--db", "sqlite://", "--workers", "2"
    )
    assert result.returncode == 2
    assert "--workers needs a database the workers can share" in result.stderr
