"""The gateway's HTTP surface: OpenAI-compatible and white-box routes behind scoped,
metered, logged bearer tokens."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from assay import __version__
from assay.gateway._errors import (
    GatewayError,
    bad_request,
    forbidden,
    install_error_handlers,
    unauthorized,
)
from assay.gateway._log import RequestLog, commitment
from assay.gateway._metering import Meter, RateLimiter
from assay.gateway._metrics import GatewayMetrics
from assay.gateway._middleware import BodySizeLimit
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
from assay.gateway.whitebox._protocol import (
    ActivationsRequest,
    ActivationsResponse,
    FineTuneJob,
    FineTuneJobList,
    FineTuneRequest,
    GradientRequest,
    GradientResponse,
    InterventionGenerateRequest,
    InterventionGenerateResponse,
    ProbeResponse,
    ProbeScoreRequest,
    ProbeScoreResponse,
    ProbeTrainRequest,
)

logger = logging.getLogger("assay.gateway")


class Backend(Protocol):
    """What the app needs from a model backend (black and grey operations)."""

    kind: str
    max_tier: Tier

    def model_cards(self, token: TokenInfo | None = None) -> list[ModelCard]: ...
    def serves(self, model: str) -> bool: ...
    def resolve(self, model: str, token: TokenInfo) -> str | None: ...
    async def chat(
        self, request: ChatCompletionRequest, meter: Meter, adapter: str | None = None
    ) -> ChatCompletionResponse: ...
    async def complete(
        self, request: CompletionRequest, meter: Meter, adapter: str | None = None
    ) -> CompletionResponse: ...
    def tokenize(self, request: TokenizeRequest) -> TokenizeResponse: ...
    def detokenize(self, request: DetokenizeRequest) -> DetokenizeResponse: ...
    async def startup(self) -> None: ...
    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class AppSettings:
    """HTTP-level limits and the metrics endpoint's guard."""

    max_request_bytes: int = 8 * 1024 * 1024
    metrics_token: str | None = None  # when None, /metrics answers loopback clients only


class WhoAmI(BaseModel):
    """What the presented token grants; lets a client pick the tier it can use."""

    token_id: str
    tier: Tier
    engagement: str
    models: list[str]
    expires_at: str | None
    max_requests: int | None
    max_tokens: int | None
    max_floats: int | None
    rate_per_minute: int | None
    gateway_version: str
    backend: str


class HookPoints(BaseModel):
    model: str
    num_layers: int
    hidden_size: int
    hook_points: list[str]


async def authenticate(request: Request) -> TokenInfo:
    """The bearer token's grant; 401 when it is missing, unknown, expired or revoked;
    429 when its rate limit is reached."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    store: TokenStore = request.app.state.tokens
    try:
        token = store.verify(value.strip())
    except TokenRejected as exc:
        raise unauthorized(str(exc)) from None
    limiter: RateLimiter = request.app.state.limiter
    limiter.check(token)
    return token


Auth = Annotated[TokenInfo, Depends(authenticate)]


@dataclass
class Guard:
    """A request in flight: its meter, the adapter it runs on, the headers it answers with."""

    meter: Meter
    adapter: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def create_app(
    backend: Backend,
    tokens: TokenStore,
    *,
    log: RequestLog | None = None,
    settings: AppSettings | None = None,
) -> FastAPI:
    """Build the FastAPI app serving ``backend`` to holders of tokens in ``tokens``.

    The request log lives in the same database as the tokens unless given.
    """
    settings = settings or AppSettings()
    request_log = log or RequestLog(tokens.engine)
    metrics = GatewayMetrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await backend.startup()
        yield
        await backend.aclose()

    app = FastAPI(
        title="assay gateway",
        version=__version__,
        description=(
            "OpenAI-compatible and white-box access to a model at an agreed tier (black, grey, "
            "white), metered per token and recorded in a hash-chained request log."
        ),
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.state.tokens = tokens
    app.state.limiter = RateLimiter()
    app.state.log = request_log
    app.state.metrics = metrics

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

    @asynccontextmanager
    async def guarded(
        request: Request, token: TokenInfo, route: str, model: str, guard: Guard, salt: bytes
    ) -> AsyncIterator[None]:
        """Meter, log and count one request, whatever its outcome."""
        started = time.monotonic()
        meter = guard.meter
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            body = None
        status = 200
        try:
            yield
        except GatewayError as exc:
            status = exc.status
            raise
        except Exception:
            status = 500
            logger.exception("unhandled error on %s", route)
            raise
        finally:
            meter.settle()
            entry = request_log.append(
                token_id=token.id,
                engagement=token.engagement,
                route=route,
                model=model,
                tier=token.tier.value,
                status=status,
                prompt_tokens=meter.prompt_tokens,
                completion_tokens=meter.completion_tokens,
                floats=meter.floats,
                commitment=commitment(salt, body),
            )
            metrics.observe(token.engagement, route, status, meter, time.monotonic() - started)
            guard.headers = {
                **meter.headers(),
                "x-assay-log-seq": str(entry.seq),
                "x-assay-commitment": entry.commitment,
                "x-assay-commitment-salt": salt.hex(),
            }

    async def run(
        request: Request,
        token: TokenInfo,
        route: str,
        model: str,
        required: Tier,
        what: str,
        call: Callable[[Guard], Awaitable[Any]],
        *,
        param: str | None = None,
    ) -> Any:
        """Check model and tier, then run ``call(guard)`` metered and logged."""
        salt = _salt(request)
        guard = Guard(meter=Meter(tokens, token))
        try:
            async with guarded(request, token, route, model, guard, salt):
                require_model(token, model)
                require_tier(token, required, what, param)
                guard.adapter = backend.resolve(model, token) if "@" in model else None
                result = await call(guard)
        except GatewayError as exc:
            exc.headers.update(guard.headers)
            raise
        if isinstance(result, StreamingResponse):
            result.headers.update(guard.headers)
            return result
        return JSONResponse(content=result.model_dump(mode="json"), headers=guard.headers)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics_route(request: Request) -> Any:
        _check_metrics_access(request, settings)
        return metrics.response()

    @app.get("/v1/models")
    async def list_models(token: Auth) -> ModelList:
        cards = [c for c in backend.model_cards(token) if token.allows_model(c.id)]
        return ModelList(data=cards)

    @app.get("/v1/assay/whoami")
    async def whoami(token: Auth) -> WhoAmI:
        return WhoAmI(
            token_id=token.id,
            tier=token.tier,
            engagement=token.engagement,
            models=list(token.models),
            expires_at=token.expires_at.isoformat() if token.expires_at else None,
            max_requests=token.max_requests,
            max_tokens=token.max_tokens,
            max_floats=token.max_floats,
            rate_per_minute=token.rate_per_minute,
            gateway_version=__version__,
            backend=backend.kind,
        )

    @app.post(
        "/v1/chat/completions",
        response_model=None,
        responses={200: {"model": ChatCompletionResponse}},
    )
    async def chat_completions(body: ChatCompletionRequest, request: Request, token: Auth) -> Any:
        required, what, param = Tier.BLACK, "chat completions", None
        if body.logprobs or body.top_logprobs is not None:
            required, what, param = Tier.GREY, "logprobs", "logprobs"
        if body.prompt_logprobs is not None:
            required, what, param = Tier.GREY, "prompt logprobs", "prompt_logprobs"

        async def call(guard: Guard) -> Any:
            response = await backend.chat(body, guard.meter, guard.adapter)
            if body.stream:
                return _stream(_chat_chunks(response, _include_usage(body)))
            return response

        return await run(
            request, token, "/v1/chat/completions", body.model, required, what, call, param=param
        )

    @app.post(
        "/v1/completions", response_model=None, responses={200: {"model": CompletionResponse}}
    )
    async def completions(body: CompletionRequest, request: Request, token: Auth) -> Any:
        required, what, param = Tier.BLACK, "completions", None
        if body.logprobs is not None:
            required, what, param = Tier.GREY, "logprobs", "logprobs"
        if body.prompt_logprobs is not None:
            required, what, param = Tier.GREY, "prompt logprobs", "prompt_logprobs"

        async def call(guard: Guard) -> Any:
            response = await backend.complete(body, guard.meter, guard.adapter)
            if body.stream:
                return _stream(_completion_chunks(response, _include_usage(body)))
            return response

        return await run(
            request, token, "/v1/completions", body.model, required, what, call, param=param
        )

    @app.post("/tokenize", response_model=None, responses={200: {"model": TokenizeResponse}})
    @app.post("/v1/tokenize", response_model=None, include_in_schema=False)
    async def tokenize(body: TokenizeRequest, request: Request, token: Auth) -> Any:
        async def call(guard: Guard) -> TokenizeResponse:
            result = backend.tokenize(body)
            guard.meter.reserve(tokens=result.count, floats=0)
            guard.meter.record(prompt_tokens=result.count)
            return result

        return await run(request, token, "/tokenize", body.model, Tier.GREY, "tokenization", call)

    @app.post("/detokenize", response_model=None, responses={200: {"model": DetokenizeResponse}})
    @app.post("/v1/detokenize", response_model=None, include_in_schema=False)
    async def detokenize(body: DetokenizeRequest, request: Request, token: Auth) -> Any:
        async def call(guard: Guard) -> DetokenizeResponse:
            guard.meter.reserve(tokens=len(body.tokens), floats=0)
            guard.meter.record(prompt_tokens=len(body.tokens))
            return backend.detokenize(body)

        return await run(
            request, token, "/detokenize", body.model, Tier.GREY, "detokenization", call
        )

    # ---- white box -----------------------------------------------------------------------
    # Only reached once require_tier(WHITE) passed, i.e. on a backend that can serve it.

    def local() -> Any:
        return backend

    @app.get("/v1/whitebox/hook_points")
    async def hook_points(model: str, token: Auth) -> HookPoints:
        require_model(token, model)
        require_tier(token, Tier.WHITE, "white-box operations")
        layout = local().engine.layout
        return HookPoints(
            model=model,
            num_layers=layout.num_layers,
            hidden_size=layout.hidden_size,
            hook_points=layout.points(),
        )

    @app.post(
        "/v1/whitebox/activations",
        response_model=None,
        responses={200: {"model": ActivationsResponse}},
    )
    async def activations(body: ActivationsRequest, request: Request, token: Auth) -> Any:
        async def call(guard: Guard) -> ActivationsResponse:
            result: ActivationsResponse = await local().activations(
                body, guard.meter, guard.adapter
            )
            return result

        return await run(
            request, token, "/v1/whitebox/activations", body.model, Tier.WHITE, "activations", call
        )

    @app.post(
        "/v1/whitebox/generate",
        response_model=None,
        responses={200: {"model": InterventionGenerateResponse}},
    )
    async def intervene(body: InterventionGenerateRequest, request: Request, token: Auth) -> Any:
        async def call(guard: Guard) -> InterventionGenerateResponse:
            result: InterventionGenerateResponse = await local().intervene(
                body, guard.meter, guard.adapter
            )
            return result

        return await run(
            request,
            token,
            "/v1/whitebox/generate",
            body.model,
            Tier.WHITE,
            "generation with interventions",
            call,
        )

    @app.post(
        "/v1/whitebox/gradients", response_model=None, responses={200: {"model": GradientResponse}}
    )
    async def gradients(body: GradientRequest, request: Request, token: Auth) -> Any:
        async def call(guard: Guard) -> GradientResponse:
            result: GradientResponse = await local().gradient(body, guard.meter, guard.adapter)
            return result

        return await run(
            request, token, "/v1/whitebox/gradients", body.model, Tier.WHITE, "gradients", call
        )

    @app.post("/v1/whitebox/probes", response_model=None, responses={200: {"model": ProbeResponse}})
    async def probes(body: ProbeTrainRequest, request: Request, token: Auth) -> Any:
        async def call(guard: Guard) -> ProbeResponse:
            result: ProbeResponse = await local().train_probe(
                body, guard.meter, token, guard.adapter
            )
            return result

        return await run(
            request, token, "/v1/whitebox/probes", body.model, Tier.WHITE, "probes", call
        )

    @app.post(
        "/v1/whitebox/probes/{probe_id}/score",
        response_model=None,
        responses={200: {"model": ProbeScoreResponse}},
    )
    async def probe_score(
        probe_id: str, body: ProbeScoreRequest, request: Request, token: Auth
    ) -> Any:
        model = next(iter(c.id for c in backend.model_cards()), "")

        async def call(guard: Guard) -> ProbeScoreResponse:
            result: ProbeScoreResponse = await local().score_probe(
                probe_id, body, guard.meter, token
            )
            return result

        return await run(
            request, token, "/v1/whitebox/probes/score", model, Tier.WHITE, "probes", call
        )

    @app.post("/v1/fine_tuning/jobs", response_model=None, responses={200: {"model": FineTuneJob}})
    async def create_job(body: FineTuneRequest, request: Request, token: Auth) -> Any:
        async def call(guard: Guard) -> FineTuneJob:
            result: FineTuneJob = await local().create_fine_tune(body, guard.meter, token)
            return result

        return await run(
            request, token, "/v1/fine_tuning/jobs", body.model, Tier.WHITE, "fine-tuning", call
        )

    @app.get("/v1/fine_tuning/jobs")
    async def list_jobs(token: Auth) -> FineTuneJobList:
        require_tier(token, Tier.WHITE, "fine-tuning")
        manager = getattr(backend, "fine_tuning", None)
        return FineTuneJobList(data=manager.list(token.engagement) if manager is not None else [])

    @app.get("/v1/fine_tuning/jobs/{job_id}")
    async def get_job(job_id: str, token: Auth) -> FineTuneJob:
        require_tier(token, Tier.WHITE, "fine-tuning")
        manager = getattr(backend, "fine_tuning", None)
        if manager is None:
            raise GatewayError(404, f"no fine-tuning job {job_id!r}", code="job_not_found")
        job: FineTuneJob = manager.get(job_id, token.engagement)
        return job

    return app


def _salt(request: Request) -> bytes:
    """The client's salt (``x-assay-salt``, hex) or a fresh random one."""
    supplied = request.headers.get("x-assay-salt")
    if supplied is None:
        return secrets.token_bytes(16)
    try:
        salt = bytes.fromhex(supplied)
    except ValueError:
        raise bad_request("x-assay-salt must be hex", param="x-assay-salt") from None
    if not 16 <= len(salt) <= 64:
        raise bad_request("x-assay-salt must be 16 to 64 bytes", param="x-assay-salt")
    return salt


def _check_metrics_access(request: Request, settings: AppSettings) -> None:
    if settings.metrics_token is not None:
        header = request.headers.get("authorization", "")
        if not secrets.compare_digest(header, f"Bearer {settings.metrics_token}"):
            raise unauthorized("the metrics endpoint needs the gateway's metrics token")
        return
    host = request.client.host if request.client else ""
    if host not in ("127.0.0.1", "::1", "localhost", "testclient"):
        raise forbidden(
            "metrics are served to loopback clients only (or set a metrics token)",
            code="metrics_forbidden",
        )


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
