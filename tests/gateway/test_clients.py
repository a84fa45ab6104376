"""Third-party clients that must work against the gateway unchanged: Inspect and lm-eval."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from tests.conftest import LiveGateway


def test_inspect_openai_api_provider_runs_a_suite(
    gateway: LiveGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspect_ai import eval as inspect_eval

    monkeypatch.setenv("GW_BASE_URL", gateway.base_url)
    monkeypatch.setenv("GW_API_KEY", gateway.black)
    [log] = inspect_eval(
        "assay/misuse_refusal",
        model="openai-api/gw/tiny",
        limit=3,
        log_dir=str(tmp_path),
        display="none",
        max_tokens=8,
    )
    assert log.status == "success", log.error
    assert log.samples is not None and len(log.samples) == 3
    for sample in log.samples:
        assert sample.scores and next(iter(sample.scores.values())).value in (0.0, 1.0)
        assert sample.output.completion != ""


def test_inspect_completions_provider_reads_letter_logprobs(
    gateway: LiveGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspect_ai import eval as inspect_eval

    monkeypatch.setenv("GW_BASE_URL", gateway.base_url)
    monkeypatch.setenv("GW_API_KEY", gateway.grey)
    [log] = inspect_eval(
        "assay/hazard_knowledge",
        model="openai-api-completions/gw/tiny",
        limit=4,
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success", log.error
    assert log.samples is not None
    for sample in log.samples:
        logprobs = sample.output.choices[0].logprobs
        assert logprobs is not None
        first = logprobs.content[0]
        top = first.top_logprobs or []
        # the completions format keys alternatives by text, so byte tokens may collide
        assert 10 <= len(top) <= 20
        assert max(t.logprob for t in top) == pytest.approx(first.logprob)
        assert next(iter(sample.scores.values())).metadata["method"] == "logprobs"


LM_EVAL_TASK = """
task: assay_mc_client_test
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question.strip()}}}}\\nA. {{{{choices[0]}}}}\\nB. {{{{choices[1]}}}}\\nC. {{{{choices[2]}}}}\\nD. {{{{choices[3]}}}}\\nAnswer:"
doc_to_choice: ["A", "B", "C", "D"]
doc_to_target: answer
metric_list:
  - metric: acc
"""


@pytest.mark.slow
def test_lm_eval_local_completions_loglikelihoods_match_the_model(
    gateway: LiveGateway, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    items = [
        {
            "question": "Which organelle produces ATP?",
            "choices": ["Nucleus", "Mitochondrion", "Ribosome", "Golgi"],
            "answer": 1,
        },
        {
            "question": "What does a firewall filter?",
            "choices": ["Traffic", "Heat", "Water", "Light"],
            "answer": 0,
        },
    ]
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in items))
    (tmp_path / "task.yaml").write_text(LM_EVAL_TASK.format(data=data))
    monkeypatch.setenv("OPENAI_API_KEY", gateway.grey)
    results = simple_evaluate(
        model="local-completions",
        model_args=(
            f"model=tiny,base_url={gateway.base_url}/completions,tokenizer_backend=huggingface,"
            f"tokenizer={tiny_model_dir},num_concurrent=1,max_retries=1"
        ),
        tasks=["assay_mc_client_test"],
        task_manager=TaskManager(include_path=str(tmp_path)),
        log_samples=True,
        batch_size=4,
    )
    assert results is not None
    samples = results["samples"]["assay_mc_client_test"]
    model = gateway.backend.local.model
    tokenizer = gateway.backend.local.tokenizer
    for sample in samples:
        for (context, continuation), response in zip(
            sample["arguments"], sample["resps"], strict=True
        ):
            served = response[0][0]
            ctx_ids = tokenizer(context)["input_ids"]
            cont_ids = tokenizer(context + continuation)["input_ids"][len(ctx_ids) :]
            with torch.no_grad():
                logprobs = torch.log_softmax(
                    model(torch.tensor([ctx_ids + cont_ids])).logits[0].float(), -1
                )
            direct = sum(float(logprobs[len(ctx_ids) - 1 + j, t]) for j, t in enumerate(cont_ids))
            assert math.isclose(served, direct, abs_tol=1e-3), (continuation, served, direct)


@pytest.mark.slow
def test_lm_eval_through_the_gateway_matches_its_hf_backend(
    gateway: LiveGateway, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same items, same model: local-completions via the gateway and lm-eval's own hf
    backend agree on every loglikelihood and on accuracy."""
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from assay.suites.hazard_knowledge import load_items

    items = [{k: i[k] for k in ("question", "choices", "answer")} for i in load_items()[:12]]
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in items))
    (tmp_path / "task.yaml").write_text(LM_EVAL_TASK.format(data=data))
    manager = TaskManager(include_path=str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", gateway.grey)
    served = simple_evaluate(
        model="local-completions",
        model_args=(
            f"model=tiny,base_url={gateway.base_url}/completions,tokenizer_backend=huggingface,"
            f"tokenizer={tiny_model_dir},num_concurrent=4,max_retries=1"
        ),
        tasks=["assay_mc_client_test"],
        task_manager=manager,
        log_samples=True,
        batch_size=8,
    )
    local = simple_evaluate(
        model=HFLM(pretrained=str(tiny_model_dir), batch_size=8, device="cpu"),
        tasks=["assay_mc_client_test"],
        task_manager=manager,
        log_samples=True,
    )
    assert served is not None and local is not None
    a = served["results"]["assay_mc_client_test"]["acc,none"]
    b = local["results"]["assay_mc_client_test"]["acc,none"]
    assert a == b
    by_doc = {s["doc_id"]: s for s in local["samples"]["assay_mc_client_test"]}
    for sample in served["samples"]["assay_mc_client_test"]:
        mine = [r[0][0] for r in sample["resps"]]
        theirs = [r[0][0] for r in by_doc[sample["doc_id"]]["resps"]]
        assert mine == pytest.approx(theirs, abs=1e-3)
