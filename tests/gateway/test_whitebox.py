"""White-box operations on the tiny model: exact against direct computation."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import torch

from assay.gateway import Tier
from assay.gateway.whitebox._compute import as_array
from assay.gateway.whitebox._interventions import RowIntervention
from tests.conftest import LiveGateway


def post(
    gw: LiveGateway,
    path: str,
    body: dict[str, object],
    token: str | None = None,
    model: bool = True,
) -> httpx.Response:
    payload = {"model": "tiny", **body} if model else body
    return httpx.post(
        gw.base_url + path,
        json=payload,
        headers={"Authorization": f"Bearer {token or gw.white}"},
        timeout=120,
    )


def ids(gw: LiveGateway, text: str) -> list[int]:
    return list(gw.backend.tokenizer(text)["input_ids"])


def test_hook_points_describe_the_model(gateway: LiveGateway) -> None:
    body = httpx.get(
        gateway.base_url + "/whitebox/hook_points",
        params={"model": "tiny"},
        headers={"Authorization": f"Bearer {gateway.white}"},
    ).json()
    assert body["num_layers"] == 2 and body["hidden_size"] == 32
    # embed, layers.0.residual_pre/attn_out/mlp_out and final_norm are parameter lookups
    assert "layers.1.residual_post" in body["hook_points"] and len(body["hook_points"]) == 4 * 2 - 3


def test_activations_equal_hidden_states_and_are_metered(gateway: LiveGateway) -> None:
    before = gateway.tokens.usage(gateway.tokens.verify(gateway.white).id).floats
    response = post(
        gateway,
        "/whitebox/activations",
        {
            "inputs": [{"text": "The quick brown fox"}, {"text": "Hi"}],
            "hook_points": ["layers.0.residual_post", "layers.1.residual_pre"],
            "positions": "all",
            "encoding": "base64",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    model = gateway.backend.local.model
    with torch.no_grad():
        hidden = model(
            torch.tensor([ids(gateway, "The quick brown fox")]), output_hidden_states=True
        ).hidden_states
    block = next(
        b
        for b in body["data"]
        if b["input_index"] == 0 and b["hook_point"] == "layers.0.residual_post"
    )
    values = as_array(block["values"]).reshape(block["shape"])
    np.testing.assert_allclose(values, hidden[1][0].numpy(), atol=1e-4)
    pre = next(
        b
        for b in body["data"]
        if b["input_index"] == 0 and b["hook_point"] == "layers.1.residual_pre"
    )
    np.testing.assert_allclose(
        as_array(pre["values"]).reshape(pre["shape"]), hidden[1][0].numpy(), atol=1e-4
    )
    expected_floats = (len(ids(gateway, "The quick brown fox")) + len(ids(gateway, "Hi"))) * 2 * 32
    assert body["floats"] == expected_floats
    assert int(response.headers["x-assay-floats-used"]) - before == expected_floats


def test_unknown_hook_point_is_a_clear_400(gateway: LiveGateway) -> None:
    response = post(
        gateway,
        "/whitebox/activations",
        {"inputs": [{"text": "x"}], "hook_points": ["layers.9.residual_post"]},
    )
    assert response.status_code == 400 and "layers 0..1" in response.json()["error"]["message"]


def test_ablation_removes_the_direction() -> None:
    direction = torch.randn(8)
    hidden = torch.randn(5, 8)
    ablated = RowIntervention("layers.0.residual_post", "ablate", direction).apply(hidden)
    assert torch.allclose(ablated @ (direction / direction.norm()), torch.zeros(5), atol=1e-5)
    added = RowIntervention("x", "add", direction, scale=2.0).apply(hidden)
    assert torch.allclose(added - hidden, 2 * direction.expand(5, 8))


def test_steering_towards_a_token_makes_the_model_say_it(gateway: LiveGateway) -> None:
    target = ids(gateway, "banana")[0]
    unembed = gateway.backend.local.model.lm_head.weight[target].detach()
    response = post(
        gateway,
        "/whitebox/generate",
        {
            "input": {"text": "The quick brown fox"},
            "interventions": [
                {
                    "hook_point": "final_norm",
                    "op": "add",
                    "vector": (unembed / unembed.norm()).tolist(),
                    "scale": 200.0,
                }
            ],
            "max_tokens": 4,
            "logprobs": 1,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    text = gateway.backend.tokenizer.decode([target])
    assert body["text"] == text * 4
    # every float charged is returned: the token's logprob and its one alternative
    assert body["floats"] == 4 * 2
    assert all(len(t["top_logprobs"]) == 1 for t in body["tokens"])
    assert body["tokens"][0]["top_logprobs"][0]["token"] == text


def test_interventions_do_not_leak_into_other_rows(gateway: LiveGateway) -> None:
    from assay.gateway.backends import GenerationRequest

    engine = gateway.backend.engine
    plain = GenerationRequest(
        prompt_ids=ids(gateway, "Once upon a time"), max_new_tokens=6, temperature=0.0
    )
    steered = GenerationRequest(
        prompt_ids=ids(gateway, "Hello there"),
        max_new_tokens=6,
        temperature=0.0,
        interventions=(RowIntervention("layers.0.mlp_out", "add", torch.ones(32), scale=50.0),),
    )
    alone = engine.run([plain])[0]
    together = engine.run([steered, plain])
    assert together[1].output_ids == alone.output_ids
    unsteered = engine.run(
        [GenerationRequest(prompt_ids=steered.prompt_ids, max_new_tokens=6, temperature=0.0)]
    )[0]
    assert together[0].output_ids != unsteered.output_ids


def test_gradients_match_autograd(gateway: LiveGateway) -> None:
    response = post(
        gateway,
        "/whitebox/gradients",
        {"input": {"text": "The quick"}, "target": " fox", "output": "embedding_grad"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    model = gateway.backend.local.model
    x, y = body["input_tokens"], body["target_tokens"]
    embeds = model.get_input_embeddings()(torch.tensor([x + y])).detach().requires_grad_(True)
    logprobs = torch.log_softmax(model(inputs_embeds=embeds).logits[0], -1)
    total = sum(logprobs[len(x) - 1 + j, t] for j, t in enumerate(y))
    total.backward()
    assert body["target_logprob"] == pytest.approx(float(total.detach()), abs=1e-4)
    grad = as_array(body["values"]).reshape(body["shape"])
    np.testing.assert_allclose(grad, embeds.grad[0, : len(x)].numpy(), atol=1e-4)
    assert body["floats"] == 1 + len(x) * 32


def test_gradient_token_candidates_return_ids_not_floats(gateway: LiveGateway) -> None:
    body = post(
        gateway,
        "/whitebox/gradients",
        {
            "input": {"text": "The quick"},
            "target": " fox",
            "output": "token_candidates",
            "top_k": 5,
        },
    ).json()
    assert body["values"] is None and body["floats"] == 1
    assert len(body["candidates"]) == len(body["input_tokens"]) and all(
        len(c) == 5 for c in body["candidates"]
    )


def test_probe_finds_a_planted_feature_and_stays_in_its_engagement(gateway: LiveGateway) -> None:
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "theta", "kappa"]
    train = [{"text": f"{w} banana {i}", "label": 1} for i, w in enumerate(words)] + [
        {"text": f"{w} report {i}", "label": 0} for i, w in enumerate(words)
    ]
    test = [
        {"text": "zeta banana 9", "label": 1},
        {"text": "zeta report 9", "label": 0},
        {"text": "banana", "label": 1},
        {"text": "report", "label": 0},
    ]
    response = post(
        gateway,
        "/whitebox/probes",
        {"hook_point": "layers.1.residual_post", "position": "mean", "train": train, "test": test},
    )
    assert response.status_code == 200, response.text
    probe = response.json()
    assert probe["train_accuracy"] == 1.0 and probe["test_accuracy"] == 1.0
    assert len(probe["weights"]) == 32 and probe["floats"] == 32 + 1 + 4 + 2
    scored = post(
        gateway,
        f"/whitebox/probes/{probe['id']}/score",
        {"texts": [t["text"] for t in test]},
        model=False,
    )
    assert scored.json()["scores"] == pytest.approx(probe["test_scores"], abs=1e-5)
    _, stranger = gateway.tokens.issue(tier=Tier.WHITE, engagement="someone-else")
    assert (
        post(
            gateway,
            f"/whitebox/probes/{probe['id']}/score",
            {"texts": ["x"]},
            token=stranger,
            model=False,
        ).status_code
        == 404
    )


def test_no_route_returns_parameters(gateway: LiveGateway) -> None:
    """Every number that leaves is an activation, gradient, logprob or probe result;
    no response carries a weight matrix of the model."""
    app = gateway.server._server.config.app  # type: ignore[attr-defined]
    paths = set(app.openapi()["paths"])
    assert "/v1/whitebox/activations" in paths and "/v1/fine_tuning/jobs" in paths
    for path in paths:
        assert not any(
            word in path
            for word in ("weights", "parameters", "state_dict", "adapter_weights", "download")
        )


def test_the_techniques_client_uses_the_servers_wire_models_and_bounds(
    gateway: LiveGateway,
) -> None:
    """The techniques' client used to redefine HookPoints, Intervention, FineTuneJob and
    LossPoint without the server's bounds: an intervention the server refuses (a value
    that overflows once scaled) was built and sent. Now there is one definition."""
    import pydantic

    from assay import techniques
    from assay.gateway import finetuning, whitebox

    assert techniques.Intervention is whitebox.Intervention
    assert techniques.HookPoints is whitebox.HookPoints
    assert techniques.FineTuneJob is finetuning.FineTuneJob
    assert techniques.Generation is whitebox.InterventionGenerateResponse
    with pytest.raises(pydantic.ValidationError, match="scale"):
        techniques.Intervention(
            hook_point="layers.1.residual_post", op="add", vector=[1e38], scale=1000
        )
    with techniques.WhiteboxClient(gateway.base_url, gateway.white) as client:
        points = client.hook_points("tiny")
        generated = client.generate("tiny", "hi", max_tokens=2)
    assert isinstance(points, whitebox.HookPoints) and points.hook_points
    assert isinstance(generated, whitebox.InterventionGenerateResponse)
