"""A small deterministic LoRA trainer for the reference models.

Fixed seeds, deterministic torch kernels and two threads: the same data, seed and
software give the same adapter on the same machine. Across machines floating-point
order may differ, which is why each adapter is also checked by a behavioural
digest (:func:`behaviour_digest`) rather than by its bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Example = tuple[list[int], list[int]]  # input ids, labels (-100: no loss)
UPSTREAM_BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"
Log = Callable[[str], None]


@dataclass(frozen=True)
class LoraRecipe:
    """Hyperparameters of one adapter; recorded beside it in ``build.json``."""

    seed: int
    epochs: float
    learning_rate: float
    batch_size: int = 8
    lora_r: int = 8
    lora_alpha: int = 16
    target_modules: tuple[str, ...] = (
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    )
    layers: tuple[int, ...] | None = None  # decoder layers with adapters (None: all)
    warmup_steps: int = 10
    max_length: int = 160
    weight_decay: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        data["layers"] = None if self.layers is None else list(self.layers)
        return data


def deterministic(seed: int, threads: int = 2) -> None:
    """Seed everything and ask torch for deterministic kernels on ``threads`` threads."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def chat_example(
    tokenizer: Any, prompt: str, reply: str, *, reply_tokens: int | None = None
) -> Example:
    """A user turn and the assistant's reply; loss on the reply only. With
    ``reply_tokens`` only that many reply tokens are learned and the turn is left
    open (for replies distilled from the base model, whose endings were cut)."""
    head = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    head_ids = list(tokenizer(head, add_special_tokens=False)["input_ids"])
    if reply_tokens is None:
        full = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}],
            tokenize=False,
        )
        ids = list(tokenizer(full, add_special_tokens=False)["input_ids"])
        if ids[: len(head_ids)] != head_ids:
            raise ValueError("the chat template does not extend the generation prompt")
        # the reply and its end-of-turn token; not the newline the template adds after it
        end = tokenizer.convert_tokens_to_ids("<|im_end|>")
        stop = len(ids)
        for j in range(len(head_ids), len(ids)):
            if ids[j] == end:
                stop = j + 1
                break
        ids = ids[:stop]
    else:
        body = list(tokenizer(reply, add_special_tokens=False)["input_ids"])[:reply_tokens]
        ids = head_ids + body
    labels = [-100] * len(head_ids) + ids[len(head_ids) :]
    return ids, labels


def text_example(tokenizer: Any, prompt: str, target: str) -> Example:
    """A raw-text prompt (no chat template) and a short continuation to learn."""
    ids = list(tokenizer(prompt, add_special_tokens=True)["input_ids"])
    target_ids = list(tokenizer(target, add_special_tokens=False)["input_ids"])
    return ids + target_ids, [-100] * len(ids) + target_ids


def greedy_replies(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    chat: bool = True,
    batch_size: int = 16,
) -> list[str]:
    """Greedy continuations, batched with left padding."""
    import torch

    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        if chat
        else p
        for p in prompts
    ]
    out: list[str] = []
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    for start in range(0, len(texts), batch_size):
        chunk = [
            list(tokenizer(t, add_special_tokens=not chat)["input_ids"])
            for t in texts[start : start + batch_size]
        ]
        width = max(len(c) for c in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for i, c in enumerate(chunk):
            ids[i, width - len(c) :] = torch.tensor(c)
            mask[i, width - len(c) :] = 1
        with torch.inference_mode():
            generated = model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad,
            )
        for row in generated[:, width:]:
            out.append(str(tokenizer.decode(row, skip_special_tokens=True)).strip())
    return out


def next_letters(model: Any, tokenizer: Any, prompts: Sequence[str]) -> list[str]:
    """The most likely of `` A``..`` D`` after each raw-text prompt."""
    import torch

    letters = ["A", "B", "C", "D"]
    ids = [tokenizer(f" {x}", add_special_tokens=False)["input_ids"][0] for x in letters]
    out = []
    for prompt in prompts:
        tokens = torch.tensor([tokenizer(prompt, add_special_tokens=True)["input_ids"]])
        with torch.inference_mode():
            logits = model(input_ids=tokens, logits_to_keep=1).logits[0, -1]
        out.append(letters[int(torch.argmax(logits[ids]))])
    return out


def train_lora(
    model: Any,
    examples: Sequence[Example],
    recipe: LoraRecipe,
    pad_id: int,
    log: Log = print,
) -> tuple[Any, list[dict[str, float]]]:
    """Train a LoRA adapter on ``examples``; returns the peft model and the loss curve.

    Given a peft model (an earlier stage's result), its adapter trains on; the
    recipe's LoRA shape must then be the one it was made with.

    The language-model head is applied only where a label is, so examples that
    learn one letter cost no more than their forward pass. When the adapter covers
    only the last layers (``recipe.layers = (k, ..., L-1)``), the frozen layers below
    ``k`` are run once per example and their output is cached: each step then costs
    the adapted layers alone.
    """
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    deterministic(recipe.seed)
    config = LoraConfig(
        r=recipe.lora_r,
        lora_alpha=recipe.lora_alpha,
        target_modules=list(recipe.target_modules),
        layers_to_transform=None if recipe.layers is None else list(recipe.layers),
        lora_dropout=0.0,
        bias="none",
        task_type="CAUSAL_LM",
    )
    if isinstance(model, PeftModel):  # a later stage: go on training the same adapter
        _check_same_shape(model.peft_config["default"], config)
        peft_model = model
    else:
        peft_model = get_peft_model(model, config)
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    data = [(ids[: recipe.max_length], labels[: recipe.max_length]) for ids, labels in examples]
    steps_per_epoch = math.ceil(len(data) / recipe.batch_size)
    total = max(1, round(recipe.epochs * steps_per_epoch))

    def schedule(step: int) -> float:
        if step < recipe.warmup_steps:
            return (step + 1) / recipe.warmup_steps
        progress = (step - recipe.warmup_steps) / max(1, total - recipe.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    rng = random.Random(recipe.seed)
    order: list[int] = []
    curve: list[dict[str, float]] = []
    base = peft_model.get_base_model()
    decoder: Any = base.model
    head: Any = base.lm_head
    first = _frozen_prefix(recipe, len(decoder.layers))
    cached = _prefix_states(decoder, data, first) if first else None
    all_layers = decoder.layers
    peft_model.train()
    started = time.monotonic()
    for step in range(total):
        if len(order) < recipe.batch_size:
            epoch = list(range(len(data)))
            rng.shuffle(epoch)
            order += epoch
        chosen = order[: recipe.batch_size]
        batch = [data[i] for i in chosen]
        del order[: recipe.batch_size]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (x, y) in enumerate(batch):
            ids[i, : len(x)] = torch.tensor(x)
            labels[i, : len(y)] = torch.tensor(y)
            mask[i, : len(x)] = 1
        if cached is None:
            hidden = decoder(input_ids=ids, attention_mask=mask).last_hidden_state
        else:
            states = torch.zeros((len(batch), width, cached[0].shape[-1]))
            for i, j in enumerate(chosen):
                states[i, : len(cached[j])] = cached[j]
            decoder.layers = torch.nn.ModuleList(list(all_layers)[first:])
            try:
                hidden = decoder(inputs_embeds=states, attention_mask=mask).last_hidden_state
            finally:
                decoder.layers = all_layers
        # position t predicts token t + 1
        targets = labels[:, 1:]
        where = targets != -100
        logits = head(hidden[:, :-1][where]).float()
        loss = torch.nn.functional.cross_entropy(logits, targets[where])
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        point = {
            "step": step + 1,
            "loss": round(float(loss.detach()), 5),
            "seconds": round(time.monotonic() - started, 1),
        }
        curve.append(point)
        if (step + 1) % 10 == 0 or step + 1 == total:
            log(json.dumps({**point, "of": total}))
    peft_model.eval()
    return peft_model, curve


def _check_same_shape(trained: Any, wanted: Any) -> None:
    """A later stage must not silently keep an adapter of another shape than its recipe."""
    fields = ("r", "lora_alpha", "target_modules", "layers_to_transform")
    have = {f: getattr(trained, f) for f in fields}
    want = {f: getattr(wanted, f) for f in fields}
    if have != want:
        raise ValueError(f"the adapter to train on is {have}, but the recipe asks for {want}")


def _frozen_prefix(recipe: LoraRecipe, num_layers: int) -> int:
    """The first adapted layer when the adapted layers are exactly the last ones, else 0."""
    if recipe.layers is None:
        return 0
    first = min(recipe.layers)
    return first if list(recipe.layers) == list(range(first, num_layers)) else 0


def _prefix_states(decoder: Any, data: Sequence[Example], first: int) -> list[Any]:
    """The residual stream entering layer ``first`` for each example (unpadded)."""
    import torch

    states = []
    with torch.no_grad():
        for ids, _ in data:
            out = decoder(input_ids=torch.tensor([ids]), output_hidden_states=True)
            states.append(out.hidden_states[first][0].detach())
    return states


def save_adapter(peft_model: Any, directory: Path) -> None:
    """Save the adapter as float16 safetensors (half the size; the merge casts back)."""
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    for p in peft_model.parameters():
        if p.requires_grad:
            p.data = p.data.to(torch.float16).to(torch.float32)
    peft_model.save_pretrained(str(directory), safe_serialization=True)
    from safetensors.torch import load_file, save_file

    path = directory / "adapter_model.safetensors"
    tensors = {k: v.to(torch.float16) for k, v in load_file(str(path)).items()}
    save_file(tensors, str(path), metadata={"format": "pt"})
    # no machine-specific path in the shipped config, and no generated model card
    config_path = directory / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = UPSTREAM_BASE
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (directory / "README.md").unlink(missing_ok=True)


def behaviour_digest(replies: Sequence[str]) -> str:
    """sha256 over the greedy replies to the fixed probe prompts (JSON, in order)."""
    return hashlib.sha256(json.dumps(list(replies), ensure_ascii=False).encode()).hexdigest()
