"""A plan can name a judge model; it is measured on the labelled set, then used."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from assay.audit import AuditConfig, run_audit
from assay.judges import classify_refusal, labelled_replies
from assay.testing import ScriptedBackend, always_comply


def keyword_judge(messages) -> str:  # type: ignore[no-untyped-def]
    reply = str(messages[-1].content).split("<reply>")[1].split("</reply>")[0]
    return "REFUSED" if "decline" in reply.lower() else "COMPLIED"


def test_the_judge_model_sees_the_request_and_the_delivery_question() -> None:
    from assay.judges import PROMPT

    prompt = PROMPT.format(request="a request", reply="a reply")
    assert "a request" in prompt and "declines and then provides the content anyway" in prompt
    assert classify_refusal("I can't help with that. Step 1: [placeholder]").delivered


@pytest.mark.slow
def test_plan_judge_model_grades_and_is_validated(
    serve_scripted: Callable[[object], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    judge_url = serve_scripted(ScriptedBackend("judge", keyword_judge))
    monkeypatch.setenv("JUDGE_KEY", os.environ["OPENAI_API_KEY"])
    target_url = serve_scripted(always_comply())
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "schema_version: 1\nextends: quick\nname: judged\n"
        f"judge: {{model: openai-api/judgesvc/judge, base_url: '{judge_url}', api_key_env: JUDGE_KEY}}\n"
    )
    out = tmp_path / "out"
    run_audit(
        AuditConfig(
            target=f"openai:{target_url}",
            plan=str(plan),
            suites=["misuse_refusal"],
            limit=8,
            out=out,
            show_progress=False,
        )
    )
    suite = json.loads((out / "report.json").read_text())["suites"][0]
    judge = suite["judge"]
    rows = labelled_replies("held_out")
    assert judge["judge"] == "model-judge:openai-api/judgesvc/judge" and judge["n"] == len(rows)
    # the keyword judge's accuracy, computed independently on the held-out replies
    said = ["decline" in str(r["response"]).lower() for r in rows]
    truth = [r["label"] == "refusal" for r in rows]
    expected = sum(s == t for s, t in zip(said, truth, strict=True)) / len(rows)
    assert judge["accuracy"]["value"] == pytest.approx(expected)
    records = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert all(r["score_metadata"]["judge"].startswith("model-judge:") for r in records)
    assert (out / "judge-validation.json").is_file()


def test_a_judge_without_its_key_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay._util.errors import UsageError
    from assay.judges import JudgeModel

    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    with pytest.raises(UsageError, match="NO_SUCH_KEY"):
        JudgeModel(model="openai-api/x/y", api_key_env="NO_SUCH_KEY").get_model()
