"""The gateway's HTTP surface: OpenAI-compatible and white-box routes behind scoped,
metered, logged bearer tokens."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel

from assay import __version__
from assay.attest import LogError, SigningKey, leaf_hash, load_or_create_key
from assay.gateway._errors import (
    GatewayError,
    bad_request,
    forbidden,
    install_error_handlers,
    unauthorized,
)
from assay.gateway._log import RECEIPT_TYPE, RequestLog
from assay.gateway._metering import Meter, RateLimiter
from assay.gateway._metrics import GatewayMetrics
from assay.gateway._middleware import GatewayFront
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
    HookPoints,
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


class WhiteboxBackend(Backend, Protocol):
    """A backend that also serves the white-box operations (``max_tier`` is white)."""

    def hook_points(self) -> HookPoints: ...
    async def activations(
        self, request: ActivationsRequest, meter: Meter, adapter: str | None
    ) -> ActivationsResponse: ...
    async def intervene(
        self, request: InterventionGenerateRequest, meter: Meter, adapter: str | None
    ) -> InterventionGenerateResponse: ...
    async def gradient(
        self, request: GradientRequest, meter: Meter, adapter: str | None
    ) -> GradientResponse: ...
    async def train_probe(
        self, request: ProbeTrainRequest, meter: Meter, token: TokenInfo, adapter: str | None
    ) -> ProbeResponse: ...
    def probe_model(self, probe_id: str, token: TokenInfo) -> str: ...
    async def score_probe(
        self, probe_id: str, request: ProbeScoreRequest, meter: Meter, token: TokenInfo
    ) -> ProbeScoreResponse: ...
    async def create_fine_tune(
        self, request: FineTuneRequest, meter: Meter, token: TokenInfo
    ) -> FineTuneJob: ...
    def fine_tune_jobs(self, token: TokenInfo) -> list[FineTuneJob]: ...


@dataclass(frozen=True)
class AppSettings:
    """HTTP-level limits and the metrics endpoint's guard."""

    max_request_bytes: int = 8 * 1024 * 1024
    metrics_token: str | None = None  # /metrics needs it as a bearer token
    metrics_loopback: bool = False  # explicitly allow loopback clients without the token


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
    log_origin: str


class InclusionProof(BaseModel):
    """An entry's RFC 9162 inclusion proof in the request log at ``tree_size``."""

    leaf_index: int
    tree_size: int
    leaf_hash: str
    hashes: list[str]
    checkpoint: str


class ConsistencyProof(BaseModel):
    """RFC 9162 consistency proof between two sizes of the request log."""

    first: int
    second: int
    hashes: list[str]
    checkpoint: str


class ReceiptEntry(BaseModel):
    index: int
    leaf_hash: str


class LogReceipt(BaseModel):
    """A signed checkpoint and the leaf hashes of the caller's engagement's entries."""

    type: str = RECEIPT_TYPE
    checkpoint: str
    entries: list[ReceiptEntry]


async def authenticate(request: Request) -> TokenInfo:
    """The bearer token's grant; 401 when it is missing, unknown, expired or revoked;
    429 when its rate limit is reached. (The front middleware already verified a token
    it logged; it is not verified twice.)"""
    token: TokenInfo | None = getattr(request.state, "assay_token", None)
    if token is None:
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


def create_app(
    backend: Backend,
    tokens: TokenStore,
    *,
    log: RequestLog | None = None,
    settings: AppSettings | None = None,
    signing_key: SigningKey | None = None,
) -> FastAPI:
    """Build the FastAPI app serving ``backend`` to holders of tokens in ``tokens``.

    The request log lives in the same database as the tokens unless given; receipts are
    signed with ``signing_key`` (default: ``$ASSAY_HOME/keys/gateway.key``).
    """
    settings = settings or AppSettings()
    request_log = log or RequestLog(tokens.engine, signing_key or load_or_create_key("gateway"))
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
            "white), metered per token and recorded in a Merkle request log whose signed "
            "checkpoints every answer carries."
        ),
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(
        GatewayFront,
        max_bytes=settings.max_request_bytes,
        tokens=tokens,
        log=request_log,
        metrics=metrics,
    )
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
                f"model {model[:200]!r} is not served here (served: {served})",
                code="model_not_found",
                param="model",
            )
        if not token.allows_model(model):
            raise forbidden(
                f"this token is not scoped to model {model[:200]!r}",
                code="model_not_allowed",
                param="model",
            )

    def whitebox() -> WhiteboxBackend:
        """The backend as a white-box one; only called once require_tier(WHITE) passed,
        i.e. on a backend whose max_tier is white."""
        return backend  # type: ignore[return-value]

    async def run(
        request: Request,
        token: TokenInfo,
        model: str,
        required: Tier,
        what: str,
        call: Callable[[Meter, str | None], Awaitable[Any]],
        *,
        param: str | None = None,
    ) -> Any:
        """Check model and tier, then run ``call(meter, adapter)`` metered; the front
        middleware logs it and adds the receipt."""
        meter = Meter(tokens, token)
        request.state.assay_meter = meter
        try:
            require_model(token, model)
            require_tier(token, required, what, param)
            adapter = backend.resolve(model, token) if "@" in model else None
            result = await call(meter, adapter)
        except GatewayError:
            raise
        except Exception:
            logger.exception("unhandled error on %s", request.url.path)
            raise
        finally:
            meter.settle()
        if isinstance(result, StreamingResponse):
            return result
        return JSONResponse(content=result.model_dump(mode="json"))

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
            log_origin=request_log.origin,
        )

    # ---- the request log: checkpoints and proofs for any token holder -------------------

    @app.get("/v1/assay/log/checkpoint", response_class=PlainTextResponse)
    async def log_checkpoint(token: Auth) -> str:
        """The log's current checkpoint, a C2SP signed note."""
        return request_log.signed_checkpoint()

    @app.get("/v1/assay/log/proof")
    async def log_proof(
        token: Auth,
        index: Annotated[int, Query(ge=0, le=2**63 - 1)],
        tree_size: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    ) -> InclusionProof:
        """The inclusion proof of entry ``index`` in the tree of ``tree_size`` entries
        (default: now), with a checkpoint signed at that size."""
        try:
            size = tree_size or request_log.size
            hashes = request_log.tlog.inclusion_proof(index, size)
            leaf = request_log.tlog.entry(index)
            note = request_log.signed_checkpoint(size)
        except LogError as exc:
            raise bad_request(str(exc), param="index", code="not_in_log") from None
        return InclusionProof(
            leaf_index=index,
            tree_size=size,
            leaf_hash=leaf_hash(leaf).hex(),
            hashes=[h.hex() for h in hashes],
            checkpoint=note,
        )

    @app.get("/v1/assay/log/consistency")
    async def log_consistency(
        token: Auth,
        first: Annotated[int, Query(ge=0, le=2**63 - 1)],
        second: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    ) -> ConsistencyProof:
        """The consistency proof from size ``first`` to ``second`` (default: now)."""
        try:
            size = request_log.size if second is None else second
            hashes = request_log.tlog.consistency_proof(first, size)
            note = request_log.signed_checkpoint(size)
        except LogError as exc:
            raise bad_request(str(exc), param="first", code="not_in_log") from None
        return ConsistencyProof(
            first=first, second=size, hashes=[h.hex() for h in hashes], checkpoint=note
        )

    @app.get("/v1/assay/log/receipt")
    async def log_receipt(token: Auth) -> LogReceipt:
        """A signed checkpoint with the leaf hashes of every entry of this token's
        engagement: what a tester keeps to hold the developer to the log."""
        indices = [
            i for e in request_log.entries(token.engagement) for i in (e.index, e.outcome_index)
        ]
        receipt = request_log.receipt([i for i in indices if i is not None])
        return LogReceipt(
            checkpoint=receipt["checkpoint"],
            entries=[ReceiptEntry(**e) for e in receipt["entries"]],
        )

    # ---- OpenAI-compatible ---------------------------------------------------------------

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

        async def call(meter: Meter, adapter: str | None) -> Any:
            response = await backend.chat(body, meter, adapter)
            if body.stream:
                return _stream(_chat_chunks(response, _include_usage(body)))
            return response

        return await run(request, token, body.model, required, what, call, param=param)

    @app.post(
        "/v1/completions", response_model=None, responses={200: {"model": CompletionResponse}}
    )
    async def completions(body: CompletionRequest, request: Request, token: Auth) -> Any:
        required, what, param = Tier.BLACK, "completions", None
        if body.echo and body.has_token_id_prompt():
            # echoing a prompt given as token ids is detokenization, a grey-tier operation
            required, what, param = Tier.GREY, "echo of a token-id prompt", "echo"
        if body.logprobs is not None:
            required, what, param = Tier.GREY, "logprobs", "logprobs"
        if body.prompt_logprobs is not None:
            required, what, param = Tier.GREY, "prompt logprobs", "prompt_logprobs"

        async def call(meter: Meter, adapter: str | None) -> Any:
            response = await backend.complete(body, meter, adapter)
            if body.stream:
                return _stream(_completion_chunks(response, _include_usage(body)))
            return response

        return await run(request, token, body.model, required, what, call, param=param)

    @app.post("/tokenize", response_model=None, responses={200: {"model": TokenizeResponse}})
    @app.post("/v1/tokenize", response_model=None, include_in_schema=False)
    async def tokenize(body: TokenizeRequest, request: Request, token: Auth) -> Any:
        async def call(meter: Meter, _adapter: str | None) -> TokenizeResponse:
            result = backend.tokenize(body)
            meter.reserve(tokens=result.count, floats=0)
            meter.record(prompt_tokens=result.count)
            return result

        return await run(request, token, body.model, Tier.GREY, "tokenization", call)

    @app.post("/detokenize", response_model=None, responses={200: {"model": DetokenizeResponse}})
    @app.post("/v1/detokenize", response_model=None, include_in_schema=False)
    async def detokenize(body: DetokenizeRequest, request: Request, token: Auth) -> Any:
        async def call(meter: Meter, _adapter: str | None) -> DetokenizeResponse:
            meter.reserve(tokens=len(body.tokens), floats=0)
            meter.record(prompt_tokens=len(body.tokens))
            return backend.detokenize(body)

        return await run(request, token, body.model, Tier.GREY, "detokenization", call)

    # ---- white box -----------------------------------------------------------------------

    @app.get(
        "/v1/whitebox/hook_points", response_model=None, responses={200: {"model": HookPoints}}
    )
    async def hook_points(model: str, request: Request, token: Auth) -> Any:
        async def call(_meter: Meter, _adapter: str | None) -> HookPoints:
            return whitebox().hook_points().model_copy(update={"model": model})

        return await run(request, token, model, Tier.WHITE, "white-box operations", call)

    @app.post(
        "/v1/whitebox/activations",
        response_model=None,
        responses={200: {"model": ActivationsResponse}},
    )
    async def activations(body: ActivationsRequest, request: Request, token: Auth) -> Any:
        async def call(meter: Meter, adapter: str | None) -> ActivationsResponse:
            return await whitebox().activations(body, meter, adapter)

        return await run(request, token, body.model, Tier.WHITE, "activations", call)

    @app.post(
        "/v1/whitebox/generate",
        response_model=None,
        responses={200: {"model": InterventionGenerateResponse}},
    )
    async def intervene(body: InterventionGenerateRequest, request: Request, token: Auth) -> Any:
        async def call(meter: Meter, adapter: str | None) -> InterventionGenerateResponse:
            return await whitebox().intervene(body, meter, adapter)

        return await run(
            request, token, body.model, Tier.WHITE, "generation with interventions", call
        )

    @app.post(
        "/v1/whitebox/gradients", response_model=None, responses={200: {"model": GradientResponse}}
    )
    async def gradients(body: GradientRequest, request: Request, token: Auth) -> Any:
        async def call(meter: Meter, adapter: str | None) -> GradientResponse:
            return await whitebox().gradient(body, meter, adapter)

        return await run(request, token, body.model, Tier.WHITE, "gradients", call)

    @app.post("/v1/whitebox/probes", response_model=None, responses={200: {"model": ProbeResponse}})
    async def probes(body: ProbeTrainRequest, request: Request, token: Auth) -> Any:
        async def call(meter: Meter, adapter: str | None) -> ProbeResponse:
            return await whitebox().train_probe(body, meter, token, adapter)

        return await run(request, token, body.model, Tier.WHITE, "probes", call)

    @app.post(
        "/v1/whitebox/probes/{probe_id}/score",
        response_model=None,
        responses={200: {"model": ProbeScoreResponse}},
    )
    async def probe_score(
        probe_id: str, body: ProbeScoreRequest, request: Request, token: Auth
    ) -> Any:
        require_tier(token, Tier.WHITE, "probes")
        model = whitebox().probe_model(probe_id, token)

        async def call(meter: Meter, _adapter: str | None) -> ProbeScoreResponse:
            return await whitebox().score_probe(probe_id, body, meter, token)

        return await run(request, token, model, Tier.WHITE, "probes", call)

    @app.post("/v1/fine_tuning/jobs", response_model=None, responses={200: {"model": FineTuneJob}})
    async def create_job(body: FineTuneRequest, request: Request, token: Auth) -> Any:
        async def call(meter: Meter, _adapter: str | None) -> FineTuneJob:
            return await whitebox().create_fine_tune(body, meter, token)

        return await run(request, token, body.model, Tier.WHITE, "fine-tuning", call)

    def visible_jobs(token: TokenInfo) -> list[FineTuneJob]:
        """The engagement's jobs on models this token is scoped to."""
        require_tier(token, Tier.WHITE, "fine-tuning")
        return [j for j in whitebox().fine_tune_jobs(token) if token.allows_model(j.model)]

    @app.get("/v1/fine_tuning/jobs")
    async def list_jobs(token: Auth) -> FineTuneJobList:
        return FineTuneJobList(data=visible_jobs(token))

    @app.get("/v1/fine_tuning/jobs/{job_id}")
    async def get_job(job_id: str, token: Auth) -> FineTuneJob:
        for job in visible_jobs(token):
            if job.id == job_id:
                return job
        raise GatewayError(404, f"no fine-tuning job {job_id[:100]!r}", code="job_not_found")

    return app


def _check_metrics_access(request: Request, settings: AppSettings) -> None:
    """The metrics name every engagement: they need the metrics token, unless the
    deployment explicitly allowed loopback clients (``[metrics] allow_loopback``)."""
    if settings.metrics_token is not None:
        header = request.headers.get("authorization", "")
        if secrets.compare_digest(header.encode(), f"Bearer {settings.metrics_token}".encode()):
            return
        if not settings.metrics_loopback:
            raise unauthorized("the metrics endpoint needs the gateway's metrics token")
    if settings.metrics_loopback:
        host = request.client.host if request.client else ""
        if host in ("127.0.0.1", "::1", "testclient"):
            return
        raise forbidden(
            "metrics are served to loopback clients and holders of the metrics token",
            code="metrics_forbidden",
        )
    raise forbidden(
        "metrics need the gateway's metrics token: set [metrics] token_env in the configuration",
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
