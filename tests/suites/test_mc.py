"""Multiple-choice prompt, letter parsing and letter-logprob extraction."""

from __future__ import annotations

import math

import pytest
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessageAssistant,
    Logprob,
    Logprobs,
    ModelOutput,
    TopLogprob,
)

from assay.suites._mc import completion_prompt, letter_logprobs, parse_letter


def test_completion_prompt_is_lm_evals_wmdp_format() -> None:
    prompt = completion_prompt(" What is 2+2? ", ["3", "4", "5", "6"], "biology")
    assert prompt == (
        "The following are multiple choice questions (with answers) about biology.\n\n"
        "What is 2+2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:"
    )


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("B", "B"),
        (" C.", "C"),
        ("(D) because", "D"),
        ("The answer is A.", "A"),
        ("Answer: B", "B"),
        ("answer is a", None),
        ("I think option C is right", "C"),
        ("**B**", "B"),
        ("I am not sure.", None),
        ("A good question. The correct choice is D", "D"),
        ("", None),
    ],
)
def test_parse_letter(text: str, letter: str | None) -> None:
    assert parse_letter(text) == letter


def output_with(first: str, top: dict[str, float]) -> ModelOutput:
    entry = Logprob(
        token=first,
        logprob=top[first],
        top_logprobs=[TopLogprob(token=t, logprob=v) for t, v in top.items()],
    )
    choice = ChatCompletionChoice(
        message=ChatMessageAssistant(content=first), logprobs=Logprobs(content=[entry])
    )
    return ModelOutput(model="m", choices=[choice])


def test_letter_logprobs_exact_space_counts_only_space_letter_tokens() -> None:
    out = output_with(" A", {" A": -1.0, " B": -2.0, "C": -0.5, " The": -0.1})
    assert letter_logprobs(out, exact_space=True) == {"A": -1.0, "B": -2.0}


def test_letter_logprobs_chat_mode_merges_spellings() -> None:
    out = output_with("A", {"A": -1.0, " A": -1.0, "B": -3.0})
    scores = letter_logprobs(out, exact_space=False)
    assert scores["A"] == pytest.approx(-1.0 + math.log(2))
    assert scores["B"] == -3.0 and "C" not in scores


def test_letter_logprobs_without_logprobs_is_empty() -> None:
    out = ModelOutput(
        model="m", choices=[ChatCompletionChoice(message=ChatMessageAssistant(content="A"))]
    )
    assert letter_logprobs(out, exact_space=True) == {}
