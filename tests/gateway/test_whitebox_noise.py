"""Noise injection (``/v1/whitebox/noise``) on the tiny model: the noise is the seeded
draw the docs promise, lasts one request, never leaves, and is metered."""

from __future__ import annotations

import copy

import httpx
import pytest
import torch

from assay.gateway.whitebox._noise import WeightNoise, perturbed
from tests.conftest import LiveGateway

PROMPTS = ["The quick brown fox", "Hello there, how are"]


def post(gw: LiveGateway, body: dict[str, object], token: str | None = None) -> httpx.Response:
    return httpx.post(
        gw.base_url + "/whitebox/noise",
        json={"model": "tiny", **body},
        headers={"Authorization": f"Bearer {token or gw.white}"},
        timeout=120,
    )


def noisy(gw: LiveGateway, scale: float, seed: int, logprobs: int | None = 3) -> dict[str, object]:
    response = post(
        gw,
        {
            "inputs": [{"text": p} for p in PROMPTS],
            "noise": {"scale": scale, "seed": seed},
            "max_tokens": 4,
            "logprobs": logprobs,
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _expected(gw: LiveGateway, scale: float, seed: int) -> list[list[float]]:
    """Greedy decoding by hand on a copy perturbed with the documented draw: every
    floating-point parameter in ``named_parameters`` order, ``N(0, 1) * scale`` from one
    CPU generator seeded with ``seed``."""
    model = copy.deepcopy(gw.backend.local.model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(torch.randn(p.shape, generator=generator) * scale)
    out = []
    for prompt in PROMPTS:
        ids = torch.tensor([gw.backend.tokenizer(prompt)["input_ids"]])
        logprobs = []
        with torch.no_grad():
            for _ in range(4):
                row = torch.log_softmax(model(ids).logits[0, -1], dim=-1)
                token = int(row.argmax())
                logprobs.append(float(row[token]))
                ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
        out.append(logprobs)
    return out


def _checksum(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_noise_is_the_seeded_draw_and_the_weights_come_back_exactly(
    gateway: LiveGateway,
) -> None:
    before = _checksum(gateway.backend.local.model)
    body = noisy(gateway, scale=0.05, seed=7)
    got = [[t["logprob"] for t in row["tokens"]] for row in body["data"]]  # type: ignore[index, union-attr]
    expected = _expected(gateway, 0.05, 7)
    for g, e in zip(got, expected, strict=True):
        assert g == pytest.approx(e, abs=1e-4)
    after = _checksum(gateway.backend.local.model)
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_same_seed_same_answer_other_seed_other_answer(gateway: LiveGateway) -> None:
    first, again, other = (noisy(gateway, 0.05, s) for s in (3, 3, 4))
    assert first["data"] == again["data"]
    assert first["data"] != other["data"]
    clean = _expected(gateway, 1e-9, 0)
    noised = [[t["logprob"] for t in row["tokens"]] for row in first["data"]]  # type: ignore[index, union-attr]
    assert (
        max(
            abs(a - b)
            for n, c in zip(noised, clean, strict=True)
            for a, b in zip(n, c, strict=True)
        )
        > 1e-3
    )


def test_noise_is_metered_and_white_tier_only(gateway: LiveGateway) -> None:
    white = gateway.tokens.verify(gateway.white).id
    before = gateway.tokens.usage(white).floats
    body = noisy(gateway, 0.01, 1, logprobs=3)
    tokens = sum(len(row["tokens"]) for row in body["data"])  # type: ignore[union-attr, index]
    assert body["floats"] == tokens * (1 + 3)
    assert gateway.tokens.usage(white).floats - before == body["floats"]
    denied = post(
        gateway,
        {"inputs": [{"text": "hi"}], "noise": {"scale": 0.01, "seed": 1}},
        token=gateway.grey,
    )
    assert denied.status_code == 403
    assert "white" in denied.json()["error"]["message"]


@pytest.mark.parametrize(
    ("noise", "inputs", "field"),
    [
        ({"scale": 0.0, "seed": 1}, 1, "scale"),
        ({"scale": 2.0, "seed": 1}, 1, "scale"),
        ({"scale": 0.1, "seed": -1}, 1, "seed"),
        ({"scale": 0.1, "seed": 1, "layers": "all"}, 1, "layers"),
        ({"scale": 0.1, "seed": 1}, 65, "inputs"),
    ],
)
def test_bad_noise_requests_are_clear_errors(
    gateway: LiveGateway, noise: dict[str, object], inputs: int, field: str
) -> None:
    response = post(gateway, {"inputs": [{"text": "hi"}] * inputs, "noise": noise})
    assert response.status_code in (400, 422)
    assert field in response.text


def test_perturbed_restores_even_when_the_block_fails() -> None:
    layer = torch.nn.Linear(4, 4)
    original = _checksum(layer)
    with pytest.raises(RuntimeError), perturbed(layer, WeightNoise(scale=0.5, seed=1)):
        assert not torch.equal(layer.weight, original[0])
        raise RuntimeError("boom")
    assert all(torch.equal(a, b) for a, b in zip(original, _checksum(layer), strict=True))
