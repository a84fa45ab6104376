"""Fine-tuning runs in a worker process, off the inference path, and no acknowledged
job is lost: a worker that dies has its job run again or failed with the reason, a
gateway that stops hands its running job back to the queue, and a job left running
by a gateway that died is taken over.

The worker's test hook makes it wait half-way through a step (after the backward
pass) while a file exists, so the tests know a step is in progress without timing it.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
from assay.gateway._db import JobRow
from assay.gateway.backends import LocalBackend
from assay.gateway.finetuning import FineTuneHyperparameters, WorkerSettings
from assay.gateway.finetuning._data import IGNORE, JobData, Tokenized
from assay.models import load_local_model

DATA = [{"prompt": f"Say the word {i}:", "completion": " banana banana"} for i in range(4)]
CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


@contextmanager
def serve(
    model_dir: Path, db: Path, adapters: Path, settings: WorkerSettings
) -> Iterator[tuple[httpx.Client, LocalBackend, TokenStore]]:
    tokens = TokenStore.at_path(db)
    backend = LocalBackend(load_local_model(model_dir, name="tiny"))
    backend.enable_fine_tuning(tokens.engine, adapters, worker=settings)
    secret = tokens.issue(tier=Tier.WHITE, engagement="ft", label="t")[1]
    with (
        BackgroundServer(create_app(backend, tokens)) as server,
        httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=120
        ) as client,
    ):
        yield client, backend, tokens


def until(condition: Callable[[], Any], what: str, limit: float = 300.0) -> Any:
    """Poll ``condition`` until it is truthy (a guard against hanging, not a timing)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def row(tokens: TokenStore, job_id: str) -> JobRow:
    with Session(tokens.engine) as session:
        found = session.get(JobRow, job_id)
        assert found is not None
        session.expunge(found)
        return found


def create(client: httpx.Client, steps: int = 3, suffix: str | None = None) -> str:
    body: dict[str, Any] = {
        "model": "tiny",
        "training_data": DATA,
        "hyperparameters": {"steps": steps, "learning_rate": 0.02, "batch_size": 2},
    }
    if suffix:
        body["suffix"] = suffix
    response = client.post("/fine_tuning/jobs", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    data: dict[str, Any] = client.get(f"/fine_tuning/jobs/{job_id}").json()
    return data


def ended(client: httpx.Client, job_id: str) -> dict[str, Any]:
    return until(
        lambda: (j := job(client, job_id))["status"] in ("succeeded", "failed") and j, "the job"
    )


@pytest.mark.slow
def test_finding6_a_chat_completes_while_a_fine_tuning_step_is_running(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Steps used to run on the model thread between batches, so a chat waited for the
    step in progress (83 s for one SmolLM2 step in the red-team run): a step that does
    not end would have blocked every chat. Now the step runs in the worker process."""
    hold = tmp_path / "hold"
    hold.touch()
    settings = WorkerSettings(hold=hold)
    with serve(tiny_model_dir, tmp_path / "gw.sqlite", tmp_path / "adapters", settings) as (
        client,
        backend,
        _,
    ):
        job_id = create(client, steps=3, suffix="held")
        until(hold.with_name("hold.held").exists, "the worker to be half-way through step 1")
        chat = client.post("/chat/completions", json=CHAT)
        assert chat.status_code == 200, chat.text
        during = job(client, job_id)
        # the chat was answered while step 1 was in progress: no step recorded yet
        assert during["status"] == "running" and during["steps_done"] == 0
        assert backend.fine_tuning is not None and backend.fine_tuning.worker_pid != os.getpid()
        hold.unlink()
        done = ended(client, job_id)
        assert done["status"] == "succeeded" and done["steps_done"] == 3
        tuned = client.post("/chat/completions", json={**CHAT, "model": "tiny@held"})
        assert tuned.status_code == 200


@pytest.mark.slow
def test_a_dying_worker_runs_the_job_again_then_fails_it_with_the_reason(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    hold = tmp_path / "hold"
    held = hold.with_name("hold.held")
    hold.touch()
    settings = WorkerSettings(hold=hold, max_attempts=2)
    adapters = tmp_path / "adapters"
    with serve(tiny_model_dir, tmp_path / "gw.sqlite", adapters, settings) as (
        client,
        backend,
        tokens,
    ):
        manager = backend.fine_tuning
        assert manager is not None
        job_id = create(client)
        for attempt in (1, 2):
            until(held.exists, f"attempt {attempt} to be half-way through a step")
            assert row(tokens, job_id).attempts == attempt
            assert job(client, job_id)["status"] == "running"
            held.unlink()
            pid = manager.worker_pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            if attempt == 1:  # queued again and picked up by a new worker, from step 1
                until(lambda old=pid: manager.worker_pid not in (None, old), "a new worker")
        failed = ended(client, job_id)
        assert failed["status"] == "failed" and failed["steps_done"] == 0
        assert "worker stopped" in failed["error"] and "started 2 times" in failed["error"]
        assert not (adapters / "_jobs" / f"{job_id}.json").exists()


@pytest.mark.slow
def test_a_job_running_when_the_gateway_stops_runs_when_it_is_back(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    hold = tmp_path / "hold"
    hold.touch()
    db, adapters = tmp_path / "gw.sqlite", tmp_path / "adapters"
    with serve(tiny_model_dir, db, adapters, WorkerSettings(hold=hold)) as (client, _, tokens):
        job_id = create(client, suffix="again")
        until(hold.with_name("hold.held").exists, "a step in progress")
    stopped = row(tokens, job_id)
    assert (stopped.status, stopped.attempts, stopped.claimed_by) == ("queued", 0, None)
    hold.unlink()
    with serve(tiny_model_dir, db, adapters, WorkerSettings()) as (client, _, _):
        done = ended(client, job_id)
        assert done["status"] == "succeeded" and done["steps_done"] == 3
        listed = [m["id"] for m in client.get("/models").json()["data"]]
        assert "tiny@again" in listed


@pytest.mark.slow
def test_a_job_left_running_by_a_dead_gateway_is_taken_over(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    db, adapters = tmp_path / "gw.sqlite", tmp_path / "adapters"
    tokens = TokenStore.at_path(db)
    hyper = FineTuneHyperparameters(steps=2, batch_size=1)
    JobData("ftjob-orphan", hyper, 0, [Tokenized([1, 5, 6, 7], [IGNORE, IGNORE, 6, 7])]).write(
        adapters / "_jobs" / "ftjob-orphan.json"
    )
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    with Session(tokens.engine) as session, session.begin():
        session.add(
            JobRow(
                id="ftjob-orphan",
                engagement="ft",
                token_id="t",
                model="tiny",
                adapter="orphan",
                status="running",
                created_at=long_ago,
                updated_at=long_ago,
                hyperparameters=hyper.model_dump(),
                n_examples=1,
                losses=[{"step": 1, "loss": 1.0}],
                error=None,
                attempts=1,
                claimed_by="a-gateway-that-died",
                heartbeat_at=long_ago,
            )
        )
    tokens.engine.dispose()
    with serve(tiny_model_dir, db, adapters, WorkerSettings()) as (client, _, tokens):
        done = ended(client, "ftjob-orphan")
        assert done["status"] == "succeeded" and done["steps_done"] == 2
        assert row(tokens, "ftjob-orphan").attempts == 2


@pytest.mark.parametrize("module", ["assay.gateway.whitebox", "assay.gateway.finetuning"])
def test_the_wire_models_import_without_torch(module: str) -> None:
    """Clients (the techniques) share the gateway's wire models without loading torch."""
    import subprocess
    import sys

    code = f"import sys, {module}; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
