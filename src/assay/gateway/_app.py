"""The gateway's HTTP surface: OpenAI-compatible routes behind scoped bearer tokens."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from assay import __version__
from assay.gateway._errors import GatewayError, forbidden, install_error_handlers, unauthorized
from assay.gateway._protocol import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionRequest,
    CompletionResponse,
    DetokenizeRequest,
    DetokenizeResponse,
    ModelCard,
    ModelList,
    TokenizeRequest,
    TokenizeResponse,
)
from assay.gateway._tiers import Tier
from assay.gateway._tokens import TokenInfo, TokenRejected, TokenStore

logger = logging.getLogger("assay.gateway")


class Backend(Protocol):
    """What the app needs from a model backend."""

    kind: str
    max_tier: Tier

    def model_cards(self) -> list[ModelCard]: ...
    def serves(self, model: str) -> bool: ...
    async def chat(self, request: ChatCompletionRequest) -> ChatCompletionResponse: ...
    async def complete(self, request: CompletionRequest) -> CompletionResponse: ...
    def tokenize(self, request: TokenizeRequest) -> TokenizeResponse: ...
    def detokenize(self, request: DetokenizeRequest) -> DetokenizeResponse: ...
    async def aclose(self) -> None: ...


class WhoAmI(BaseModel):
    """What the presented token grants; lets a client pick the tier it can use."""

    token_id: str
    tier: Tier
    engagement: str
    models: list[str]
    expires_at: str | None
    gateway_version: str
    backend: str


def authenticate(request: Request) -> TokenInfo:
    """The bearer token's grant; 401 when it is missing, unknown, expired or revoked."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    store: TokenStore = request.app.state.tokens
    try:
        return store.verify(value.strip())
    except TokenRejected as exc:
        raise unauthorized(str(exc)) from None


Auth = Annotated[TokenInfo, Depends(authenticate)]


def create_app(backend: Backend, tokens: TokenStore) -> FastAPI:
    """Build the FastAPI app serving ``backend`` to holders of tokens in ``tokens``."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await backend.aclose()

    app = FastAPI(
        title="assay gateway",
        version=__version__,
        description="OpenAI-compatible access to a model at an agreed tier (black, grey, white).",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.state.tokens = tokens

    def require_tier(token: TokenInfo, required: Tier, what: str, param: str | None = None) -> None:
        if not token.tier.allows(required):
            raise forbidden(
                f"{what} requires {required.value}-tier access; this token is {token.tier.value}-tier",
                param=param,
            )
        if not backend.max_tier.allows(required):
            raise forbidden(
                f"{what} is not available from this gateway's {backend.kind} backend",
                code="not_supported_by_backend",
                param=param,
            )

    def require_model(token: TokenInfo, model: str) -> None:
        if not backend.serves(model):
            served = ", ".join(c.id for c in backend.model_cards())
            raise GatewayError(
                404,
                f"model {model!r} is not served here (served: {served})",
                code="model_not_found",
                param="model",
            )
        if not token.allows_model(model):
            raise forbidden(
                f"this token is not scoped to model {model!r}",
                code="model_not_allowed",
                param="model",
            )

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def list_models(token: Auth) -> ModelList:
        cards = [c for c in backend.model_cards() if token.allows_model(c.id)]
        return ModelList(data=cards)

    @app.get("/v1/assay/whoami")
    async def whoami(token: Auth) -> WhoAmI:
        return WhoAmI(
            token_id=token.id,
            tier=token.tier,
            engagement=token.engagement,
            models=list(token.models),
            expires_at=token.expires_at.isoformat() if token.expires_at else None,
            gateway_version=__version__,
            backend=backend.kind,
        )

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(
        body: ChatCompletionRequest, token: Auth
    ) -> ChatCompletionResponse | StreamingResponse:
        require_model(token, body.model)
        if body.logprobs or body.top_logprobs is not None:
            require_tier(token, Tier.GREY, "logprobs", "logprobs")
        if body.prompt_logprobs is not None:
            require_tier(token, Tier.GREY, "prompt logprobs", "prompt_logprobs")
        response = await backend.chat(body)
        if body.stream:
            return _stream(_chat_chunks(response, _include_usage(body)))
        return response

    @app.post("/v1/completions", response_model=None)
    async def completions(
        body: CompletionRequest, token: Auth
    ) -> CompletionResponse | StreamingResponse:
        require_model(token, body.model)
        if body.logprobs is not None:
            require_tier(token, Tier.GREY, "logprobs", "logprobs")
        if body.prompt_logprobs is not None:
            require_tier(token, Tier.GREY, "prompt logprobs", "prompt_logprobs")
        response = await backend.complete(body)
        if body.stream:
            return _stream(_completion_chunks(response, _include_usage(body)))
        return response

    @app.post("/tokenize")
    @app.post("/v1/tokenize", include_in_schema=False)
    async def tokenize(body: TokenizeRequest, token: Auth) -> TokenizeResponse:
        require_model(token, body.model)
        require_tier(token, Tier.GREY, "tokenization")
        return backend.tokenize(body)

    @app.post("/detokenize")
    @app.post("/v1/detokenize", include_in_schema=False)
    async def detokenize(body: DetokenizeRequest, token: Auth) -> DetokenizeResponse:
        require_model(token, body.model)
        require_tier(token, Tier.GREY, "detokenization")
        return backend.detokenize(body)

    return app


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


def _chat_chunks(response: ChatCompletionResponse, include_usage: bool) -> list[dict[str, Any]]:
    base = {
        "id": response.id,
        "object": "chat.completion.chunk",
        "created": response.created,
        "model": response.model,
    }
    chunks: list[dict[str, Any]] = []
    for choice in response.choices:
        logprobs = choice.logprobs.model_dump() if choice.logprobs else None
        delta = {"role": "assistant", "content": choice.message.content}
        chunks.append(
            {
                **base,
                "choices": [
                    {
                        "index": choice.index,
                        "delta": delta,
                        "logprobs": logprobs,
                        "finish_reason": None,
                    }
                ],
            }
        )
        chunks.append(
            {
                **base,
                "choices": [
                    {
                        "index": choice.index,
                        "delta": {},
                        "logprobs": None,
                        "finish_reason": choice.finish_reason,
                    }
                ],
            }
        )
    if include_usage:
        chunks.append({**base, "choices": [], "usage": response.usage.model_dump()})
    return chunks


def _completion_chunks(response: CompletionResponse, include_usage: bool) -> list[dict[str, Any]]:
    base = {
        "id": response.id,
        "object": "text_completion",
        "created": response.created,
        "model": response.model,
    }
    chunks: list[dict[str, Any]] = []
    for choice in response.choices:
        logprobs = choice.logprobs.model_dump() if choice.logprobs else None
        chunks.append(
            {
                **base,
                "choices": [
                    {
                        "index": choice.index,
                        "text": choice.text,
                        "logprobs": logprobs,
                        "finish_reason": choice.finish_reason,
                    }
                ],
            }
        )
    if include_usage:
        chunks.append({**base, "choices": [], "usage": response.usage.model_dump()})
    return chunks
