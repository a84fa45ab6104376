"""The helpers every multiple-choice technique shares."""

from __future__ import annotations

from assay.techniques._common import letter_from_logprobs


def test_the_letter_after_a_space_wins_over_a_bare_letter() -> None:
    # both spellings among the top logprobs: lm-eval scores " B", whatever order they come in
    top = {" B": -0.02, " A": -4.9, "B": -10.5}
    assert letter_from_logprobs(top, " B") == "B"
    assert letter_from_logprobs(dict(reversed(top.items())), " B") == "B"
    assert letter_from_logprobs({" C": -3.0, " D": -0.5, "D": -0.1, " M": -0.01}, "") == "D"


def test_without_a_letter_token_the_generated_text_decides() -> None:
    assert letter_from_logprobs({"The": -0.1, "B": -0.2}, "The answer is C.") == "C"
    assert letter_from_logprobs({}, "no idea") is None
