"""Regression tests for the red-team findings against the gateway (issue #12), one or
more per finding, each named after it. Every one failed on the code before the fix."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import torch
from sqlalchemy import text

from assay.attest import load_or_create_key, verify_checkpoint
from assay.gateway import BackgroundServer, RequestLog, Tier, TokenStore, create_app
from assay.gateway._app import AppSettings
from assay.gateway.backends import BatchingConfig, GenerationRequest, LocalBackend
from assay.models import LocalModel
from tests.conftest import LiveGateway

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def fresh(tiny_model: LocalModel, tmp_path: Path) -> Iterator[LiveGateway]:
    """A gateway of its own (a file database, so the log can be tampered with)."""
    tokens = TokenStore.at_path(tmp_path / "gw.sqlite")
    secrets = {t: tokens.issue(tier=t, engagement=f"eng-{t.value}")[1] for t in Tier}
    backend = LocalBackend(tiny_model)
    backend.enable_fine_tuning(tokens.engine, tmp_path / "adapters")
    with BackgroundServer(create_app(backend, tokens)) as server:
        yield LiveGateway(
            server, backend, tokens, secrets[Tier.BLACK], secrets[Tier.GREY], secrets[Tier.WHITE]
        )


# ---- finding 1: one bad row fails the whole batch ------------------------------------


@pytest.mark.parametrize("seed", [2**64, 2**63, -(2**63) - 1])
def test_finding1_out_of_range_seed_is_refused_at_the_edge(gateway: LiveGateway, seed: int) -> None:
    response = httpx.post(
        f"{gateway.base_url}/chat/completions",
        json={**CHAT, "seed": seed, "temperature": 1.0},
        headers=_auth(gateway.black),
        timeout=60,
    )
    assert response.status_code == 422, response.text
    assert "seed" in response.json()["error"]["message"]


def test_finding1_hook_name_with_trailing_newline_is_unknown(gateway: LiveGateway) -> None:
    response = httpx.post(
        f"{gateway.base_url}/whitebox/activations",
        json={"model": "tiny", "inputs": [{"text": "hi"}], "hook_points": ["layers.1.mlp_out\n"]},
        headers=_auth(gateway.white),
        timeout=60,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_hook_point"


def test_finding1_steering_vector_that_overflows_when_scaled_is_refused(
    gateway: LiveGateway,
) -> None:
    width = gateway.backend.engine.layout.hidden_size
    body = {
        "model": "tiny",
        "input": {"text": "hi"},
        "interventions": [
            {
                "hook_point": "layers.1.residual_post",
                "op": "add",
                "vector": [1e38] * width,
                "scale": 1000,
            }
        ],
        "max_tokens": 2,
        "logprobs": 2,
    }
    response = httpx.post(
        f"{gateway.base_url}/whitebox/generate", json=body, headers=_auth(gateway.white), timeout=60
    )
    assert response.status_code == 422
    assert "scale * vector" in response.json()["error"]["message"]


def test_finding1_a_failing_row_leaves_the_other_rows_of_its_batch_identical(
    tiny_model: LocalModel,
) -> None:
    """A bad row injected into a running batch (as another engagement's request) fails
    alone; the other rows' results equal those of the same batch without it."""
    backend = LocalBackend(tiny_model)
    engine = backend.engine
    good = [
        GenerationRequest(prompt_ids=[1, 5, 9, 12], max_new_tokens=6, temperature=0.0),
        GenerationRequest(prompt_ids=[1, 7, 3], max_new_tokens=6, temperature=0.9, seed=4),
    ]
    clean = engine.run([GenerationRequest(**vars(r)) for r in good])

    bad = GenerationRequest(prompt_ids=[1, 2, 3], max_new_tokens=6, seed=2**64)
    joined: list[int] = []

    def admit(_active: int, _can_join: object) -> list[GenerationRequest]:
        if joined:
            return []
        joined.append(1)
        return [bad]

    failures: dict[int, BaseException] = {}
    done: dict[int, list[int]] = {}
    results = engine.run(
        [GenerationRequest(**vars(r)) for r in good],
        lambda i, r: done.__setitem__(i, list(r.output_ids)),
        admit,
        failures.__setitem__,
    )
    assert set(failures) == {2} and "seed" in str(failures[2])
    assert [results[i].output_ids for i in (0, 1)] == [c.output_ids for c in clean]
    assert [results[i].text for i in (0, 1)] == [c.text for c in clean]


def test_finding1_a_bad_request_in_a_shared_batch_fails_only_itself(gateway: LiveGateway) -> None:
    """Concurrent requests of two engagements share batches; the one whose intervention
    drives its own activations non-finite fails with 400, the others answer 200."""
    width = gateway.backend.engine.layout.hidden_size
    other = gateway.tokens.issue(tier=Tier.WHITE, engagement="someone-else")[1]
    poison = {
        "model": "tiny",
        "input": {"text": "hi"},
        "interventions": [
            # passes the edge (each value 10 * 1000 = 1e4) but is multiplied up inside
            {
                "hook_point": "layers.0.residual_post",
                "op": "add",
                "vector": [10.0] * width,
                "scale": 1000,
            }
        ],
        "max_tokens": 8,
    }

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=120) as client:
            calls = [
                client.post(
                    "/chat/completions", json={**CHAT, "max_tokens": 8}, headers=_auth(other)
                )
                for _ in range(6)
            ]
            calls.insert(
                3, client.post("/whitebox/generate", json=poison, headers=_auth(gateway.white))
            )
            return list(await asyncio.gather(*calls))

    responses = asyncio.run(burst())
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) >= 6, statuses
    assert all(s < 500 for s in statuses), statuses


# ---- finding 2: parameters leave through activations ---------------------------------


def test_finding2_no_offered_hook_point_returns_a_parameter_row(gateway: LiveGateway) -> None:
    points = httpx.get(
        f"{gateway.base_url}/whitebox/hook_points",
        params={"model": "tiny"},
        headers=_auth(gateway.white),
        timeout=60,
    ).json()["hook_points"]
    assert "embed" not in points and "final_norm" not in points
    response = httpx.post(
        f"{gateway.base_url}/whitebox/activations",
        json={
            "model": "tiny",
            "inputs": [{"text": "the quick brown fox"}, {"text": "a"}],
            "hook_points": points,
            "positions": "all",
        },
        headers=_auth(gateway.white),
        timeout=120,
    )
    assert response.status_code == 200, response.text
    width = gateway.backend.engine.layout.hidden_size
    vectors = torch.tensor(
        [v for block in response.json()["data"] for v in block["values"]]
    ).reshape(-1, width)
    for name, param in gateway.backend.engine.model.named_parameters():
        rows = param.detach().float().reshape(-1, param.shape[-1])
        if rows.shape[-1] != width:
            rows = param.detach().float().T.reshape(-1, width) if param.shape[0] == width else None
        if rows is None:
            continue
        close = torch.cdist(vectors, rows).min()
        assert close > 1e-4, f"an activation equals a row of {name}"


def test_finding2_embedding_lookups_are_refused_unless_opted_in(
    gateway: LiveGateway, tiny_model: LocalModel
) -> None:
    for point in ("embed", "layers.0.residual_pre", "final_norm"):
        response = httpx.post(
            f"{gateway.base_url}/whitebox/activations",
            json={"model": "tiny", "inputs": [{"text": "hi"}], "hook_points": [point]},
            headers=_auth(gateway.white),
            timeout=60,
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "hook_point_not_offered"
    opted = LocalBackend(tiny_model, BatchingConfig(parameter_lookups=True))
    assert "embed" in opted.hook_points().hook_points


def test_finding2_default_float_cap_is_far_below_the_embedding_matrix(
    gateway: LiveGateway,
) -> None:
    assert BatchingConfig().max_floats_per_request <= 131_072
    assert BatchingConfig().max_floats_per_request < 28_311_552 / 100  # SmolLM2's embedding


# ---- finding 3: work that is not on the log ------------------------------------------


def test_finding3_lone_surrogate_is_refused_and_logged_before_any_work(fresh: LiveGateway) -> None:
    jobs_before = httpx.get(
        f"{fresh.base_url}/fine_tuning/jobs", headers=_auth(fresh.white), timeout=30
    ).json()["data"]
    body = (
        '{"model":"tiny","training_data":[{"prompt":"\\ud800","completion":"x"}],'
        '"hyperparameters":{"steps":1,"batch_size":1,"max_length":16}}'
    )
    response = httpx.post(
        f"{fresh.base_url}/fine_tuning/jobs",
        content=body.encode(),
        headers={**_auth(fresh.white), "content-type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_unicode"
    index = int(response.headers["x-assay-log-index"])
    log = RequestLog(fresh.tokens.engine, load_or_create_key("gateway"))
    entry = next(e for e in log.entries() if e.index == index)
    assert entry.route == "/v1/fine_tuning/jobs" and entry.status == 400
    assert entry.commitment_over == "raw"
    jobs_after = httpx.get(
        f"{fresh.base_url}/fine_tuning/jobs", headers=_auth(fresh.white), timeout=30
    ).json()["data"]
    assert len(jobs_after) == len(jobs_before)


def test_finding3_every_request_with_a_valid_token_is_logged(fresh: LiveGateway) -> None:
    log = RequestLog(fresh.tokens.engine, load_or_create_key("gateway"))
    calls = [
        ("GET", "/models", None, fresh.black, 200),
        ("GET", "/assay/whoami", None, fresh.black, 200),
        ("GET", "/whitebox/hook_points?model=tiny", None, fresh.black, 403),
        ("GET", "/fine_tuning/jobs", None, fresh.white, 200),
        ("GET", "/fine_tuning/jobs/nope", None, fresh.white, 404),
        ("POST", "/chat/completions", {"model": "tiny"}, fresh.black, 422),
    ]
    for method, path, body, secret, status in calls:
        response = httpx.request(
            method, fresh.base_url + path, json=body, headers=_auth(secret), timeout=60
        )
        assert response.status_code == status, (path, response.text)
        index = int(response.headers["x-assay-log-index"])
        entry = next(e for e in log.entries() if e.index == index)
        assert entry.status == status and entry.method == method
    bad_salt = httpx.post(
        f"{fresh.base_url}/chat/completions",
        json=CHAT,
        headers={**_auth(fresh.black), "x-assay-salt": "zz"},
        timeout=60,
    )
    assert bad_salt.status_code == 400 and "x-assay-log-index" in bad_salt.headers


def test_finding3_unhashed_fields_are_length_capped(fresh: LiveGateway) -> None:
    response = httpx.post(
        f"{fresh.base_url}/chat/completions",
        json={**CHAT, "model": "m" * 100_000},
        headers=_auth(fresh.black),
        timeout=60,
    )
    assert response.status_code == 404
    log = RequestLog(fresh.tokens.engine, load_or_create_key("gateway"))
    entry = next(e for e in log.entries() if e.index == int(response.headers["x-assay-log-index"]))
    assert len(entry.model) <= 200


# ---- finding 4: a log the developer can rewrite --------------------------------------


def _receipt(response: httpx.Response) -> dict[str, object]:
    note = base64.b64decode(response.headers["x-assay-log-checkpoint"]).decode()
    return {
        "type": "https://assay.dev/gateway/receipt/v1",
        "checkpoint": note,
        "entries": [
            {
                "index": int(response.headers["x-assay-log-index"]),
                "leaf_hash": response.headers["x-assay-log-leaf-hash"],
            }
        ],
    }


def test_finding4_every_answer_carries_a_signed_checkpoint(fresh: LiveGateway) -> None:
    response = httpx.post(
        f"{fresh.base_url}/chat/completions", json=CHAT, headers=_auth(fresh.black), timeout=60
    )
    key = load_or_create_key("gateway")
    note = base64.b64decode(response.headers["x-assay-log-checkpoint"]).decode()
    checkpoint, signers = verify_checkpoint(note, [key.public_key])
    assert checkpoint.tree_size > int(response.headers["x-assay-log-outcome-index"])
    assert signers == (key.key_id,)


@pytest.mark.parametrize("tamper", ["truncate", "rewrite", "forge"])
def test_finding4_receipts_detect_truncation_and_rewrites(fresh: LiveGateway, tamper: str) -> None:
    receipts = []
    for i in range(3):
        response = httpx.post(
            f"{fresh.base_url}/chat/completions",
            json={**CHAT, "messages": [{"role": "user", "content": f"q{i}"}]},
            headers=_auth(fresh.black),
            timeout=60,
        )
        receipts.append(_receipt(response))
    key = load_or_create_key("gateway")
    log = RequestLog(fresh.tokens.engine, key)
    assert log.verify(receipts, [key.public_key]).ok
    engine = fresh.tokens.engine
    with engine.begin() as conn:
        for trigger in (
            "tlog_leaves_no_update",
            "tlog_leaves_no_delete",
            "tlog_nodes_no_update",
            "tlog_nodes_no_delete",
        ):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
    size = log.size
    if tamper == "truncate":
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM tlog_leaves WHERE idx >= :n"), {"n": size - 2})
            conn.execute(text("DELETE FROM tlog_nodes"))
        _rebuild_nodes(log)
    else:
        from assay._util.hashing import canonical_json

        victim = 1 if tamper == "rewrite" else size - 1
        data = json.loads(log.tlog.entry(victim))
        data["engagement" if "engagement" in data else "status"] = "edited"
        from assay.attest import leaf_hash

        new = canonical_json(data)
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE tlog_leaves SET data=:d, leaf_hash=:h WHERE idx=:i"),
                {"d": new, "h": leaf_hash(new), "i": victim},
            )
            conn.execute(text("DELETE FROM tlog_nodes"))
        _rebuild_nodes(log)
    check = log.verify(receipts, [key.public_key])
    assert not check.ok
    assert any(word in " ".join(check.problems) for word in ("truncated", "rewritten", "changed"))


def _rebuild_nodes(log: RequestLog) -> None:
    """What a careful forger does: recompute every stored interior node."""
    from assay.attest import MerkleTree

    hashes = [log.tlog.node(0, i) for i in range(log.size)]
    tree = MerkleTree(hashes)
    with log.tlog.engine.begin() as conn:
        level, width = 1, 2
        while width <= len(hashes):
            for i in range(len(hashes) // width):
                conn.execute(
                    text(
                        "INSERT INTO tlog_nodes (log, level, idx, hash) VALUES ('gateway', :l, :i, :h)"
                    ),
                    {"l": level, "i": i, "h": tree.node(level, i)},
                )
            level, width = level + 1, width * 2
    assert log.tlog.verify_integrity() == log.size  # self-consistent: only receipts catch it


# ---- finding 5: unhandled 500s --------------------------------------------------------


@pytest.mark.parametrize(
    "path,body",
    [
        ("/tokenize", {"model": "tiny", "messages": []}),
        (
            "/whitebox/activations",
            {"model": "tiny", "inputs": [{"messages": []}], "hook_points": ["layers.1.mlp_out"]},
        ),
        (
            "/chat/completions",
            {"model": "tiny", "messages": [{"role": "user", "content": "\ud800"}]},
        ),
    ],
)
def test_finding5_empty_messages_and_surrogates_are_client_errors(
    gateway: LiveGateway, path: str, body: dict[str, object]
) -> None:
    raw = json.dumps(body).encode()  # ensure_ascii keeps the lone surrogate as \\ud800
    response = httpx.post(
        gateway.base_url.removesuffix("/v1") + path
        if path == "/tokenize"
        else gateway.base_url + path,
        content=raw,
        headers={**_auth(gateway.white), "content-type": "application/json"},
        timeout=60,
    )
    assert 400 <= response.status_code < 500, response.text


# ---- finding 6: no fairness between tenants ------------------------------------------


def test_finding6_prompts_times_n_is_limited_per_request(gateway: LiveGateway) -> None:
    response = httpx.post(
        f"{gateway.base_url}/completions",
        json={"model": "tiny", "prompt": ["a"] * 17, "n": 4, "max_tokens": 1},
        headers=_auth(gateway.black),
        timeout=60,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_rows"


def test_finding6_fine_tuning_cost_is_limited(gateway: LiveGateway) -> None:
    response = httpx.post(
        f"{gateway.base_url}/fine_tuning/jobs",
        json={
            "model": "tiny",
            "training_data": [{"prompt": "a", "completion": "b"}],
            "hyperparameters": {"steps": 10000, "batch_size": 64, "max_length": 4096},
        },
        headers=_auth(gateway.white),
        timeout=60,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "fine_tune_too_large"


def test_finding6_batches_take_turns_between_engagements(tiny_model: LocalModel) -> None:
    """With 40 rows of a noisy engagement queued first, the victim's one row is in the
    first batch, not behind all of them."""
    from assay.gateway.backends import MicroBatcher

    seen: list[list[int]] = []

    def run_batch(requests, on_done, admit, on_fail):  # type: ignore[no-untyped-def]
        seen.append([r.max_new_tokens for r in requests])
        for i in range(len(requests)):
            on_done(i, type("R", (), {"output_ids": []})())
        return []

    async def go() -> None:
        batcher = MicroBatcher(run_batch, max_batch_size=8, max_wait_s=0.05, continuous=False)
        noisy = [
            batcher.submit(GenerationRequest([1], max_new_tokens=1), "noisy") for _ in range(40)
        ]
        victim = batcher.submit(GenerationRequest([1], max_new_tokens=2), "victim")
        await asyncio.gather(*noisy, victim)
        await batcher.aclose()

    asyncio.run(go())
    assert 2 in seen[0], seen[:2]


def _stepped_batch(steps: list[list[int]], go: object) -> object:
    """A stand-in engine: each row decodes ``max_new_tokens`` steps, one per step for
    every active row; queued rows may join before each step. ``steps`` records the
    prompt (here: the engagement's tag) of every row in every step."""
    import threading

    assert isinstance(go, threading.Event)

    def run_batch(requests, on_done, admit, on_fail):  # type: ignore[no-untyped-def]
        rows = list(requests)
        left = [r.max_new_tokens for r in rows]
        active = list(range(len(rows)))
        go.wait(60)
        while active:
            for r in admit(len(active), lambda _r: True) if admit else []:
                rows.append(r)
                left.append(r.max_new_tokens)
                active.append(len(rows) - 1)
            steps.append([rows[i].prompt_ids[0] for i in active])
            for i in list(active):
                left[i] -= 1
                if left[i] == 0:
                    active.remove(i)
                    on_done(i, type("R", (), {"output_ids": []})())
        return []

    return run_batch


NOISY, VICTIM = 1, 2


@pytest.mark.parametrize("linger_s", [0.0, 60.0])
def test_finding6_a_victim_joins_a_full_batch_and_noisy_rows_stay_within_their_share(
    linger_s: float,
) -> None:
    """Turns alone left a victim waiting until the noisy engagement's rows in a full
    running batch ended, and let the noisy engagement refill every freed slot, so the
    victim decoded next to a full batch of noisy rows (10.4x its solo latency on the
    tiny model). Now the victim joins at the next step, and while it is there (and for
    ``linger_s`` after) the noisy engagement holds at most its share (8 // 2 = 4)."""
    import threading

    from assay.gateway.backends import MicroBatcher

    steps: list[list[int]] = []
    go = threading.Event()

    async def scenario() -> None:
        batcher = MicroBatcher(
            _stepped_batch(steps, go),  # type: ignore[arg-type]
            max_batch_size=8,
            max_wait_s=0.01,
            linger_s=linger_s,
        )
        noisy = [
            batcher.submit(GenerationRequest([NOISY], max_new_tokens=3), "noisy") for _ in range(40)
        ]
        tasks = [asyncio.ensure_future(n) for n in noisy]
        while batcher.stats.batches == 0:  # the first batch (8 noisy rows) has started
            await asyncio.sleep(0.005)
        victim = asyncio.ensure_future(
            batcher.submit(GenerationRequest([VICTIM], max_new_tokens=12), "victim")
        )
        await asyncio.sleep(0.05)
        go.set()
        await asyncio.gather(*tasks, victim)
        await batcher.aclose()

    asyncio.run(scenario())
    assert steps[0] == [NOISY] * 8 + [VICTIM]  # joined the full batch at once
    with_victim = [s for s in steps if VICTIM in s]
    assert len(with_victim) == 12
    assert all(s.count(NOISY) <= 4 for s in with_victim[3:])  # the first 8 ended by then
    assert any(s.count(NOISY) == 4 for s in with_victim[3:])  # and its share is used
    last = max(i for i, s in enumerate(steps) if VICTIM in s)
    after = [s.count(NOISY) for s in steps[last + 1 :]]
    assert max(after) == (8 if linger_s == 0 else 4)  # alone again: the whole batch


# ---- finding 7: smaller leaks --------------------------------------------------------


def test_finding7_black_token_cannot_detokenize_through_echo(gateway: LiveGateway) -> None:
    response = httpx.post(
        f"{gateway.base_url}/completions",
        json={"model": "tiny", "prompt": [5, 6, 7], "echo": True, "max_tokens": 0},
        headers=_auth(gateway.black),
        timeout=60,
    )
    assert response.status_code == 403
    assert response.json()["error"]["param"] == "echo"


def test_finding7_unlimited_tokens_keep_no_negative_reservations(fresh: LiveGateway) -> None:
    token_id = fresh.black.split("_")[1]
    for _ in range(3):
        httpx.post(
            f"{fresh.base_url}/chat/completions", json=CHAT, headers=_auth(fresh.black), timeout=60
        )
    with fresh.tokens.engine.connect() as conn:
        reserved = conn.execute(
            text("SELECT reserved_requests, reserved_tokens FROM gateway_tokens WHERE id=:i"),
            {"i": token_id},
        ).one()
    assert tuple(reserved) == (0, 0)
    fresh.tokens.update(token_id, limits={"max_requests": 4})
    statuses = [
        httpx.post(
            f"{fresh.base_url}/chat/completions", json=CHAT, headers=_auth(fresh.black), timeout=60
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 429, 429]


def test_finding7_fine_tuning_jobs_are_scoped_to_the_token_models(fresh: LiveGateway) -> None:
    from datetime import UTC, datetime

    from sqlalchemy.orm import Session

    from assay.gateway._db import JobRow

    now = datetime.now(UTC)
    with Session(fresh.tokens.engine) as session, session.begin():
        session.add(
            JobRow(
                id="ftjob-x",
                engagement="eng-white",
                token_id="t",
                model="tiny",
                adapter="a",
                status="succeeded",
                created_at=now,
                updated_at=now,
                hyperparameters={},
                n_examples=1,
                losses=[],
                error=None,
            )
        )
    other = fresh.tokens.issue(tier=Tier.WHITE, engagement="eng-white", models=["other-model"])[1]
    listed = httpx.get(f"{fresh.base_url}/fine_tuning/jobs", headers=_auth(other), timeout=30)
    assert listed.status_code == 200 and listed.json()["data"] == []
    read = httpx.get(f"{fresh.base_url}/fine_tuning/jobs/ftjob-x", headers=_auth(other), timeout=30)
    assert read.status_code == 404


def test_finding7_metrics_need_the_metrics_token_by_default(tiny_model: LocalModel) -> None:
    tokens = TokenStore.in_memory()
    tokens.issue(tier=Tier.BLACK, engagement="secret-engagement-name")
    app = create_app(LocalBackend(tiny_model), tokens)
    with BackgroundServer(app) as server:
        assert httpx.get(f"{server.url}/metrics", timeout=30).status_code == 403
    app = create_app(LocalBackend(tiny_model), tokens, settings=AppSettings(metrics_token="m" * 24))
    with BackgroundServer(app) as server:
        assert httpx.get(f"{server.url}/metrics", timeout=30).status_code == 401
        ok = httpx.get(f"{server.url}/metrics", headers=_auth("m" * 24), timeout=30)
        assert ok.status_code == 200


def test_finding7_forwarded_for_is_not_trusted_by_default(tiny_model: LocalModel) -> None:
    tokens = TokenStore.in_memory()
    app = create_app(LocalBackend(tiny_model), tokens, settings=AppSettings(metrics_loopback=True))
    with BackgroundServer(app) as server:
        # a loopback client claiming to be elsewhere is still seen as loopback, and
        # one claiming loopback from elsewhere would not be believed either
        response = httpx.get(
            f"{server.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=30
        )
        assert response.status_code == 200
