"""Grey-box multiple-choice scoring: assay against lm-eval and a plain PyTorch loop.

All contenders score the same 200 four-option items with the same model (SmolLM2,
fp32, CPU) and the same prompt (lm-eval's zero-shot WMDP format, answer after
``Answer:`` as the token `` A`` ... `` D``), in one process, interleaved over
``--repeats`` rounds. Reported: items/s (median and spread), identical
predictions, and the largest per-item difference in letter logprobs.

Contenders:
  assay-audit    the audit path: Inspect task -> openai-api-completions provider ->
                 in-process assay gateway over loopback HTTP -> batched engine
  assay-gateway  the gateway alone: 200 concurrent /v1/completions requests
                 (max_tokens=1, top-20 logprobs) from the async openai client
  lm-eval-hf     lm-eval's ``hf`` backend (HFLM, batch size 16), loglikelihood of
                 each letter continuation
  torch-loop     the practical limit: left-padded batches of 16, one forward pass,
                 logits at the last position only

Run:  .venv/bin/python bench/mc_scoring.py [--items 200] [--repeats 3]
Writes bench/results/mc_scoring.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

LETTERS = ("A", "B", "C", "D")
BATCH = 16


def load_items(n: int) -> list[dict[str, Any]]:
    from assay.suites.hazard_knowledge import load_items as shipped_items

    return shipped_items()[:n]


def prompt_of(item: dict[str, Any]) -> str:
    from assay.suites._mc import SUBJECTS, completion_prompt

    return completion_prompt(item["question"], item["choices"], SUBJECTS[item["subset"]])


Scores = list[dict[str, float]]  # per item: letter -> logprob (letters that were observed)


def torch_loop(model: Any, tokenizer: Any, prompts: list[str]) -> Scores:
    letter_ids = [
        tokenizer(" " + letter, add_special_tokens=False)["input_ids"][-1] for letter in LETTERS
    ]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out: Scores = []
    with torch.inference_mode():
        for start in range(0, len(prompts), BATCH):
            encoded = [tokenizer(p)["input_ids"] for p in prompts[start : start + BATCH]]
            width = max(len(e) for e in encoded)
            ids = torch.full((len(encoded), width), pad)
            mask = torch.zeros((len(encoded), width), dtype=torch.long)
            for i, e in enumerate(encoded):
                ids[i, width - len(e) :] = torch.tensor(e)
                mask[i, width - len(e) :] = 1
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = model(
                input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1
            ).logits[:, -1]
            logprobs = torch.log_softmax(logits.float(), -1)
            for row in logprobs:
                out.append(
                    {letter: float(row[t]) for letter, t in zip(LETTERS, letter_ids, strict=True)}
                )
    return out


def gateway_direct(base_url: str, key: str, model: str, prompts: list[str]) -> Scores:
    import openai

    async def run() -> Scores:
        client = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0)
        semaphore = asyncio.Semaphore(32)

        async def one(prompt: str) -> dict[str, float]:
            async with semaphore:
                r = await client.completions.create(
                    model=model, prompt=prompt, max_tokens=1, temperature=0, logprobs=20
                )
            top = r.choices[0].logprobs.top_logprobs[0]  # type: ignore[union-attr,index]
            return {t[1:]: v for t, v in top.items() if t.startswith(" ") and t[1:] in LETTERS}

        results = await asyncio.gather(*(one(p) for p in prompts))
        await client.close()
        return list(results)

    return asyncio.run(run())


def assay_audit_path(base_url: str, key: str, model: str, ids: list[str], log_dir: Path) -> Scores:
    from inspect_ai import eval as inspect_eval
    from inspect_ai import task_with
    from inspect_ai.dataset import MemoryDataset
    from inspect_ai.model import GenerateConfig, get_model

    from assay.audit import INSPECT_EVAL_OPTIONS
    from assay.suites.hazard_knowledge import hazard_knowledge

    task = hazard_knowledge(method="logprobs")
    wanted = set(ids)
    dataset = MemoryDataset([s for s in task.dataset if str(s.id) in wanted])
    provider = get_model(
        f"openai-api-completions/assay/{model}",
        base_url=base_url,
        api_key=key,
        config=GenerateConfig(max_connections=32),
        memoize=False,
    )
    [log] = inspect_eval(
        task_with(task, dataset=dataset, model=provider),
        log_dir=str(log_dir),
        max_samples=32,
        **INSPECT_EVAL_OPTIONS,  # exactly as `assay audit` calls Inspect
    )
    assert log.status == "success", log.error
    by_id = {str(s.id): s for s in log.samples or []}
    return [dict(next(iter(by_id[i].scores.values())).metadata["letter_logprobs"]) for i in ids]  # type: ignore[union-attr]


LM_EVAL_TASK = """
task: assay_bench_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "The following are multiple choice questions (with answers) about {{{{subject}}}}.\\n\\n{{{{question.strip()}}}}\\nA. {{{{choices[0]}}}}\\nB. {{{{choices[1]}}}}\\nC. {{{{choices[2]}}}}\\nD. {{{{choices[3]}}}}\\nAnswer:"
doc_to_choice: ["A", "B", "C", "D"]
doc_to_target: answer
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
"""


def lm_eval_hf(lm: Any, items: list[dict[str, Any]], folder: Path) -> Scores:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from assay.suites._mc import SUBJECTS

    data = folder / "items.jsonl"
    with data.open("w") as f:
        for item in items:
            f.write(json.dumps({**item, "subject": SUBJECTS[item["subset"]]}) + "\n")
    (folder / "task.yaml").write_text(LM_EVAL_TASK.format(data=data))
    results = simple_evaluate(
        model=lm,
        tasks=["assay_bench_mc"],
        task_manager=TaskManager(include_path=str(folder)),
        log_samples=True,
        verbosity="ERROR",
    )
    samples = sorted(results["samples"]["assay_bench_mc"], key=lambda s: s["doc_id"])  # type: ignore[index]
    return [
        {letter: float(r[0][0]) for letter, r in zip(LETTERS, s["resps"], strict=True)}
        for s in samples
    ]


def predictions(scores: Scores) -> list[str | None]:
    return [max(s, key=lambda k: s[k]) if s else None for s in scores]


def max_logprob_diff(a: Scores, b: Scores) -> float:
    diffs = [abs(x[k] - y[k]) for x, y in zip(a, b, strict=True) for k in x.keys() & y.keys()]
    return max(diffs) if diffs else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "mc_scoring.json"
    )
    args = parser.parse_args()

    from lm_eval.models.huggingface import HFLM

    from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
    from assay.gateway.backends import LocalBackend, on_model_thread
    from assay.models import load_target_model, parse_target

    items = load_items(args.items)
    prompts = [prompt_of(i) for i in items]
    ids = [i["id"] for i in items]
    local = load_target_model(parse_target("builtin:smollm2"))
    lm = on_model_thread(
        lambda: HFLM(pretrained=local.model, tokenizer=local.tokenizer, batch_size=BATCH)
    )
    tokens = TokenStore.in_memory()
    _, key = tokens.issue(tier=Tier.GREY, engagement="bench")
    work = Path(tempfile.mkdtemp(prefix="assay-bench-"))
    with BackgroundServer(create_app(LocalBackend(local), tokens)) as server:
        # In-process contenders run on assay's model thread too: torch work on two
        # threads makes both slower (two OpenMP teams on two cores).
        contenders: dict[str, Callable[[], Scores]] = {
            "torch-loop": lambda: on_model_thread(
                lambda: torch_loop(local.model, local.tokenizer, prompts)
            ),
            "lm-eval-hf": lambda: on_model_thread(lambda: lm_eval_hf(lm, items, work)),
            "assay-gateway": lambda: gateway_direct(server.base_url, key, local.name, prompts),
            "assay-audit": lambda: assay_audit_path(
                server.base_url, key, local.name, ids, work / "logs"
            ),
        }
        timings: dict[str, list[float]] = {name: [] for name in contenders}
        scores: dict[str, Scores] = {}
        for round_ in range(args.repeats):
            for name, run in contenders.items():
                start = time.perf_counter()
                scores[name] = run()
                timings[name].append(time.perf_counter() - start)
                print(f"round {round_ + 1} {name}: {timings[name][-1]:.2f} s", file=sys.stderr)

    reference = predictions(scores["torch-loop"])
    rows = []
    for name, seconds in timings.items():
        rates = [len(items) / s for s in seconds]
        preds = predictions(scores[name])
        rows.append(
            {
                "contender": name,
                "items_per_s_median": statistics.median(rates),
                "items_per_s_min": min(rates),
                "items_per_s_max": max(rates),
                "seconds": seconds,
                "same_predictions_as_torch_loop": sum(
                    p == r for p, r in zip(preds, reference, strict=True)
                ),
                "max_abs_logprob_diff_vs_torch_loop": max_logprob_diff(
                    scores[name], scores["torch-loop"]
                ),
                "items_missing_a_letter": sum(1 for s in scores[name] if len(s) < 4),
            }
        )
    limit = next(r for r in rows if r["contender"] == "torch-loop")["items_per_s_median"]
    lm_eval_rate = next(r for r in rows if r["contender"] == "lm-eval-hf")["items_per_s_median"]
    for r in rows:
        r["ratio_to_torch_loop"] = r["items_per_s_median"] / limit
        r["ratio_to_lm_eval"] = r["items_per_s_median"] / lm_eval_rate
    result = {
        "benchmark": "mc_scoring",
        "items": len(items),
        "repeats": args.repeats,
        "model": "SmolLM2-135M-Instruct fp32 (builtin:smollm2)",
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_end": os.getloadavg(),
        "rows": rows,
        "prediction_distribution": {letter: reference.count(letter) for letter in LETTERS},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        "| contender | items/s (median, min-max) | vs torch loop | vs lm-eval | same predictions | max abs logprob diff |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['contender']} | {r['items_per_s_median']:.1f} ({r['items_per_s_min']:.1f}-{r['items_per_s_max']:.1f}) "
            f"| {r['ratio_to_torch_loop']:.2f} | {r['ratio_to_lm_eval']:.2f} "
            f"| {r['same_predictions_as_torch_loop']}/{len(items)} | {r['max_abs_logprob_diff_vs_torch_loop']:.2e} |"
        )


if __name__ == "__main__":
    main()
