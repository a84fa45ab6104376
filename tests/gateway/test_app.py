"""The gateway over real HTTP with the official openai client."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from tests.conftest import LiveGateway


def client(gw: LiveGateway, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key=token, max_retries=0)


def test_models_lists_the_served_model(gateway: LiveGateway) -> None:
    models = client(gateway, gateway.black).models.list()
    assert [m.id for m in models.data] == ["tiny"]


def test_chat_completion_with_logprobs(gateway: LiveGateway) -> None:
    response = client(gateway, gateway.grey).chat.completions.create(
        model="tiny",
        messages=[{"role": "user", "content": "Say hello"}],
        max_tokens=5,
        temperature=0,
        logprobs=True,
        top_logprobs=3,
    )
    choice = response.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content
    assert len(choice.logprobs.content) == response.usage.completion_tokens
    for entry in choice.logprobs.content:
        assert len(entry.top_logprobs) == 3
        assert entry.logprob <= 0
        assert entry.top_logprobs[0].logprob >= entry.logprob - 1e-6  # greedy: best first
    assert "".join(e.token for e in choice.logprobs.content).startswith(
        choice.message.content.strip()[:1]
    )


def test_greedy_chat_is_deterministic(gateway: LiveGateway) -> None:
    c = client(gateway, gateway.black)
    args = {
        "model": "tiny",
        "messages": [{"role": "user", "content": "Tell me a story"}],
        "max_tokens": 12,
        "temperature": 0,
    }
    assert (
        c.chat.completions.create(**args).choices[0].message.content
        == c.chat.completions.create(**args).choices[0].message.content
    )


def test_completion_echo_returns_prompt_logprobs(gateway: LiveGateway) -> None:
    response = client(gateway, gateway.grey).completions.create(
        model="tiny", prompt="Answer: B", max_tokens=1, temperature=0, logprobs=2, echo=True
    )
    choice = response.choices[0]
    prompt_tokens = response.usage.prompt_tokens
    assert choice.text.startswith("Answer: B")
    lp = choice.logprobs
    assert lp is not None
    assert len(lp.tokens) == prompt_tokens + 1
    assert lp.token_logprobs[0] is None and all(x is not None for x in lp.token_logprobs[1:])
    assert lp.text_offset[0] == 0 and lp.text_offset == sorted(lp.text_offset)


def test_completion_accepts_token_id_batches(gateway: LiveGateway) -> None:
    ids = gateway.backend.tokenizer("Answer:")["input_ids"]
    response = client(gateway, gateway.grey).completions.create(
        model="tiny", prompt=[ids, ids[:1]], max_tokens=0, echo=True, logprobs=0
    )
    assert [c.index for c in response.choices] == [0, 1]
    assert len(response.choices[0].logprobs.tokens) == len(ids)


def test_missing_or_bad_token_is_401_with_json_body(gateway: LiveGateway) -> None:
    no_auth = httpx.get(f"{gateway.base_url}/models")
    assert no_auth.status_code == 401
    assert no_auth.json()["error"]["type"] == "authentication_error"
    with pytest.raises(openai.AuthenticationError) as bad:
        client(gateway, "asy_000000000000_nope").models.list()
    assert bad.value.status_code == 401
    forged = gateway.grey[:-4] + "AAAA"
    with pytest.raises(openai.AuthenticationError):
        client(gateway, forged).models.list()


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "logprobs": True}),
        ("/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "top_logprobs": 2}),
        ("/completions", {"prompt": "hi", "logprobs": 1}),
        ("/completions", {"prompt": "hi", "echo": True, "logprobs": 0, "max_tokens": 0}),
        ("/completions", {"prompt": "hi", "prompt_logprobs": 1}),
        ("/tokenize", {"prompt": "hi"}),
    ],
)
def test_black_tier_cannot_get_logprobs(
    gateway: LiveGateway, route: str, body: dict[str, object]
) -> None:
    response = httpx.post(
        gateway.base_url + route,
        json={"model": "tiny", **body},
        headers={"Authorization": f"Bearer {gateway.black}"},
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["type"] == "permission_error" and error["code"] == "tier_insufficient"
    assert "grey" in error["message"]


def test_black_tier_can_generate_and_echo_without_logprobs(gateway: LiveGateway) -> None:
    c = client(gateway, gateway.black)
    assert c.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=2
    ).choices
    echoed = c.completions.create(model="tiny", prompt="hi there", max_tokens=1, echo=True)
    assert echoed.choices[0].text.startswith("hi there") and echoed.choices[0].logprobs is None


def test_validation_errors_are_422_json_without_traceback(gateway: LiveGateway) -> None:
    response = httpx.post(
        gateway.base_url + "/chat/completions",
        json={"model": "tiny", "messages": [], "temperature": 9},
        headers={"Authorization": f"Bearer {gateway.grey}"},
    )
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "temperature" in message and "messages" in message and "Traceback" not in response.text


def test_unknown_model_is_404(gateway: LiveGateway) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client(gateway, gateway.grey).chat.completions.create(
            model="other", messages=[{"role": "user", "content": "x"}]
        )
    assert "tiny" in str(err.value)


def test_context_overflow_is_a_clear_400(gateway: LiveGateway) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client(gateway, gateway.grey).completions.create(
            model="tiny", prompt="word " * 2000, max_tokens=1
        )
    assert "context length" in str(err.value)


def test_streaming_chat(gateway: LiveGateway) -> None:
    stream = client(gateway, gateway.black).chat.completions.create(
        model="tiny",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=4,
        temperature=0,
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    full = client(gateway, gateway.black).chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=4, temperature=0
    )
    assert text == full.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_revoked_token_is_refused_on_the_next_request(gateway: LiveGateway) -> None:
    from assay.gateway import Tier

    info, secret = gateway.tokens.issue(tier=Tier.GREY, engagement="short-lived")
    c = client(gateway, secret)
    assert c.models.list().data
    gateway.tokens.revoke(info.id)
    with pytest.raises(openai.AuthenticationError) as err:
        c.models.list()
    assert "revoked" in str(err.value)


def test_token_scoped_to_another_model_is_forbidden(gateway: LiveGateway) -> None:
    from assay.gateway import Tier

    _, secret = gateway.tokens.issue(
        tier=Tier.GREY, engagement="scoped", models=["some-other-model"]
    )
    with pytest.raises(openai.PermissionDeniedError):
        client(gateway, secret).chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "x"}]
        )


def test_concurrent_requests_share_forward_passes(gateway: LiveGateway) -> None:
    async def burst() -> list[str]:
        c = openai.AsyncOpenAI(base_url=gateway.base_url, api_key=gateway.black, max_retries=0)
        replies = await asyncio.gather(
            *(
                c.chat.completions.create(
                    model="tiny",
                    messages=[{"role": "user", "content": f"n {i}"}],
                    max_tokens=6,
                    temperature=0,
                )
                for i in range(24)
            )
        )
        await c.close()
        return [r.choices[0].message.content or "" for r in replies]

    stats = gateway.backend.batcher.stats
    before, admitted, batches = stats.requests, stats.admitted, len(stats.sizes)
    concurrent = asyncio.run(burst())
    sizes = stats.sizes[batches:]
    # rows start a batch or join a running one (continuous batching)
    assert stats.requests - before == 24
    assert max(sizes) > 1 or stats.admitted > admitted, f"no batching happened: {sizes}"
    # batching must not change answers
    c = client(gateway, gateway.black)
    for i in (0, 7, 23):
        alone = c.chat.completions.create(
            model="tiny",
            messages=[{"role": "user", "content": f"n {i}"}],
            max_tokens=6,
            temperature=0,
        )
        assert alone.choices[0].message.content == concurrent[i]


def test_whoami_reports_the_grant(gateway: LiveGateway) -> None:
    body = httpx.get(
        f"{gateway.base_url}/assay/whoami", headers={"Authorization": f"Bearer {gateway.black}"}
    ).json()
    assert body["tier"] == "black" and body["engagement"] == "tests"
