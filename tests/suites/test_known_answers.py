"""Known-answer tests: every suite flags a reference target with the flaw and does not
flag a clean one. Reference targets are scripted models behind the real gateway."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assay.audit import AuditConfig, run_audit
from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
from assay.suites._data import read_jsonl, shipped
from assay.suites.agentic_oversight import load_tasks as agentic_tasks
from assay.suites.discrimination_bbq import load_items as bbq_items
from assay.suites.election_procedures import load_items as election_items
from assay.testing import (
    ScriptedBackend,
    always_comply,
    always_refuse,
    biased_decider,
    coder,
    declines_then_complies,
    multiple_choice_answerer,
    multiple_choice_oracle,
    partisan,
    scripted_agent,
)

Serve = Callable[[ScriptedBackend], str]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    servers: list[BackgroundServer] = []

    def start(backend: ScriptedBackend) -> str:
        tokens = TokenStore.in_memory()
        _, key = tokens.issue(tier=Tier.GREY, engagement="known-answers")
        monkeypatch.setenv("OPENAI_API_KEY", key)
        server = BackgroundServer(create_app(backend, tokens)).start()
        servers.append(server)
        return server.base_url

    yield start
    for server in servers:
        server.stop()


def run_suite(url: str, suite: str, out: Path, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("plan", "standard")  # the quick plan's samples are too small to decide
    kwargs.setdefault("sequential", False)  # fixed sizes: the expected n is known
    run_audit(
        AuditConfig(target=f"openai:{url}", suites=[suite], out=out, show_progress=False, **kwargs)
    )
    report = json.loads((out / "report.json").read_text())
    result: dict[str, Any] = report["suites"][0]
    return result


def outcome(result: dict[str, Any]) -> str:
    return str(result["decision"]["outcome"])


def value(result: dict[str, Any]) -> float:
    return float(result["metrics"][0]["value"])


@pytest.mark.slow
def test_jailbreak_robustness(serve: Serve, tmp_path: Path) -> None:
    # six items per transformation: the worst case must exceed at its Bonferroni level
    flawed = run_suite(serve(always_comply()), "jailbreak_robustness", tmp_path / "a", limit=78)
    assert value(flawed) == 1.0 and outcome(flawed) == "exceeds_threshold"
    clean = run_suite(serve(always_refuse()), "jailbreak_robustness", tmp_path / "b", full=True)
    assert value(clean) == 0.0 and outcome(clean) == "within_threshold"
    assert {g["value"] for g in clean["breakdown"]} >= {
        "none",
        "base64",
        "translation",
        "many_shot",
    }


@pytest.mark.slow
def test_a_model_that_declines_in_words_but_complies_is_a_complier(
    serve: Serve, tmp_path: Path
) -> None:
    """Issue 11.3, done when: a model that declines in words but complies in substance
    gets the refusal rate of a model that complies (and the same finding)."""
    gaming = run_suite(serve(declines_then_complies()), "misuse_refusal", tmp_path / "a", limit=40)
    complier = run_suite(serve(always_comply()), "misuse_refusal", tmp_path / "b", limit=40)
    observed = {
        r["id"]: next(m for m in r["metrics"] if m["name"] == "refusal_rate_judge_observed")
        for r in (gaming, complier)
    }
    assert observed["misuse_refusal"]["value"] == 0.0
    assert value(gaming) == value(complier)
    assert outcome(gaming) == outcome(complier) == "safeguard_inadequate"


@pytest.mark.slow
def test_over_refusal(serve: Serve, tmp_path: Path) -> None:
    flawed = run_suite(serve(always_refuse()), "over_refusal", tmp_path / "a", limit=40)
    assert value(flawed) == 1.0 and outcome(flawed) == "exceeds_threshold"
    clean = run_suite(serve(always_comply()), "over_refusal", tmp_path / "b", limit=40)
    assert value(clean) == 0.0 and outcome(clean) == "within_threshold"


@pytest.mark.slow
def test_discrimination_recovers_a_planted_bias(serve: Serve, tmp_path: Path) -> None:
    planted = {"woman": 1.0, "Black": -0.6}
    result = run_suite(
        serve(biased_decider(planted, noise=0.5)), "discrimination", tmp_path / "a", limit=1440
    )
    assert result["method"] == "logprobs"
    effects = {
        g["value"]: g["metrics"][0] for g in result["breakdown"] if g["key"] == "explicit effect"
    }
    for term, size in (("gender: female", 1.0), ("race: Black", -0.6)):
        ci = effects[term]["ci"]
        assert ci["low"] <= size <= ci["high"], (term, effects[term])
    for term in ("race: Asian", "race: Hispanic", "gender: non-binary"):
        ci = effects[term]["ci"]
        assert ci["low"] <= 0.0 <= ci["high"] or abs(effects[term]["value"]) < 0.25, (
            term,
            effects[term],
        )
    assert outcome(result) == "exceeds_threshold"
    fair = run_suite(
        serve(biased_decider({}, noise=0.5)), "discrimination", tmp_path / "b", limit=1440
    )
    assert outcome(fair) == "within_threshold", fair["metrics"][0]


@pytest.mark.slow
def test_discrimination_black_tier_uses_sampled_answers(serve: Serve, tmp_path: Path) -> None:
    result = run_suite(
        serve(biased_decider({"woman": 8.0}, base=-4.0)),
        "discrimination",
        tmp_path / "a",
        limit=240,
        tier=Tier.BLACK,
    )
    assert result["method"] == "sampled" and result["metrics"][0]["unit"] == "proportion"
    female = next(g for g in result["breakdown"] if g["value"] == "gender: female")["metrics"][0]
    assert female["value"] > 0.8


@pytest.mark.slow
def test_bbq_flags_a_stereotyping_model(serve: Serve, tmp_path: Path) -> None:
    items = bbq_items()
    by_text = {(i["context"], i["question"]): i for i in items}

    def pick(kind: str) -> Callable[[str], str | None]:
        def choose(prompt: str) -> str | None:
            item = next((i for (c, q), i in by_text.items() if c in prompt and q in prompt), None)
            if item is None:
                return None
            index = item["stereotyped"] if kind == "stereotype" else item["unknown"]
            return "ABC"[index]

        return choose

    flawed = run_suite(
        serve(multiple_choice_answerer(pick("stereotype"))), "discrimination_bbq", tmp_path / "a"
    )
    assert value(flawed) == 1.0 and outcome(flawed) == "exceeds_threshold"
    clean = run_suite(
        serve(multiple_choice_answerer(pick("unknown"))), "discrimination_bbq", tmp_path / "b"
    )
    assert value(clean) == 0.0 and outcome(clean) == "within_threshold"
    accuracy = next(m for m in clean["metrics"] if m["name"] == "accuracy")
    assert accuracy["value"] == 1.0


@pytest.mark.slow
def test_election_procedures(serve: Serve, tmp_path: Path) -> None:
    items = election_items()
    right = {i["question"]: "ABCD"[i["answer"]] for i in items}
    wrong = {i["question"]: "ABCD"[(i["answer"] + 1) % 4] for i in items}
    clean = run_suite(serve(multiple_choice_oracle(right)), "election_procedures", tmp_path / "a")
    assert value(clean) == 0.0 and outcome(clean) == "within_threshold"
    flawed = run_suite(serve(multiple_choice_oracle(wrong)), "election_procedures", tmp_path / "b")
    assert value(flawed) == 1.0 and outcome(flawed) == "exceeds_threshold"


@pytest.mark.slow
def test_election_refusal(serve: Serve, tmp_path: Path) -> None:
    assert (
        outcome(run_suite(serve(always_comply()), "election_refusal", tmp_path / "a"))
        == "safeguard_inadequate"
    )
    assert (
        outcome(run_suite(serve(always_refuse()), "election_refusal", tmp_path / "b", full=True))
        == "safeguard_adequate"
    )


@pytest.mark.slow
def test_election_evenhandedness(serve: Serve, tmp_path: Path) -> None:
    pairs = read_jsonl(shipped("election_mirrored.jsonl"))
    right = [
        side["prompt"]
        for pair in pairs
        for side in (pair["a"], pair["b"])
        if side["side"] == "right"
    ]
    flawed = run_suite(serve(partisan(right)), "election_evenhandedness", tmp_path / "a", full=True)
    signed = next(
        m for m in flawed["metrics"] if m["name"] == "refusal_difference_left_minus_right"
    )
    assert signed["value"] < 0 and signed["ci"]["high"] < 0
    assert value(flawed) == 1.0 and outcome(flawed) == "exceeds_threshold"
    length = next(m for m in flawed["metrics"] if m["name"] == "length_log_ratio_left_over_right")
    assert length["ci"]["low"] > 0
    even = run_suite(serve(always_comply()), "election_evenhandedness", tmp_path / "b", full=True)
    assert value(even) == 0.0 and outcome(even) == "within_threshold"


@pytest.mark.slow
def test_insecure_code(serve: Serve, tmp_path: Path) -> None:
    flawed = run_suite(serve(coder(secure=False)), "insecure_code", tmp_path / "a", limit=12)
    assert value(flawed) == 1.0 and outcome(flawed) == "exceeds_threshold"
    assert flawed["judge"]["positive"] == "vulnerable" and flawed["judge"]["n"] == 100
    clean = run_suite(serve(coder(secure=True)), "insecure_code", tmp_path / "b", limit=20)
    assert value(clean) == 0.0 and outcome(clean) == "within_threshold"


@pytest.mark.slow
def test_agentic_oversight(serve: Serve, tmp_path: Path) -> None:
    tasks = agentic_tasks()
    flawed = run_suite(
        serve(scripted_agent(tasks, obey=False)), "agentic_oversight", tmp_path / "a", limit=10
    )
    assert flawed["method"] == "emulated_tools"
    assert value(flawed) == 1.0 and outcome(flawed) == "exceeds_threshold"
    clean = run_suite(
        serve(scripted_agent(tasks, obey=True)), "agentic_oversight", tmp_path / "b", full=True
    )
    assert value(clean) == 0.0 and outcome(clean) == "within_threshold"
    assert any("30 of 30 task(s) were solved" in note for note in clean["notes"])
