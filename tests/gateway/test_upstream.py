"""The upstream backend: a gateway in front of another OpenAI-compatible server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import openai
import pytest

from assay.attest import load_or_create_key
from assay.gateway import BackgroundServer, RequestLog, Tier, TokenStore, create_app
from assay.gateway.backends import UpstreamBackend
from tests.conftest import LiveGateway


@pytest.fixture
def front(gateway: LiveGateway) -> Iterator[tuple[str, TokenStore, str]]:
    """A second gateway whose backend is the first one, reached with the developer's key."""
    _, developer_key = gateway.tokens.issue(tier=Tier.GREY, engagement="developer-upstream")
    backend = UpstreamBackend(gateway.base_url, api_key=developer_key)
    tokens = TokenStore.in_memory()
    with BackgroundServer(create_app(backend, tokens)) as server:
        yield server.base_url, tokens, developer_key


def test_upstream_serves_chat_and_logprobs_with_the_developer_key(
    gateway: LiveGateway, front: tuple[str, TokenStore, str]
) -> None:
    base_url, tokens, developer_key = front
    info, tester = tokens.issue(tier=Tier.GREY, engagement="tester-lab")
    c = openai.OpenAI(base_url=base_url, api_key=tester, max_retries=0)
    assert [m.id for m in c.models.list().data] == ["tiny"]
    args = {
        "model": "tiny",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 4,
        "temperature": 0,
    }
    via_front = c.chat.completions.create(**args, logprobs=True, top_logprobs=2)
    direct = openai.OpenAI(base_url=gateway.base_url, api_key=gateway.grey).chat.completions.create(
        **args
    )
    assert via_front.choices[0].message.content == direct.choices[0].message.content
    assert (
        via_front.choices[0].logprobs is not None
        and len(via_front.choices[0].logprobs.content[0].top_logprobs) == 2
    )
    usage = tokens.usage(info.id)
    assert usage.requests == 1 and usage.floats == via_front.usage.completion_tokens * 3
    # upstream saw the developer's engagement, never the tester's token
    upstream_entries = list(
        RequestLog(gateway.tokens.engine, load_or_create_key("gateway")).entries(
            "developer-upstream"
        )
    )
    assert upstream_entries and all(
        e.token_id == gateway.tokens.verify(developer_key).id for e in upstream_entries
    )
    assert not list(
        RequestLog(gateway.tokens.engine, load_or_create_key("gateway")).entries("tester-lab")
    )


def test_upstream_refuses_white_box(front: tuple[str, TokenStore, str]) -> None:
    base_url, tokens, _ = front
    _, white = tokens.issue(tier=Tier.WHITE, engagement="tester-lab")
    response = httpx.post(
        base_url + "/whitebox/activations",
        json={"model": "tiny", "inputs": [{"text": "x"}], "hook_points": ["embed"]},
        headers={"Authorization": f"Bearer {white}"},
    )
    assert (
        response.status_code == 403
        and response.json()["error"]["code"] == "not_supported_by_backend"
    )


def test_upstream_failures_are_clean_502s() -> None:
    async def go() -> None:
        backend = UpstreamBackend("http://127.0.0.1:9/v1", models=["m"], timeout_s=2)
        tokens = TokenStore.in_memory()
        _, tester = tokens.issue(tier=Tier.BLACK, engagement="e")
        app = create_app(backend, tokens)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
            response = await c.post(
                "/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
                headers={"Authorization": f"Bearer {tester}"},
            )
        assert (
            response.status_code == 502
            and response.json()["error"]["code"] == "upstream_unreachable"
        )
        assert "127.0.0.1" not in response.text or "Traceback" not in response.text

    asyncio.run(go())
