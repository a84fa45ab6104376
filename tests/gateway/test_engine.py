"""The batched engine must give each row exactly what it would get alone."""

from __future__ import annotations

import pytest
import torch

from assay.gateway.backends import Engine, GenerationRequest
from assay.models import LocalModel


@pytest.fixture(scope="module")
def engine(tiny_model: LocalModel) -> Engine:
    return Engine(tiny_model.model, tiny_model.tokenizer)


def ids(model: LocalModel, text: str) -> list[int]:
    return list(model.tokenizer(text)["input_ids"])


def test_batched_greedy_generation_matches_unbatched(
    engine: Engine, tiny_model: LocalModel
) -> None:
    prompts = [
        "Answer:",
        "The quick brown fox jumps",
        "I'm sorry",
        "Chemistry, networks and molecules are",
    ]
    requests = [
        GenerationRequest(prompt_ids=ids(tiny_model, p), max_new_tokens=6 + i, temperature=0.0)
        for i, p in enumerate(prompts)
    ]
    batched = engine.run(requests)
    for request, result in zip(requests, batched, strict=True):
        alone = engine.run([request])[0]
        assert result.output_ids == alone.output_ids
        assert result.text == alone.text


def test_generation_matches_transformers_generate(engine: Engine, tiny_model: LocalModel) -> None:
    prompt = ids(tiny_model, "The quick brown fox")
    result = engine.run([GenerationRequest(prompt_ids=prompt, max_new_tokens=8, temperature=0.0)])[
        0
    ]
    with torch.no_grad():
        reference = tiny_model.model.generate(
            torch.tensor([prompt]),
            max_new_tokens=8,
            do_sample=False,
            eos_token_id=None,
            pad_token_id=engine.pad_id,
        )[0, len(prompt) :].tolist()
    n = len(result.output_ids)
    assert result.output_ids == reference[:n]


def test_prompt_logprobs_equal_a_plain_forward_pass(engine: Engine, tiny_model: LocalModel) -> None:
    prompt = ids(tiny_model, "Which organelle produces most of the ATP?")
    other = ids(tiny_model, "Hi")
    result = engine.run(
        [
            GenerationRequest(prompt_ids=other, max_new_tokens=3, temperature=0.0),
            GenerationRequest(prompt_ids=prompt, max_new_tokens=0, prompt_logprobs=3),
        ]
    )[1]
    with torch.no_grad():
        logprobs = torch.log_softmax(
            tiny_model.model(torch.tensor([prompt])).logits[0].float(), dim=-1
        )
    assert result.prompt_logprobs is not None and result.prompt_logprobs[0] is None
    for position in range(1, len(prompt)):
        entry = result.prompt_logprobs[position]
        assert entry is not None
        assert entry.token_id == prompt[position]
        assert entry.logprob == pytest.approx(
            float(logprobs[position - 1, prompt[position]]), abs=1e-4
        )
        assert [t.token_id for t in entry.top] == torch.topk(
            logprobs[position - 1], 3
        ).indices.tolist()
    assert result.output_ids == []


def test_first_token_logprobs_and_top_k_are_consistent(
    engine: Engine, tiny_model: LocalModel
) -> None:
    result = engine.run(
        [
            GenerationRequest(
                prompt_ids=ids(tiny_model, "Answer:"), max_new_tokens=1, temperature=0.0, logprobs=5
            )
        ]
    )[0]
    assert result.output_logprobs is not None and len(result.output_logprobs) == 1
    first = result.output_logprobs[0]
    assert first.token_id == result.output_ids[0]
    # greedy: the chosen token is the most likely one
    assert first.top[0].token_id == first.token_id
    assert [t.logprob for t in first.top] == sorted((t.logprob for t in first.top), reverse=True)


def test_seeded_sampling_is_reproducible_and_seed_dependent(
    engine: Engine, tiny_model: LocalModel
) -> None:
    prompt = ids(tiny_model, "Once upon a time")

    def sample(seed: int) -> list[int]:
        return engine.run(
            [GenerationRequest(prompt_ids=prompt, max_new_tokens=12, temperature=1.5, seed=seed)]
        )[0].output_ids

    assert sample(1) == sample(1)
    assert sample(1) != sample(2)


def test_stop_sequence_truncates_text(engine: Engine, tiny_model: LocalModel) -> None:
    prompt = ids(tiny_model, "The quick brown fox")
    free = engine.run([GenerationRequest(prompt_ids=prompt, max_new_tokens=12, temperature=0.0)])[0]
    assert len(free.text) > 2
    stop = free.text[2:4]
    cut = engine.run(
        [GenerationRequest(prompt_ids=prompt, max_new_tokens=12, temperature=0.0, stop=[stop])]
    )[0]
    assert cut.finish_reason == "stop"
    assert cut.text == free.text[: free.text.find(stop)]


def test_end_of_sequence_token_stops_a_row(
    engine: Engine, tiny_model: LocalModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.gateway.backends import _engine

    eos = tiny_model.tokenizer.eos_token_id
    chosen = iter([5, 6, eos, 7, 8])
    monkeypatch.setattr(
        _engine.Engine,
        "_choose_rows",
        lambda _self, logits, *_rest: [next(chosen) for _ in range(len(logits))],
    )
    long_prompt = ids(tiny_model, "The quick brown fox")
    result, other = engine.run(
        [
            GenerationRequest(prompt_ids=ids(tiny_model, "Hi"), max_new_tokens=10, temperature=0.0),
            GenerationRequest(prompt_ids=long_prompt, max_new_tokens=2, temperature=0.0),
        ]
    )
    # rows draw from the same scripted sequence in turn: row 0 gets 5, row 1 gets 6, row 0 gets eos
    assert result.finish_reason == "stop"
    assert result.output_ids == [5, eos]
    assert result.text == tiny_model.tokenizer.decode([5], skip_special_tokens=True)
    assert other.output_ids == [6, 7] and other.finish_reason == "length"


def test_requests_admitted_mid_batch_get_the_same_answers(
    engine: Engine, tiny_model: LocalModel
) -> None:
    first = [
        GenerationRequest(
            prompt_ids=ids(tiny_model, "Once upon a time there was"),
            max_new_tokens=12,
            temperature=0.0,
        ),
        GenerationRequest(prompt_ids=ids(tiny_model, "Hi"), max_new_tokens=3, temperature=0.0),
    ]
    late = [
        GenerationRequest(
            prompt_ids=ids(tiny_model, "The quick brown fox jumps over"),
            max_new_tokens=8,
            temperature=0.0,
            logprobs=2,
        ),
        GenerationRequest(
            prompt_ids=ids(tiny_model, "Answer:"),
            max_new_tokens=1,
            temperature=0.0,
            prompt_logprobs=1,
        ),
    ]
    calls: list[int] = []

    def admit(active: int, can_join: object) -> list[GenerationRequest]:
        calls.append(active)
        return late if len(calls) == 2 else []  # join at the second decoding step

    done: list[int] = []
    results = engine.run(first, lambda i, _r: done.append(i), admit)
    assert len(results) == 4 and sorted(done) == [0, 1, 2, 3]
    for request, result in zip(first + late, results, strict=True):
        alone = engine.run([request])[0]
        assert result.output_ids == alone.output_ids
        assert result.text == alone.text
        if request.logprobs is not None:
            assert result.output_logprobs is not None and alone.output_logprobs is not None
            for a, b in zip(result.output_logprobs, alone.output_logprobs, strict=True):
                assert a.logprob == pytest.approx(b.logprob, abs=1e-4)
    assert results[3].prompt_logprobs is not None
