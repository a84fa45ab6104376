"""Security properties: each tier reaches exactly its routes; quotas hold under
concurrency; rate limits answer 429; bodies are capped; the log catches tampering."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from assay.attest import load_or_create_key
from assay.gateway import BackgroundServer, RequestLog, Tier, TokenStore, commitment, create_app
from assay.gateway._app import AppSettings
from assay.gateway.backends import LocalBackend
from assay.models import LocalModel
from tests.conftest import LiveGateway

PROMPT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}

# route, method, body, minimum tier
ROUTES: list[tuple[str, str, dict[str, object] | None, Tier]] = [
    ("/v1/models", "GET", None, Tier.BLACK),
    ("/v1/assay/whoami", "GET", None, Tier.BLACK),
    ("/v1/chat/completions", "POST", {"model": "tiny", **PROMPT}, Tier.BLACK),
    ("/v1/completions", "POST", {"model": "tiny", "prompt": "hi", "max_tokens": 2}, Tier.BLACK),
    (
        "/v1/chat/completions",
        "POST",
        {"model": "tiny", **PROMPT, "logprobs": True, "top_logprobs": 2},
        Tier.GREY,
    ),
    ("/v1/chat/completions", "POST", {"model": "tiny", **PROMPT, "prompt_logprobs": 1}, Tier.GREY),
    (
        "/v1/completions",
        "POST",
        {"model": "tiny", "prompt": "hi", "max_tokens": 1, "logprobs": 2},
        Tier.GREY,
    ),
    (
        "/v1/completions",
        "POST",
        {"model": "tiny", "prompt": "hi", "max_tokens": 0, "echo": True, "logprobs": 0},
        Tier.GREY,
    ),
    (
        "/v1/completions",
        "POST",
        {"model": "tiny", "prompt": "hi", "max_tokens": 1, "prompt_logprobs": 0},
        Tier.GREY,
    ),
    ("/tokenize", "POST", {"model": "tiny", "prompt": "hi"}, Tier.GREY),
    ("/v1/tokenize", "POST", {"model": "tiny", "prompt": "hi"}, Tier.GREY),
    ("/detokenize", "POST", {"model": "tiny", "tokens": [1, 2]}, Tier.GREY),
    ("/v1/whitebox/hook_points?model=tiny", "GET", None, Tier.WHITE),
    (
        "/v1/whitebox/activations",
        "POST",
        {"model": "tiny", "inputs": [{"text": "hi"}], "hook_points": ["layers.1.mlp_out"]},
        Tier.WHITE,
    ),
    (
        "/v1/whitebox/generate",
        "POST",
        {"model": "tiny", "input": {"text": "hi"}, "max_tokens": 2},
        Tier.WHITE,
    ),
    (
        "/v1/whitebox/gradients",
        "POST",
        {"model": "tiny", "input": {"text": "hi"}, "target": " x"},
        Tier.WHITE,
    ),
    (
        "/v1/whitebox/probes",
        "POST",
        {
            "model": "tiny",
            "hook_point": "layers.1.residual_post",
            "train": [{"text": f"{w}", "label": i % 2} for i, w in enumerate("abcd")],
        },
        Tier.WHITE,
    ),
    ("/v1/fine_tuning/jobs", "GET", None, Tier.WHITE),
]


@pytest.mark.parametrize("tier", list(Tier))
@pytest.mark.parametrize(
    ("path", "method", "body", "needed"),
    ROUTES,
    ids=[f"{m} {p} {n.value}" for p, m, _, n in ROUTES],
)
def test_tier_route_matrix(
    gateway: LiveGateway,
    tier: Tier,
    path: str,
    method: str,
    body: dict[str, object] | None,
    needed: Tier,
) -> None:
    token = {Tier.BLACK: gateway.black, Tier.GREY: gateway.grey, Tier.WHITE: gateway.white}[tier]
    response = httpx.request(
        method,
        gateway.server.url + path,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    if tier.allows(needed):
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "tier_insufficient"


@pytest.mark.parametrize(("path", "method", "body", "needed"), ROUTES)
def test_every_route_needs_a_token(
    gateway: LiveGateway, path: str, method: str, body: dict[str, object] | None, needed: Tier
) -> None:
    for headers in ({}, {"Authorization": "Bearer asy_nope_nope"}, {"Authorization": "Basic abc"}):
        response = httpx.request(
            method, gateway.server.url + path, json=body, headers=headers, timeout=60
        )
        assert (
            response.status_code == 401
            and response.json()["error"]["type"] == "authentication_error"
        )


@pytest.fixture
def quota_gateway(tiny_model: LocalModel) -> Iterator[tuple[str, TokenStore]]:
    tokens = TokenStore.in_memory()
    with BackgroundServer(
        create_app(
            LocalBackend(tiny_model), tokens, settings=AppSettings(max_request_bytes=64 * 1024)
        )
    ) as server:
        yield server.base_url, tokens


def test_quota_holds_under_100_parallel_requests(quota_gateway: tuple[str, TokenStore]) -> None:
    base_url, tokens = quota_gateway
    info, secret = tokens.issue(tier=Tier.GREY, engagement="quota", max_requests=10)

    async def burst() -> list[int]:
        async with httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=120
        ) as c:
            responses = await asyncio.gather(
                *(
                    c.post(
                        "/completions", json={"model": "tiny", "prompt": f"n{i}", "max_tokens": 1}
                    )
                    for i in range(100)
                )
            )
        return [r.status_code for r in responses]

    statuses = asyncio.run(burst())
    assert statuses.count(200) == 10 and statuses.count(429) == 90
    assert tokens.usage(info.id).requests == 10


def test_float_quota_counts_every_logprob(quota_gateway: tuple[str, TokenStore]) -> None:
    base_url, tokens = quota_gateway
    info, secret = tokens.issue(tier=Tier.GREY, engagement="floats", max_floats=30)
    c = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=60)
    ok = c.post(
        "/completions", json={"model": "tiny", "prompt": "hi", "max_tokens": 2, "logprobs": 4}
    )
    assert ok.status_code == 200
    assert ok.headers["x-assay-floats-used"] == "10" and ok.headers["x-assay-floats-limit"] == "30"
    too_many = c.post(
        "/completions", json={"model": "tiny", "prompt": "hi", "max_tokens": 5, "logprobs": 4}
    )
    assert too_many.status_code == 429 and too_many.json()["error"]["code"] == "quota_exceeded"
    assert "floats" in too_many.json()["error"]["message"]
    assert tokens.usage(info.id).floats == 10


def test_rate_limit_answers_429_with_retry_after(quota_gateway: tuple[str, TokenStore]) -> None:
    base_url, tokens = quota_gateway
    _, secret = tokens.issue(tier=Tier.BLACK, engagement="rate", rate_per_minute=3)
    c = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=60)
    statuses = [c.get("/models").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = c.get("/models")
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60


def test_oversized_bodies_get_413_json(quota_gateway: tuple[str, TokenStore]) -> None:
    base_url, tokens = quota_gateway
    _, secret = tokens.issue(tier=Tier.BLACK, engagement="big")
    huge = {"model": "tiny", "prompt": "x" * 200_000, "max_tokens": 1}
    response = httpx.post(
        base_url + "/completions", json=huge, headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"

    def chunks() -> Iterator[bytes]:
        yield json.dumps(huge).encode()

    streamed = httpx.post(
        base_url + "/completions", content=chunks(), headers={"Authorization": f"Bearer {secret}"}
    )
    assert streamed.status_code == 413


def test_every_request_is_logged_with_a_commitment_not_the_body(gateway: LiveGateway) -> None:
    log = RequestLog(gateway.tokens.engine, load_or_create_key("gateway"))
    before = log.size
    salt = "ab" * 16
    body = {"model": "tiny", "prompt": "a secret test item", "max_tokens": 1}
    response = httpx.post(
        gateway.base_url + "/completions",
        json=body,
        headers={"Authorization": f"Bearer {gateway.grey}", "x-assay-salt": salt},
    )
    assert response.status_code == 200
    assert response.headers["x-assay-commitment-salt"] == salt
    index = int(response.headers["x-assay-log-index"])
    entry = next(e for e in log.entries() if e.index == index)
    assert (
        entry.commitment
        == commitment(bytes.fromhex(salt), body)
        == response.headers["x-assay-commitment"]
    )
    assert (
        entry.route == "/v1/completions" and entry.prompt_tokens > 0 and entry.engagement == "tests"
    )
    # refused requests are logged too (a request entry and its outcome each)
    denied = httpx.post(
        gateway.base_url + "/completions",
        json={**body, "logprobs": 1},
        headers={"Authorization": f"Bearer {gateway.black}"},
    )
    assert denied.status_code == 403 and "x-assay-log-index" in denied.headers
    assert log.size == before + 4
    with gateway.tokens.engine.connect() as connection:
        dump = " ".join(str(row) for row in connection.execute(text("select * from tlog_leaves")))
    assert "secret test item" not in dump


def test_log_verify_finds_edits_made_behind_the_triggers(tiny_model: LocalModel) -> None:
    tokens = TokenStore.in_memory()
    log = RequestLog(tokens.engine, load_or_create_key("gateway"))
    for i in range(6):
        index = log.begin(
            token_id="t",
            engagement="e",
            tier="grey",
            method="POST",
            route="/v1/completions",
            model="m",
            commitment="sha256:" + hashlib.sha256(bytes([i])).hexdigest(),
            commitment_over="jcs",
        )
        log.complete(index, engagement="e", status=200, prompt_tokens=i)
    assert log.verify().ok and log.verify().size == 12

    def run(sql: str) -> None:
        with tokens.engine.begin() as connection:
            connection.execute(text(sql))

    with pytest.raises(Exception, match="append-only"):
        run("update tlog_leaves set data = x'00' where idx = 3")
    run("drop trigger tlog_leaves_no_update")
    run("update tlog_leaves set data = x'00' where idx = 3")
    check = log.verify()
    assert not check.ok and "entry 3" in check.problems[0]


def test_metrics_token_is_required_when_configured(tiny_model: LocalModel) -> None:
    tokens = TokenStore.in_memory()
    app = create_app(
        LocalBackend(tiny_model), tokens, settings=AppSettings(metrics_token="m-secret")
    )
    with BackgroundServer(app) as server:
        assert httpx.get(server.url + "/metrics").status_code == 401
        assert (
            httpx.get(
                server.url + "/metrics", headers={"Authorization": "Bearer m-secret"}
            ).status_code
            == 200
        )


def test_no_cors_headers(gateway: LiveGateway) -> None:
    response = httpx.options(
        gateway.base_url + "/models",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers
