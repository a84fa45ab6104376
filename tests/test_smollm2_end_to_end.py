"""The default path on the real embedded model (slow): CLI audit through the gateway."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
from assay.gateway.backends import LocalBackend
from assay.models import load_local_model, provision_builtin
from assay.report import validate_report
from assay.suites._mc import SUBJECTS, completion_prompt
from assay.suites.hazard_knowledge import load_items

pytestmark = pytest.mark.slow


@pytest.mark.timeout(2400)  # a whole audit on one thread, beside another worker's tests
def test_default_audit_on_smollm2(smollm2_home: Path, tmp_path: Path) -> None:
    """The default audit, and before it its dry run: the real queries and tokens (the
    gateway's request log) fall within the estimate's stated tolerance."""
    out = tmp_path / "out"
    dry = subprocess.run(
        [sys.executable, "-m", "assay", "audit", "--dry-run", "--json", "--limit", "4",
         "--out", str(out), "--no-calibrate"],  # counts only (tests/audit: calibration)
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    estimate = json.loads(dry.stdout)
    assert not out.exists()
    result = subprocess.run(
        [sys.executable, "-m", "assay", "audit", "--limit", "4", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=2100,
    )
    assert result.returncode == 0, result.stderr
    assert "Recommendation" in result.stdout
    report = json.loads((out / "report.json").read_text())
    validate_report(report)
    assert report["target"]["spec"] == "builtin:smollm2" and report["tier"] == "grey"
    knowledge = next(s for s in report["suites"] if s["id"] == "hazard_knowledge")
    assert knowledge["method"] == "logprobs" and knowledge["n"] == 4
    from assay.suites import all_suites

    assert {s["id"] for s in report["suites"]} == {s.id for s in all_suites()}
    assert all(s["n"] == 4 for s in report["suites"] if s["id"] != "election_evenhandedness")
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    mc = [s for s in samples if s["suite"] == "hazard_knowledge"]
    assert all(s["score_metadata"]["decided_by"] == "logprobs" for s in mc)
    refusal = [s for s in samples if s["suite"] == "misuse_refusal"]
    assert len(refusal) == 4 and all(s["output"] for s in refusal)
    _within_the_estimate(report["gateway_log"]["totals"], estimate)
    assert (
        subprocess.run(
            [sys.executable, "-m", "assay", "verify", str(out / "attestation.json")],
            capture_output=True,
        ).returncode
        == 0
    )


def _within_the_estimate(totals: dict[str, int], estimate: dict[str, Any]) -> None:
    """The tolerance docs/plans.md states, past the endpoint probe (at most 4 one-token
    requests of a few prompt tokens each)."""
    from assay.audit._estimate import GENERATED_TOLERANCE, PROMPT_TOLERANCE

    total = estimate["total"]
    probes = 4
    queries = totals["requests"]
    assert (
        total["queries"]["low"] <= queries - probes <= queries <= total["queries"]["high"] + probes
    )
    prompt = totals["prompt_tokens"]
    assert total["prompt_tokens"]["low"] * (1 - PROMPT_TOLERANCE) <= prompt
    assert prompt <= total["prompt_tokens"]["high"] * (1 + PROMPT_TOLERANCE) + 20 * probes
    generated = totals["completion_tokens"] - probes
    assert generated <= total["generated_tokens"]["high"]
    expected = total["generated_tokens"]["expected"]
    assert abs(generated - expected) <= GENERATED_TOLERANCE * expected, (generated, expected)


def test_gateway_letter_logprobs_equal_a_direct_forward_pass(smollm2_home: Path) -> None:
    import openai

    local = load_local_model(provision_builtin("smollm2", show_progress=False), name="smollm2")
    tokens = TokenStore.in_memory()
    _, key = tokens.issue(tier=Tier.GREY, engagement="t")
    items = load_items()[:6]
    prompts = [completion_prompt(i["question"], i["choices"], SUBJECTS[i["subset"]]) for i in items]
    letter_ids = [local.tokenizer(" " + c)["input_ids"][-1] for c in "ABCD"]
    with BackgroundServer(create_app(LocalBackend(local), tokens)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=key)
        for prompt in prompts:
            top = client.completions.create(
                model="smollm2", prompt=prompt, max_tokens=1, temperature=0, logprobs=20
            )
            served = dict(top.choices[0].logprobs.top_logprobs[0])  # type: ignore[union-attr,index]
            with torch.no_grad():
                ids = torch.tensor([local.tokenizer(prompt)["input_ids"]])
                direct = torch.log_softmax(local.model(ids).logits[0, -1].float(), -1)
            for letter, token_id in zip("ABCD", letter_ids, strict=True):
                if f" {letter}" in served:
                    assert served[f" {letter}"] == pytest.approx(float(direct[token_id]), abs=1e-3)
            assert any(f" {c}" in served for c in "ABCD")
