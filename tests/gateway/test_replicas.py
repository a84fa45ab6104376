"""Gateway replicas: two real ``assay gateway serve`` processes in front of one upstream,
sharing one PostgreSQL database. Quotas, rate limits, revocation and the request log
hold across them as they hold inside one process.

Needs PostgreSQL (``ASSAY_TEST_POSTGRES_URL``, see ``tests/gateway/conftest.py``). The
upstream is :func:`assay.testing.stub_upstream_app` on a loopback thread, so no model
loads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from assay.attest import leaf_hash, load_or_create_key
from assay.gateway import BackgroundServer, RequestLog, Tier, TokenStore
from assay.testing import stub_upstream_app
from tests.gateway._processes import assay, burst, chat, codes, launch, serving, stop
from tests.gateway.conftest import needs_postgres

pytestmark = needs_postgres


@dataclass
class Replicas:
    urls: list[str]  # base URLs (…/v1), one per gateway process
    db: str
    tokens: TokenStore
    config: Path


@pytest.fixture
def replicas(schema_url: str, tmp_path: Path) -> Iterator[Replicas]:
    """Two gateway processes on one PostgreSQL schema, both in front of one stub upstream
    (and sharing ASSAY_HOME, hence the signing key)."""
    with BackgroundServer(stub_upstream_app()) as upstream:
        config = tmp_path / "gateway.toml"
        config.write_text(
            f'[upstream]\nbase_url = "{upstream.base_url}"\n\n[server]\nlog_level = "warning"\n'
        )
        tokens = TokenStore(schema_url)  # migrates the schema before the replicas start
        logs = [tmp_path / f"gw{i}.log" for i in range(2)]
        processes = [launch(config, schema_url, log) for log in logs]
        try:
            urls = [serving(p, log) for p, log in zip(processes, logs, strict=True)]
            yield Replicas(urls, schema_url, tokens, config)
        finally:
            stop(processes)
            tokens.engine.dispose()


def test_two_replicas_never_exceed_a_request_quota(replicas: Replicas) -> None:
    info, secret = replicas.tokens.issue(tier=Tier.BLACK, engagement="e", max_requests=50)
    responses = asyncio.run(burst(replicas.urls, secret, 200, chat()))
    assert codes(responses) == {"ok": 50, "429 quota_exceeded": 150}
    # both replicas answered some of the 50
    served = {str(r.url).split("/v1")[0] for r in responses if r.status_code == 200}
    assert len(served) == 2
    usage = replicas.tokens.usage(info.id)
    assert usage.requests == 50


def test_two_replicas_never_exceed_a_float_quota(replicas: Replicas) -> None:
    # each request reserves and (the stub answers 3 tokens with 1 alternative) uses
    # 3 * (1 + 1) = 6 floats: a quota of 6 * 37 allows exactly 37 answers
    info, secret = replicas.tokens.issue(tier=Tier.GREY, engagement="e", max_floats=6 * 37)
    body = chat(max_tokens=3, logprobs=True, top_logprobs=1)
    responses = asyncio.run(burst(replicas.urls, secret, 200, body))
    assert codes(responses) == {"ok": 37, "429 quota_exceeded": 163}
    assert replicas.tokens.usage(info.id).floats == 6 * 37


def test_two_replicas_share_one_rate_limit(replicas: Replicas) -> None:
    """Regression: the rate limit was counted in each process's memory, so N replicas
    admitted N times a token's rate."""
    _, secret = replicas.tokens.issue(tier=Tier.BLACK, engagement="e", rate_per_minute=10)
    responses = asyncio.run(burst(replicas.urls, secret, 40, chat()))
    assert codes(responses) == {"ok": 10, "429 rate_limited": 30}
    assert all(1 <= int(r.headers["Retry-After"]) <= 60 for r in responses if r.status_code == 429)


def test_revoking_on_one_replica_refuses_on_every_replica(replicas: Replicas) -> None:
    info, secret = replicas.tokens.issue(tier=Tier.BLACK, engagement="e")
    headers = {"Authorization": f"Bearer {secret}"}
    assert [httpx.get(f"{u}/models", headers=headers).status_code for u in replicas.urls] == [
        200,
        200,
    ]
    revoked = assay("gateway", "token", "revoke", info.id, "--db", replicas.db)
    assert revoked.returncode == 0, revoked.stderr
    refused = [httpx.get(f"{u}/models", headers=headers) for u in replicas.urls]
    assert [r.status_code for r in refused] == [401, 401]
    assert all("revoked" in r.json()["error"]["message"] for r in refused)


def test_the_request_log_stays_one_verifiable_chain_across_replicas(replicas: Replicas) -> None:
    _, secret = replicas.tokens.issue(tier=Tier.BLACK, engagement="e", max_requests=150)
    responses = asyncio.run(burst(replicas.urls, secret, 200, chat()))
    assert codes(responses) == {"ok": 150, "429 quota_exceeded": 50}
    # every answer (a refusal too) has its two entries; no index given out twice
    indices = [
        int(r.headers[h])
        for r in responses
        for h in ("x-assay-log-index", "x-assay-log-outcome-index")
    ]
    assert sorted(indices) == list(range(400))

    verified = assay(
        "gateway", "log", "verify", "--db", replicas.db, "--config", str(replicas.config)
    )
    assert verified.returncode == 0, verified.stderr
    assert "request log consistent: 400 entries" in verified.stdout

    # a superuser edits one entry, bypassing the append-only triggers, and recomputes its
    # leaf hash so that the row looks whole: the tree above it no longer matches
    engine = create_engine(replicas.db)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        data = conn.execute(
            text("SELECT data FROM tlog_leaves WHERE log = 'gateway' AND idx = 100")
        ).scalar_one()
        edited = bytes(data).replace(b'"e"', b'"x"')
        assert edited != bytes(data)
        conn.execute(
            text(
                "UPDATE tlog_leaves SET data = :data, leaf_hash = :hash "
                "WHERE log = 'gateway' AND idx = 100"
            ),
            {"data": edited, "hash": leaf_hash(edited)},
        )
    engine.dispose()
    tampered = assay(
        "gateway", "log", "verify", "--db", replicas.db, "--config", str(replicas.config)
    )
    assert tampered.returncode == 1
    assert "the stored tree is damaged" in tampered.stderr


def test_replicas_started_together_on_a_fresh_database_both_serve(
    schema_url: str, tmp_path: Path
) -> None:
    """Regression: two processes opening a new database at once both ran its migrations,
    and the second failed creating tables the first had just created."""
    with BackgroundServer(stub_upstream_app()) as upstream:
        config = tmp_path / "gateway.toml"
        config.write_text(f'[upstream]\nbase_url = "{upstream.base_url}"\n')
        logs = [tmp_path / f"gw{i}.log" for i in range(3)]
        processes = [launch(config, schema_url, log) for log in logs]
        try:
            urls = [serving(p, log) for p, log in zip(processes, logs, strict=True)]
        finally:
            stop(processes)
        assert len(set(urls)) == 3


def test_request_log_appends_from_many_processes_all_land_in_one_chain(schema_url: str) -> None:
    """Regression: appenders in different processes raced for the next index and retried
    on a collision; under contention from many replicas an append could lose twenty
    times in a row and fail (the request then had no log entry). Sixteen engines
    (separate pools, as separate processes have) append at once."""
    TokenStore(schema_url).engine.dispose()  # migrate
    engines = [create_engine(schema_url, pool_size=8) for _ in range(16)]
    key = load_or_create_key("gateway")
    logs = [RequestLog(engine, key) for engine in engines]

    def append(i: int) -> int:
        return logs[i % len(logs)].tlog.append(f"entry {i}".encode(), tag="e")

    try:
        with ThreadPoolExecutor(64) as pool:
            indices = list(pool.map(append, range(1600)))
        assert sorted(indices) == list(range(1600))
        assert logs[0].verify().ok and logs[0].size == 1600
    finally:
        for engine in engines:
            engine.dispose()
