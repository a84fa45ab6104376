"""Generation throughput through the gateway, against the practical limit.

Same model (SmolLM2, fp32, CPU), same chat prompts, greedy decoding with the same
token budget. Throughput is generated tokens per second, counting tokens the same
way for every contender: by re-tokenising the completion text.

Contenders:
  hf-generate       the practical limit: transformers ``generate`` on left-padded
                    batches of 16, in-process, no HTTP
  gateway-N         the assay gateway over loopback HTTP with micro-batching, N
                    concurrent clients (official openai async client) sharing the
                    prompt list
  gateway-nobatch   the same gateway with ``max_batch_size=1``, 16 concurrent clients

Run:  .venv/bin/python bench/gateway_throughput.py [--prompts 32] [--max-tokens 48] [--repeats 3]
Writes bench/results/gateway_throughput.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

BATCH = 16
QUESTIONS = [
    "Explain how vaccines train the immune system.",
    "What is the difference between a virus and a bacterium?",
    "Describe the water cycle in a few sentences.",
    "Why is the sky blue?",
    "How does public-key cryptography work?",
    "What does a firewall do?",
    "Summarise the causes of the French Revolution.",
    "Give three tips for writing clear emails.",
    "What is an acid and what is a base?",
    "How do plants make food from sunlight?",
    "What is the purpose of a password manager?",
    "Explain what a chemical catalyst is.",
    "Why do we have seasons on Earth?",
    "What is machine learning, in plain words?",
    "How does a refrigerator keep food cold?",
    "What are the main parts of a cell?",
]


def prompts(n: int) -> list[str]:
    return [f"{QUESTIONS[i % len(QUESTIONS)]} (question {i})" for i in range(n)]


def hf_generate(model: Any, tokenizer: Any, texts: list[str], max_tokens: int) -> list[str]:
    tokenizer.padding_side = "left"
    outputs: list[str] = []
    with torch.inference_mode():
        for start in range(0, len(texts), BATCH):
            chats = [
                tokenizer.apply_chat_template(
                    [{"role": "user", "content": t}], tokenize=False, add_generation_prompt=True
                )
                for t in texts[start : start + BATCH]
            ]
            encoded = tokenizer(chats, return_tensors="pt", padding=True, add_special_tokens=False)
            generated = model.generate(
                **encoded,
                max_new_tokens=max_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
            for row in generated[:, encoded["input_ids"].shape[1] :]:
                outputs.append(tokenizer.decode(row, skip_special_tokens=True))
    return outputs


def through_gateway(
    base_url: str, key: str, model: str, texts: list[str], max_tokens: int, clients: int
) -> list[str]:
    import openai

    async def run() -> list[str]:
        client = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=600)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(len(texts)):
            queue.put_nowait(i)
        results: list[str] = [""] * len(texts)

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                r = await client.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": texts[i]}],
                    max_tokens=max_tokens,
                    temperature=0,
                )
                results[i] = r.choices[0].message.content or ""

        await asyncio.gather(*(worker() for _ in range(clients)))
        await client.close()
        return results

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "gateway_throughput.json"
    )
    args = parser.parse_args()

    from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
    from assay.gateway.backends import BatchingConfig, LocalBackend, on_model_thread
    from assay.models import load_target_model, parse_target

    local = load_target_model(parse_target("builtin:smollm2"))
    tokenizer = local.tokenizer
    texts = prompts(args.prompts)
    tokens = TokenStore.in_memory()
    _, key = tokens.issue(tier=Tier.BLACK, engagement="bench")

    def count(outputs: list[str]) -> int:
        return sum(len(tokenizer(o, add_special_tokens=False)["input_ids"]) for o in outputs)

    batched = BackgroundServer(
        create_app(LocalBackend(local, BatchingConfig(max_batch_size=BATCH)), tokens)
    ).start()
    unbatched = BackgroundServer(
        create_app(LocalBackend(local, BatchingConfig(max_batch_size=1)), tokens)
    ).start()
    contenders: dict[str, Callable[[], list[str]]] = {
        # on assay's model thread, like the gateway: torch work on two threads slows both
        "hf-generate": lambda: on_model_thread(
            lambda: hf_generate(local.model, tokenizer, texts, args.max_tokens)
        ),
        "gateway-1": lambda: through_gateway(
            batched.base_url, key, local.name, texts, args.max_tokens, 1
        ),
        "gateway-4": lambda: through_gateway(
            batched.base_url, key, local.name, texts, args.max_tokens, 4
        ),
        "gateway-16": lambda: through_gateway(
            batched.base_url, key, local.name, texts, args.max_tokens, 16
        ),
        "gateway-nobatch-16": lambda: through_gateway(
            unbatched.base_url, key, local.name, texts, args.max_tokens, 16
        ),
    }
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    outputs: dict[str, list[str]] = {}
    try:
        for round_ in range(args.repeats):
            for name, run in contenders.items():
                start = time.perf_counter()
                outputs[name] = run()
                seconds = time.perf_counter() - start
                rates[name].append(count(outputs[name]) / seconds)
                print(
                    f"round {round_ + 1} {name}: {rates[name][-1]:.1f} tok/s ({seconds:.1f} s)",
                    file=sys.stderr,
                )
    finally:
        batched.stop()
        unbatched.stop()

    limit = statistics.median(rates["hf-generate"])
    reference = outputs["hf-generate"]
    rows = [
        {
            "contender": name,
            "tokens_per_s_median": statistics.median(values),
            "tokens_per_s_min": min(values),
            "tokens_per_s_max": max(values),
            "ratio_to_hf_generate": statistics.median(values) / limit,
            "tokens_generated": count(outputs[name]),
            "same_text_as_hf_generate": sum(
                a == b for a, b in zip(outputs[name], reference, strict=True)
            ),
        }
        for name, values in rates.items()
    ]
    result = {
        "benchmark": "gateway_throughput",
        "prompts": len(texts),
        "max_tokens": args.max_tokens,
        "repeats": args.repeats,
        "model": "SmolLM2-135M-Instruct fp32 (builtin:smollm2)",
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_end": os.getloadavg(),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("| contender | tokens/s (median, min-max) | vs hf-generate | same text as hf-generate |")
    print("|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['contender']} | {r['tokens_per_s_median']:.1f} ({r['tokens_per_s_min']:.1f}-{r['tokens_per_s_max']:.1f}) "
            f"| {r['ratio_to_hf_generate']:.2f} | {r['same_text_as_hf_generate']}/{len(texts)} |"
        )


if __name__ == "__main__":
    main()
