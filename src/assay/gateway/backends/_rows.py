"""What one row of a batch asks for and what it gets back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from assay.gateway.whitebox._interventions import RowIntervention

FinishReason = Literal["stop", "length"]


class RowError(Exception):
    """One row of a batch cannot go on; only its own request fails, with this reason."""

    def __init__(self, message: str, code: str = "row_failed") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TokenLogprob:
    """One candidate token at a position and its log-probability."""

    token_id: int
    logprob: float


@dataclass(frozen=True)
class PositionLogprobs:
    """The token actually at a position, its log-probability, and the top alternatives."""

    token_id: int
    logprob: float
    top: tuple[TokenLogprob, ...] = ()


@dataclass
class GenerationRequest:
    """What one row of a batch asks for.

    ``logprobs`` / ``prompt_logprobs``: ``None`` for none; ``k >= 0`` for the chosen
    token's logprob plus the ``k`` most likely alternatives at each position.
    """

    prompt_ids: list[int]
    max_new_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: Sequence[str] = ()
    logprobs: int | None = None
    prompt_logprobs: int | None = None
    interventions: tuple[RowIntervention, ...] = ()
    adapter: str | None = None  # a LoRA adapter loaded on a peft-wrapped model


@dataclass
class GenerationResult:
    """Generated tokens and text, with the logprobs that were asked for."""

    prompt_ids: list[int]
    output_ids: list[int] = field(default_factory=list)
    text: str = ""
    finish_reason: FinishReason = "length"
    output_logprobs: list[PositionLogprobs] | None = None
    # entry 0 is None: the first prompt token has no context to be predicted from
    prompt_logprobs: list[PositionLogprobs | None] | None = None


def count_floats(result: GenerationResult) -> int:
    """Floats a result sends back: each logprob and each alternative counts."""
    count = sum(1 + len(p.top) for p in result.output_logprobs or [])
    count += sum(1 + len(p.top) for p in result.prompt_logprobs or [] if p is not None)
    return count


Admit = Callable[[int, Callable[["GenerationRequest"], bool]], list["GenerationRequest"]]
OnFail = Callable[[int, BaseException], None]
