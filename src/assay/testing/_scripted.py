"""Reference targets: scripted models with known behaviour behind the real gateway.

A :class:`ScriptedBackend` answers chat and completion requests from Python
functions instead of a neural network, so a suite can be checked against targets
whose flaw (or absence of one) is known exactly: a target that always complies
must be flagged, one that always refuses must not, an oracle must score 100%.
They speak the same OpenAI protocol through the same gateway (tiers, tokens), so
what passes here exercises the real path.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Literal

from assay.gateway._errors import GatewayError, bad_request
from assay.gateway._metering import Meter
from assay.gateway._protocol import (
    AssistantMessage,
    ChatChoice,
    ChatChoiceLogprobs,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatMessage,
    ChatTokenLogprob,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
    CompletionResponse,
    DetokenizeRequest,
    DetokenizeResponse,
    ModelCard,
    TokenizeRequest,
    TokenizeResponse,
    TopLogprob,
    Usage,
)
from assay.gateway._tokens import TokenInfo
from assay.tiers import Tier

Reply = Callable[[Sequence[ChatMessage]], str]
NextToken = Callable[[str], dict[str, float]]


def _pieces(text: str) -> list[str]:
    """Split text into whitespace-led pieces, a stand-in for tokens."""
    pieces: list[str] = []
    current = ""
    for ch in text:
        if ch.isspace() and current.strip():
            pieces.append(current)
            current = ch
        else:
            current += ch
    if current:
        pieces.append(current)
    return pieces


def _normalised(scores: dict[str, float]) -> dict[str, float]:
    """Turn raw scores into logprobs that sum to one."""
    top = max(scores.values())
    total = sum(math.exp(v - top) for v in scores.values())
    return {k: v - top - math.log(total) for k, v in scores.items()}


class ScriptedBackend:
    """A gateway backend whose replies come from ``reply`` (chat) and whose next-token
    distributions come from ``next_token`` (completions with logprobs)."""

    kind = "scripted"
    max_tier = Tier.GREY

    def __init__(
        self, name: str, reply: Reply, next_token: NextToken | None = None, *, logprobs: bool = True
    ) -> None:
        self.name = name
        self.reply = reply
        self.next_token = next_token
        self.logprobs = logprobs  # False: ignore logprob requests, as some APIs silently do
        self.requests: list[str] = []

    def model_cards(self, token: TokenInfo | None = None) -> list[ModelCard]:
        return [ModelCard(id=self.name, created=0, max_model_len=8192)]

    def serves(self, model: str) -> bool:
        return model == self.name

    def resolve(self, model: str, token: TokenInfo) -> str | None:
        if "@" in model:
            raise GatewayError(
                404, f"model {model!r} is not served here", code="model_not_found", param="model"
            )
        return None

    async def startup(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def chat(
        self, request: ChatCompletionRequest, meter: Meter, adapter: str | None = None
    ) -> ChatCompletionResponse:
        self.requests.append("chat")
        meter.reserve(tokens=sum(len(_pieces(m.text())) for m in request.messages) + 1024, floats=0)
        wants_logprobs = self.logprobs and (request.logprobs or request.top_logprobs is not None)
        if (
            self.next_token is not None
            and wants_logprobs
            and (request.max_tokens or request.max_completion_tokens) == 1
        ):
            # a one-token answer scored by its distribution (e.g. yes/no after an answer prefix)
            distribution = _normalised(
                self.next_token("\n".join(m.text() for m in request.messages))
            )
            ranked = sorted(distribution.items(), key=lambda kv: -kv[1])
            best, best_logprob = ranked[0]
            top = [TopLogprob(token=t, logprob=v) for t, v in ranked[: request.top_logprobs or 0]]
            choice_logprobs = ChatChoiceLogprobs(
                content=[ChatTokenLogprob(token=best, logprob=best_logprob, top_logprobs=top)]
            )
            meter.record(
                prompt_tokens=sum(len(_pieces(m.text())) for m in request.messages),
                completion_tokens=1,
                floats=1 + len(top),
            )
            usage = Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2)
            return self._chat_response(best, "length", choice_logprobs, usage)
        text = self.reply(request.messages)
        if request.max_tokens or request.max_completion_tokens:
            limit = request.max_completion_tokens or request.max_tokens or 0
            text = "".join(_pieces(text)[:limit])
        logprobs = None
        if wants_logprobs:
            content = [
                ChatTokenLogprob(
                    token=p,
                    logprob=-0.01,
                    bytes=list(p.encode()),
                    top_logprobs=[TopLogprob(token=p, logprob=-0.01)][: request.top_logprobs or 0],
                )
                for p in _pieces(text)
            ]
            logprobs = ChatChoiceLogprobs(content=content)
        prompt_tokens = sum(len(_pieces(m.text())) for m in request.messages)
        completion_tokens = len(_pieces(text))
        meter.record(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        usage = Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        return self._chat_response(text, "stop", logprobs, usage)

    def _chat_response(
        self,
        text: str,
        finish_reason: Literal["stop", "length"],
        logprobs: ChatChoiceLogprobs | None,
        usage: Usage,
    ) -> ChatCompletionResponse:
        return ChatCompletionResponse(
            id=f"chatcmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model=self.name,
            choices=[
                ChatChoice(
                    index=0,
                    message=AssistantMessage(content=text),
                    finish_reason=finish_reason,
                    logprobs=logprobs,
                )
            ],
            usage=usage,
        )

    async def complete(
        self, request: CompletionRequest, meter: Meter, adapter: str | None = None
    ) -> CompletionResponse:
        self.requests.append("completion")
        if not isinstance(request.prompt, str):
            raise bad_request("scripted targets take string prompts only", param="prompt")
        prompt = request.prompt
        meter.reserve(tokens=len(_pieces(prompt)) + 1024, floats=21)
        logprobs = None
        if self.next_token is not None and request.max_tokens >= 1:
            distribution = _normalised(self.next_token(prompt))
            best = max(distribution, key=lambda k: distribution[k])
            text = best
            if self.logprobs and request.logprobs is not None:
                ranked = sorted(distribution.items(), key=lambda kv: -kv[1])[
                    : max(request.logprobs, 1)
                ]
                logprobs = CompletionLogprobs(
                    tokens=[best],
                    token_logprobs=[distribution[best]],
                    top_logprobs=[dict(ranked)],
                    text_offset=[0],
                )
        else:
            text = self.reply([ChatMessage(role="user", content=prompt)])
            text = "".join(_pieces(text)[: request.max_tokens])
        usage = Usage(
            prompt_tokens=len(_pieces(prompt)),
            completion_tokens=1,
            total_tokens=len(_pieces(prompt)) + 1,
        )
        return CompletionResponse(
            id=f"cmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model=self.name,
            choices=[
                CompletionChoice(index=0, text=text, finish_reason="length", logprobs=logprobs)
            ],
            usage=usage,
        )

    def tokenize(self, request: TokenizeRequest) -> TokenizeResponse:
        pieces = _pieces(request.prompt or "")
        return TokenizeResponse(
            tokens=list(range(len(pieces))),
            count=len(pieces),
            max_model_len=8192,
            token_strs=pieces,
        )

    def detokenize(self, request: DetokenizeRequest) -> DetokenizeResponse:
        raise bad_request("scripted targets cannot detokenize")
