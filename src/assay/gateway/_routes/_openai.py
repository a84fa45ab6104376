"""OpenAI-compatible routes: the models list, chat completions and completions.

The tier a request needs follows from its body: black for text in, text out; grey
for logprobs, prompt logprobs and echoing a prompt given as token ids (which is
detokenization).
"""

# No ``from __future__ import annotations``: FastAPI reads the dependencies' signatures.

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from assay.gateway._deps import Auth, BackendDep, Metered, Need, Scoped, respond, scoped
from assay.gateway._protocol import (
    ChatChoice,
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionChoice,
    CompletionRequest,
    CompletionResponse,
    ModelList,
)
from assay.tiers import Tier

router = APIRouter()


def chat_need(body: ChatCompletionRequest) -> Need:
    if body.prompt_logprobs is not None:
        return Need(Tier.GREY, "prompt logprobs", "prompt_logprobs")
    if body.logprobs or body.top_logprobs is not None:
        return Need(Tier.GREY, "logprobs", "logprobs")
    return Need(Tier.BLACK, "chat completions")


def completion_need(body: CompletionRequest) -> Need:
    if body.prompt_logprobs is not None:
        return Need(Tier.GREY, "prompt logprobs", "prompt_logprobs")
    if body.logprobs is not None:
        return Need(Tier.GREY, "logprobs", "logprobs")
    if body.echo and body.has_token_id_prompt():
        # echoing a prompt given as token ids is detokenization, a grey-tier operation
        return Need(Tier.GREY, "echo of a token-id prompt", "echo")
    return Need(Tier.BLACK, "completions")


ChatScope = Annotated[
    Scoped[ChatCompletionRequest], Depends(scoped(ChatCompletionRequest, chat_need))
]
CompletionScope = Annotated[
    Scoped[CompletionRequest], Depends(scoped(CompletionRequest, completion_need))
]


@router.get("/v1/models")
async def list_models(token: Auth, backend: BackendDep) -> ModelList:
    cards = [c for c in backend.model_cards(token) if token.allows_model(c.id)]
    return ModelList(data=cards)


@router.post(
    "/v1/chat/completions", response_model=None, responses={200: {"model": ChatCompletionResponse}}
)
async def chat_completions(scope: ChatScope, meter: Metered, backend: BackendDep) -> Any:
    body = scope.body
    response = await backend.chat(body, meter, scope.adapter)
    if body.stream:
        return _stream(_chat_chunks(response, _include_usage(body)))
    return respond(response)


@router.post("/v1/completions", response_model=None, responses={200: {"model": CompletionResponse}})
async def completions(scope: CompletionScope, meter: Metered, backend: BackendDep) -> Any:
    body = scope.body
    response = await backend.complete(body, meter, scope.adapter)
    if body.stream:
        return _stream(_completion_chunks(response, _include_usage(body)))
    return respond(response)


# ---- streaming ------------------------------------------------------------------
# Responses are computed whole (batched) and then replayed as server-sent events,
# which is all the streaming protocol promises a client.


def _include_usage(body: ChatCompletionRequest | CompletionRequest) -> bool:
    options = getattr(body, "stream_options", None)
    return isinstance(options, dict) and bool(options.get("include_usage"))


def _stream(chunks: list[dict[str, Any]]) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        for chunk in chunks:
            yield f"data: {json.dumps(chunk)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


def _chunks(
    response: ChatCompletionResponse | CompletionResponse,
    kind: str,
    include_usage: bool,
    pieces: Callable[[Any], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """One event per piece of each choice, then the usage when asked for."""
    base = {"id": response.id, "object": kind, "created": response.created, "model": response.model}
    chunks = [
        {**base, "choices": [piece]} for choice in response.choices for piece in pieces(choice)
    ]
    if include_usage:
        chunks.append({**base, "choices": [], "usage": response.usage.model_dump()})
    return chunks


def _chat_chunks(response: ChatCompletionResponse, include_usage: bool) -> list[dict[str, Any]]:
    def pieces(choice: ChatChoice) -> list[dict[str, Any]]:
        return [
            {
                "index": choice.index,
                "delta": {"role": "assistant", "content": choice.message.content},
                "logprobs": choice.logprobs.model_dump() if choice.logprobs else None,
                "finish_reason": None,
            },
            {
                "index": choice.index,
                "delta": {},
                "logprobs": None,
                "finish_reason": choice.finish_reason,
            },
        ]

    return _chunks(response, "chat.completion.chunk", include_usage, pieces)


def _completion_chunks(response: CompletionResponse, include_usage: bool) -> list[dict[str, Any]]:
    def pieces(choice: CompletionChoice) -> list[dict[str, Any]]:
        return [
            {
                "index": choice.index,
                "text": choice.text,
                "logprobs": choice.logprobs.model_dump() if choice.logprobs else None,
                "finish_reason": choice.finish_reason,
            }
        ]

    return _chunks(response, "text_completion", include_usage, pieces)
