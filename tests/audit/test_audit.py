"""Audits end to end on a tiny model and on reference targets, through real gateways."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay._util.errors import UsageError
from assay.audit import AuditConfig, run_audit
from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
from assay.judges import labelled_replies
from assay.report import validate_report
from assay.suites.hazard_knowledge import load_items
from assay.testing import ScriptedBackend, always_comply, always_refuse, multiple_choice_oracle
from tests.conftest import LiveGateway


def audit(tmp_path: Path, **kwargs: object) -> dict[str, object]:
    config = AuditConfig(out=tmp_path / "out", show_progress=False, **kwargs)  # type: ignore[arg-type]
    outcome = run_audit(config)
    data = json.loads((outcome.out / "report.json").read_text())
    validate_report(data)
    return data


def suite(report: dict[str, object], suite_id: str) -> dict[str, object]:
    return next(s for s in report["suites"] if s["id"] == suite_id)  # type: ignore[attr-defined,union-attr]


@pytest.mark.slow
def test_local_audit_writes_every_output(tiny_model_dir: Path, tmp_path: Path) -> None:
    report = audit(
        tmp_path,
        target=f"hf:{tiny_model_dir}",
        limit=6,
        suites=["hazard_knowledge", "misuse_refusal"],
    )
    out = tmp_path / "out"
    for name in ("report.json", "report.html", "attestation.json", "samples.jsonl"):
        assert (out / name).is_file(), name
    assert list((out / "logs").glob("*.eval"))
    assert report["tier"] == "grey" and report["complete"] is True
    knowledge = suite(report, "hazard_knowledge")
    assert knowledge["method"] == "logprobs" and knowledge["n"] == 6
    metric = knowledge["metrics"][0]  # type: ignore[index]
    assert metric["ci"]["low"] <= (metric["value"] or 0) <= metric["ci"]["high"]
    refusal = suite(report, "misuse_refusal")
    assert refusal["judge"]["n"] == len(labelled_replies("held_out"))  # type: ignore[index]
    html = (out / "report.html").read_text()
    assert "<svg" in html and "Recommendation" in html
    lines = (out / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 12
    # the in-process gateway's signed log covers every request the audit made
    log = report["gateway_log"]
    assert log["totals"]["requests"] >= 12 and log["totals"]["errors"] == 0  # type: ignore[index]
    assert (out / log["file"]).is_file() and len(log["signers"]) == 1  # type: ignore[index]
    from assay.attest import keys_dir, load_public_key, verify_attestation

    verified = verify_attestation(
        out / "attestation.json", [load_public_key(keys_dir() / "tester.pub")]
    )
    assert verified.ok, verified.first_failure


def test_black_tier_scores_multiple_choice_by_generation(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    report = audit(
        tmp_path,
        target=f"hf:{tiny_model_dir}",
        tier=Tier.BLACK,
        tier_explicit=True,
        limit=3,
        suites=["hazard_knowledge"],
    )
    assert report["tier"] == "black"
    assert suite(report, "hazard_knowledge")["method"] == "generate"


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[BackgroundServer] = []

    def start(backend: object, tier: Tier = Tier.GREY) -> tuple[str, str]:
        tokens = TokenStore.in_memory()
        _, secret = tokens.issue(tier=tier, engagement="tests")
        server = BackgroundServer(create_app(backend, tokens)).start()  # type: ignore[arg-type]
        servers.append(server)
        return server.url, secret

    yield start
    for server in servers:
        server.stop()


@pytest.mark.slow
def test_always_complying_target_is_flagged_and_refusing_one_is_not(
    serve,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    url, key = serve(always_comply())
    monkeypatch.setenv("OPENAI_API_KEY", key)
    flawed = audit(tmp_path / "a", target=f"openai:{url}/v1", suites=["misuse_refusal"])
    result = suite(flawed, "misuse_refusal")
    assert result["metrics"][0]["value"] == 0.0  # type: ignore[index]
    assert result["decision"]["outcome"] == "safeguard_inadequate"  # type: ignore[index]

    url, key = serve(always_refuse())
    monkeypatch.setenv("OPENAI_API_KEY", key)
    # The quick plan's 32 items cannot show a 90% refusal rate; the standard plan's can.
    clean = audit(
        tmp_path / "b", target=f"openai:{url}/v1", suites=["misuse_refusal"], plan="standard"
    )
    result = suite(clean, "misuse_refusal")
    assert result["metrics"][0]["value"] == 1.0  # type: ignore[index]
    assert result["decision"]["outcome"] == "safeguard_adequate"  # type: ignore[index]


@pytest.mark.slow
def test_oracle_scores_full_marks_through_logprobs_and_generation(
    serve,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    answers = {i["question"].strip(): "ABCD"[i["answer"]] for i in load_items()}
    url, key = serve(multiple_choice_oracle(answers))
    monkeypatch.setenv("OPENAI_API_KEY", key)
    grey = audit(tmp_path / "g", target=f"openai:{url}/v1", suites=["hazard_knowledge"], limit=40)
    result = suite(grey, "hazard_knowledge")
    assert result["method"] == "logprobs" and result["metrics"][0]["value"] == 1.0  # type: ignore[index]
    assert result["decision"]["outcome"] == "capability_present"  # type: ignore[index]
    black = audit(
        tmp_path / "b",
        target=f"openai:{url}/v1",
        suites=["hazard_knowledge"],
        limit=40,
        tier=Tier.BLACK,
    )
    result = suite(black, "hazard_knowledge")
    assert result["method"] == "generate" and result["metrics"][0]["value"] == 1.0  # type: ignore[index]


def test_openai_target_against_another_assay_gateway(
    gateway: LiveGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", gateway.grey)
    report = audit(
        tmp_path,
        target=f"openai:{gateway.base_url}",
        limit=3,
        suites=["hazard_knowledge", "misuse_refusal"],
    )
    assert report["target"]["model"] == "tiny" and report["target"]["base_url"] == gateway.base_url  # type: ignore[index]
    assert report["tier"] == "grey"
    assert {s["id"]: s["n"] for s in report["suites"]} == {
        "hazard_knowledge": 3,
        "misuse_refusal": 3,
    }  # type: ignore[union-attr]


def test_gateway_target_reads_its_tier_from_the_token(
    gateway: LiveGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_GATEWAY_TOKEN", gateway.black)
    report = audit(
        tmp_path / "a", target=f"gateway:{gateway.server.url}", limit=2, suites=["hazard_knowledge"]
    )
    assert report["tier"] == "black" and report["tier_requested"] == "grey"
    assert any("black-tier" in n for n in report["notes"])  # type: ignore[union-attr]
    with pytest.raises(UsageError, match="cannot audit at grey tier"):
        audit(
            tmp_path / "b",
            target=f"gateway:{gateway.server.url}",
            limit=2,
            tier=Tier.GREY,
            tier_explicit=True,
        )


def test_gateway_target_without_token_is_a_usage_error(
    gateway: LiveGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASSAY_GATEWAY_TOKEN", raising=False)
    with pytest.raises(UsageError, match="ASSAY_GATEWAY_TOKEN"):
        audit(tmp_path, target=f"gateway:{gateway.server.url}")


def test_target_without_logprobs_falls_back_to_black(
    serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    backend = ScriptedBackend("plain", lambda _m: "B", logprobs=False)
    url, key = serve(backend, Tier.GREY)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    report = audit(tmp_path, target=f"openai:{url}/v1", suites=["hazard_knowledge"], limit=4)
    assert report["tier"] == "black" and suite(report, "hazard_knowledge")["method"] == "generate"


def test_a_plan_without_a_statistics_block_reports_its_default_design(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    # valid under the plan schema; its report used to fail to build after every sample
    # was scored (the unset design reached the report as null)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "schema_version: 1\nname: bare\ndescription: no statistics block\n"
        "suites:\n  - {id: hazard_knowledge, limit: 2}\n"
    )
    report = audit(tmp_path, target=f"hf:{tiny_model_dir}", plan=str(plan))
    assert report["plan"]["statistics"]["design"] == "fixed"  # type: ignore[index]
    assert suite(report, "hazard_knowledge")["n"] == 2


def test_different_configuration_in_same_directory_is_refused(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    audit(tmp_path, target=f"hf:{tiny_model_dir}", limit=2, suites=["hazard_knowledge"])
    with pytest.raises(UsageError, match="different configuration"):
        audit(tmp_path, target=f"hf:{tiny_model_dir}", limit=3, suites=["hazard_knowledge"])
    report = audit(
        tmp_path, target=f"hf:{tiny_model_dir}", limit=3, suites=["hazard_knowledge"], fresh=True
    )
    assert suite(report, "hazard_knowledge")["n"] == 3


def _done(store: Path) -> set[tuple[str, str]]:
    if not store.exists():
        return set()
    try:
        with sqlite3.connect(store) as db:
            return {(r[0], r[1]) for r in db.execute("select suite, sample_id from samples")}
    except sqlite3.OperationalError:
        return set()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_killed_audit_resumes_without_redoing_samples(
    tiny_model_dir: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "assay",
        "audit",
        "--target",
        f"hf:{tiny_model_dir}",
        "--suite",
        "misuse_refusal",
        "--out",
        str(out),
        "--max-connections",
        "1",
        "--quiet",
        "--plan",
        "standard",
        "--fixed",  # all 20 items: the standard plan would stop a non-refuser at 10
        "--limit",
        "20",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell running us in the background may have set SIGINT to ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    store = out / "run.sqlite"
    deadline = (
        time.monotonic() + 600
    )  # generous: starting Python, torch and Inspect on shared cores
    while len(_done(store)) < 5:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "audit made no progress"
        time.sleep(0.05)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    first = _done(store)
    assert 5 <= len(first) < 20
    if sig != signal.SIGKILL:
        assert process.returncode == 130
        assert "interrupted" in stderr and "resume" in stderr
    scored_before = {
        r[0]: r[1]
        for r in sqlite3.connect(store).execute("select sample_id, scored_at from samples")
    }

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    report = json.loads((out / "report.json").read_text())
    assert suite(report, "misuse_refusal")["n"] == 20
    scored_after = {
        r[0]: r[1]
        for r in sqlite3.connect(store).execute("select sample_id, scored_at from samples")
    }
    # nothing scored in the first run was scored again
    assert all(scored_after[k] == v for k, v in scored_before.items())
    # and the second run's Inspect log holds only the remaining samples
    from inspect_ai.log import read_eval_log

    logs = sorted((out / "logs").glob("*.eval"), key=lambda p: p.stat().st_mtime)
    last = read_eval_log(str(logs[-1]))
    assert last.samples is not None
    redone = {str(s.id) for s in last.samples} & set(scored_before)
    assert not redone
