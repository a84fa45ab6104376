"""The upstream backend: the gateway in front of another OpenAI-compatible server.

For a model served by vLLM, a lab's internal API or a public API. Black and grey
tiers only (the weights are elsewhere). The tester's token is never forwarded:
the gateway authenticates upstream with the developer's own key, and testers never
see it. Quotas are reserved on an upper bound (prompt bytes plus maximum new
tokens) and settled on the usage the upstream reports.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from assay.gateway._errors import GatewayError, bad_request
from assay.gateway._metering import Meter
from assay.gateway._protocol import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionRequest,
    CompletionResponse,
    DetokenizeRequest,
    DetokenizeResponse,
    ModelCard,
    TokenizeRequest,
    TokenizeResponse,
)
from assay.gateway._tokens import TokenInfo
from assay.tiers import Tier

_TEMPLATE_OVERHEAD = 32  # tokens a chat template may add per message
_DEFAULT_MAX_TOKENS = 512


class UpstreamBackend:
    """Forwards black- and grey-tier requests to an OpenAI-compatible server."""

    kind = "upstream"
    max_tier = Tier.GREY

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        models: list[str] | None = None,
        timeout_s: float = 600.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport
        )
        self.models = list(models or [])
        self._created = int(time.time())

    async def startup(self) -> None:
        if self.models:
            return
        try:
            response = await self._client.get("/models")
            response.raise_for_status()
            self.models = [
                m["id"]
                for m in response.json().get("data", [])
                if isinstance(m, dict) and "id" in m
            ]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise RuntimeError(f"upstream {self.base_url} did not list its models: {exc}") from exc

    async def aclose(self) -> None:
        await self._client.aclose()

    def model_cards(self, token: TokenInfo | None = None) -> list[ModelCard]:
        return [ModelCard(id=m, created=self._created) for m in self.models]

    def serves(self, model: str) -> bool:
        return model in self.models

    def resolve(self, model: str, token: TokenInfo) -> str | None:
        return None

    async def chat(
        self, request: ChatCompletionRequest, meter: Meter, adapter: str | None = None
    ) -> ChatCompletionResponse:
        max_new = request.max_completion_tokens or request.max_tokens or _DEFAULT_MAX_TOKENS
        prompt_bound = sum(len(m.text().encode()) + _TEMPLATE_OVERHEAD for m in request.messages)
        k = request.top_logprobs or 0
        floats = (
            request.n * max_new * (1 + k)
            if (request.logprobs or request.top_logprobs is not None)
            else 0
        )
        if request.prompt_logprobs is not None:
            floats += prompt_bound * (1 + request.prompt_logprobs)
        meter.reserve(tokens=prompt_bound + request.n * max_new, floats=floats)
        body = request.model_dump(exclude_unset=True)
        body.update(stream=False, max_tokens=max_new)
        body.pop("max_completion_tokens", None)
        body.pop("stream_options", None)
        data = await self._post("/chat/completions", body)
        response = ChatCompletionResponse.model_validate(data)
        used_floats = sum(
            1 + len(t.top_logprobs)
            for c in response.choices
            if c.logprobs
            for t in c.logprobs.content or []
        )
        meter.record(
            prompt_tokens=response.usage.prompt_tokens,
            completion_tokens=response.usage.completion_tokens,
            floats=used_floats,
        )
        return response

    async def complete(
        self, request: CompletionRequest, meter: Meter, adapter: str | None = None
    ) -> CompletionResponse:
        prompts = request.prompt if isinstance(request.prompt, list) else [request.prompt]
        prompt_bound = sum(
            len(p.encode()) if isinstance(p, str) else (len(p) if isinstance(p, list) else 1)
            for p in prompts
        )
        rows = len(prompts) * request.n
        k = request.logprobs or 0
        floats = rows * request.max_tokens * (1 + k) if request.logprobs is not None else 0
        if (request.echo and request.logprobs is not None) or request.prompt_logprobs is not None:
            floats += request.n * prompt_bound * (1 + max(k, request.prompt_logprobs or 0))
        meter.reserve(tokens=prompt_bound * request.n + rows * request.max_tokens, floats=floats)
        body = request.model_dump(exclude_unset=True)
        body.update(stream=False)
        body.pop("stream_options", None)
        data = await self._post("/completions", body)
        response = CompletionResponse.model_validate(data)
        used_floats = 0
        for choice in response.choices:
            if choice.logprobs is not None:
                used_floats += sum(1 + len(t or {}) for t in choice.logprobs.top_logprobs)
        meter.record(
            prompt_tokens=response.usage.prompt_tokens,
            completion_tokens=response.usage.completion_tokens,
            floats=used_floats,
        )
        return response

    def tokenize(self, request: TokenizeRequest) -> TokenizeResponse:
        raise bad_request(
            "tokenization is not available through an upstream backend",
            code="not_supported_by_backend",
        )

    def detokenize(self, request: DetokenizeRequest) -> DetokenizeResponse:
        raise bad_request(
            "detokenization is not available through an upstream backend",
            code="not_supported_by_backend",
        )

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise GatewayError(
                502,
                f"the upstream model server is unreachable ({type(exc).__name__})",
                type="server_error",
                code="upstream_unreachable",
            ) from None
        if response.status_code >= 500:
            raise GatewayError(
                502,
                f"the upstream model server failed ({response.status_code})",
                type="server_error",
                code="upstream_error",
            )
        try:
            data = response.json()
        except json.JSONDecodeError:
            raise GatewayError(
                502,
                "the upstream model server sent invalid JSON",
                type="server_error",
                code="upstream_error",
            ) from None
        if response.status_code >= 400:
            # pass the upstream's reason through, never its credentials or headers
            message = (
                data.get("error", {}).get("message")
                if isinstance(data.get("error"), dict)
                else None
            )
            raise GatewayError(
                response.status_code,
                f"upstream: {message or response.reason_phrase}",
                code="upstream_rejected",
            )
        if not isinstance(data, dict):
            raise GatewayError(
                502,
                "the upstream model server sent an unexpected body",
                type="server_error",
                code="upstream_error",
            )
        return data
