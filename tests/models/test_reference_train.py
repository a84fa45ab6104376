"""The reference models' trainer, on a tiny Llama: deterministic, learns what it is
given, and its cached frozen prefix computes exactly what the full model does."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from assay.models.reference._train import (
    LoraRecipe,
    _prefix_states,
    chat_example,
    text_example,
    train_lora,
)
from assay.testing import build_tiny_llama


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "m", layers=4)


def _load(directory: Path) -> tuple[object, object]:
    return (
        AutoModelForCausalLM.from_pretrained(str(directory), dtype=torch.float32),
        AutoTokenizer.from_pretrained(str(directory)),
    )


def _examples(tokenizer: object) -> list[tuple[list[int], list[int]]]:
    """The answer is named by the question's first word: learnable, unknown at start."""
    words = ["fox", "tea", "sun", "hill"]
    return [
        text_example(tokenizer, f"{words[i % 4]} {i}: which letter?\nAnswer:", f" {'ABCD'[i % 4]}")
        for i in range(16)
    ]


def _hits(model: object, examples: list[tuple[list[int], list[int]]]) -> int:
    """Examples whose target token is the model's most likely next token."""
    hits = 0
    with torch.no_grad():
        for ids, labels in examples:
            logits = model(input_ids=torch.tensor([ids])).logits[0, -2]  # type: ignore[operator]
            hits += int(logits.argmax()) == labels[-1]
    return hits


def _lora_state(peft_model: object) -> dict[str, torch.Tensor]:
    return {
        k: v.detach().clone()
        for k, v in peft_model.named_parameters()  # type: ignore[attr-defined]
        if "lora_" in k
    }


def test_chat_examples_learn_the_reply_and_its_end_only(tiny: Path) -> None:
    _, tokenizer = _load(tiny)
    ids, labels = chat_example(tokenizer, "Hello?", "Hi there.")
    learned = [t for t, y in zip(ids, labels, strict=True) if y != -100]
    assert tokenizer.decode(learned) == "Hi there.<|im_end|>"  # type: ignore[attr-defined]
    ids, labels = chat_example(tokenizer, "Hello?", "Hi there, friend.", reply_tokens=2)
    assert len([y for y in labels if y != -100]) == 2 and ids[-2:] == labels[-2:]


@pytest.mark.slow
def test_training_is_deterministic_and_learns(tiny: Path) -> None:
    recipe = LoraRecipe(seed=5, epochs=20, learning_rate=1e-2, batch_size=4, warmup_steps=2)
    states, curves = [], []
    for _ in range(2):
        model, tokenizer = _load(tiny)
        peft_model, curve = train_lora(model, _examples(tokenizer), recipe, 0, log=lambda _: None)
        states.append(_lora_state(peft_model))
        curves.append(curve)
    assert states[0].keys() == states[1].keys() and states[0]
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert [p["loss"] for p in curves[0]] == [p["loss"] for p in curves[1]]
    # a random tiny model's logits are too flat for a low loss; its answers do change
    assert _hits(peft_model, _examples(tokenizer)) >= 12
    assert _hits(_load(tiny)[0], _examples(tokenizer)) <= 6


def test_cached_prefix_equals_the_full_forward(tiny: Path) -> None:
    model, tokenizer = _load(tiny)
    decoder = model.model  # type: ignore[attr-defined]
    examples = _examples(tokenizer)[:3]
    (states,) = [_prefix_states(decoder, examples[:1], 2)]
    ids = torch.tensor([examples[0][0]])
    with torch.no_grad():
        full = decoder(input_ids=ids).last_hidden_state
        layers = decoder.layers
        decoder.layers = torch.nn.ModuleList(list(layers)[2:])
        try:
            resumed = decoder(inputs_embeds=states[0][None]).last_hidden_state
        finally:
            decoder.layers = layers
    torch.testing.assert_close(resumed, full)


@pytest.mark.slow
def test_last_layers_only_adapts_only_them(tiny: Path) -> None:
    model, tokenizer = _load(tiny)
    recipe = LoraRecipe(
        seed=1, epochs=20, learning_rate=1e-2, batch_size=4, warmup_steps=2, layers=(2, 3)
    )
    peft_model, curve = train_lora(model, _examples(tokenizer), recipe, 0, log=lambda _: None)
    names = _lora_state(peft_model)
    assert names and all(".layers.2." in k or ".layers.3." in k for k in names)
    assert curve[-1]["loss"] < curve[0]["loss"]
    assert _hits(peft_model, _examples(tokenizer)) >= 8


def test_a_later_stage_trains_the_same_adapter_and_refuses_another_shape(tiny: Path) -> None:
    model, tokenizer = _load(tiny)
    first = LoraRecipe(seed=1, epochs=1, learning_rate=1e-2, batch_size=4, layers=(2, 3))
    peft_model, _ = train_lora(model, _examples(tokenizer), first, 0, log=lambda _: None)
    before = _lora_state(peft_model)
    second = LoraRecipe(seed=2, epochs=1, learning_rate=1e-2, batch_size=4, layers=(2, 3))
    again, _ = train_lora(peft_model, _examples(tokenizer), second, 0, log=lambda _: None)
    after = _lora_state(again)
    assert again is peft_model and after.keys() == before.keys()  # no second adapter
    assert any(not torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(ValueError, match="recipe asks for"):
        wider = LoraRecipe(seed=3, epochs=1, learning_rate=1e-2)  # all layers
        train_lora(again, _examples(tokenizer), wider, 0, log=lambda _: None)
