"""LoRA jobs on the gateway: adapters serve their own engagement only, never leave."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
from assay.gateway.backends import LocalBackend
from assay.models import load_local_model
from tests.conftest import LiveGateway


@pytest.fixture(scope="module")
def gateway(
    tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveGateway]:
    """Its own copy of the tiny model: adapters are injected into the modules they train."""
    tokens = TokenStore.in_memory()
    secrets = {t: tokens.issue(tier=t, engagement="tests")[1] for t in Tier}
    backend = LocalBackend(load_local_model(tiny_model_dir, name="tiny"))
    backend.enable_fine_tuning(tokens.engine, tmp_path_factory.mktemp("ft-adapters"))
    with BackgroundServer(create_app(backend, tokens)) as server:
        yield LiveGateway(
            server, backend, tokens, secrets[Tier.BLACK], secrets[Tier.GREY], secrets[Tier.WHITE]
        )


def client(gw: LiveGateway, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=gw.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    )


def wait(c: httpx.Client, job_id: str) -> dict[str, object]:
    for _ in range(600):
        job = c.get(f"/fine_tuning/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("job did not finish")


def greedy(gw: LiveGateway, token: str, model: str, prompt: str) -> str:
    c = openai.OpenAI(base_url=gw.base_url, api_key=token, max_retries=0)
    return (
        c.completions.create(model=model, prompt=prompt, max_tokens=6, temperature=0)
        .choices[0]
        .text
    )


@pytest.mark.slow
def test_fine_tuned_adapter_serves_its_engagement_only(gateway: LiveGateway) -> None:
    prompt = "Say the word 3:"
    base_before = greedy(gateway, gateway.white, "tiny", prompt)
    data = [
        {"prompt": f"Say the word {i}:", "completion": " banana banana banana"} for i in range(8)
    ]
    c = client(gateway, gateway.white)
    created = c.post(
        "/fine_tuning/jobs",
        json={
            "model": "tiny",
            "training_data": data,
            "hyperparameters": {"steps": 25, "learning_rate": 0.02, "batch_size": 4},
            "suffix": "bananas",
        },
    )
    assert created.status_code == 200, created.text
    job = wait(c, created.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    losses = [p["loss"] for p in job["losses"]]  # type: ignore[union-attr]
    assert len(losses) == 25 and losses[-1] < losses[0]
    assert job["fine_tuned_model"] == "tiny@bananas"

    # the variant answers differently, the base model is unchanged
    tuned = greedy(gateway, gateway.white, "tiny@bananas", prompt)
    assert tuned != base_before and "an" in tuned
    assert greedy(gateway, gateway.white, "tiny", prompt) == base_before
    # any tier of the same engagement may use the variant; it is listed for it
    assert greedy(gateway, gateway.black, "tiny@bananas", prompt) == tuned
    listed = [
        m.id
        for m in openai.OpenAI(base_url=gateway.base_url, api_key=gateway.black).models.list().data
    ]
    assert "tiny@bananas" in listed

    # other engagements neither see nor reach it
    _, stranger = gateway.tokens.issue(tier=Tier.WHITE, engagement="other-lab")
    outsider = openai.OpenAI(base_url=gateway.base_url, api_key=stranger, max_retries=0)
    assert "tiny@bananas" not in [m.id for m in outsider.models.list().data]
    with pytest.raises(openai.NotFoundError):
        outsider.completions.create(model="tiny@bananas", prompt=prompt, max_tokens=2)
    assert client(gateway, stranger).get(f"/fine_tuning/jobs/{job['id']}").status_code == 404


def test_fine_tuning_needs_white_tier_and_valid_data(gateway: LiveGateway) -> None:
    grey = client(gateway, gateway.grey).post(
        "/fine_tuning/jobs",
        json={"model": "tiny", "training_data": [{"prompt": "a", "completion": "b"}]},
    )
    assert grey.status_code == 403
    bad = client(gateway, gateway.white).post(
        "/fine_tuning/jobs", json={"model": "tiny", "training_data": [{"prompt": "only a prompt"}]}
    )
    assert bad.status_code == 422 and "completion" in bad.json()["error"]["message"]


@pytest.mark.slow
def test_adapters_survive_a_restart(gateway: LiveGateway, tiny_model_dir: Path) -> None:
    c = client(gateway, gateway.white)
    data = [{"prompt": f"Name a fruit {i}:", "completion": " kiwi kiwi"} for i in range(4)]
    created = c.post(
        "/fine_tuning/jobs",
        json={
            "model": "tiny",
            "training_data": data,
            "hyperparameters": {"steps": 5, "learning_rate": 0.02},
            "suffix": "kiwi",
        },
    )
    job = wait(c, created.json()["id"])
    assert job["status"] == "succeeded"
    before = greedy(gateway, gateway.white, "tiny@kiwi", "Name a fruit 1:")
    manager = gateway.backend.fine_tuning
    assert manager is not None
    # a second gateway process on the same database and adapter folder
    restarted = LocalBackend(load_local_model(tiny_model_dir, name="tiny"))
    restarted.enable_fine_tuning(gateway.tokens.engine, manager.adapters_dir)
    with BackgroundServer(create_app(restarted, gateway.tokens)) as server:
        again = openai.OpenAI(base_url=server.base_url, api_key=gateway.white, max_retries=0)
        assert "tiny@kiwi" in [m.id for m in again.models.list().data]
        text = (
            again.completions.create(
                model="tiny@kiwi", prompt="Name a fruit 1:", max_tokens=6, temperature=0
            )
            .choices[0]
            .text
        )
    assert text == before
