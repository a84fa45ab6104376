"""The FastAPI dependencies that routes declare instead of checking by hand: the bearer
token, the tier and model scope a request needs, metering, and the backend families.

Checks run in this order on every route, before any work: the token (401, and 429
for its rate limit), the body (422), the model (404 when not served here, 403 when
the token is not scoped to it), the tier (403), then the ``MODEL@SUFFIX`` adapter.
The front middleware has already logged the request; metering settles the quota
reservation after the route, whatever happened, and logs crashes.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at run time,
# and scoped() builds a dependency around the body type it is given.

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from assay.gateway._backend import Backend, FineTuningBackend, WhiteboxBackend
from assay.gateway._errors import GatewayError, forbidden, unauthorized
from assay.gateway._metering import Meter, RateLimiter
from assay.gateway._tokens import TokenInfo, TokenRejected, TokenStore
from assay.tiers import Tier

logger = logging.getLogger("assay.gateway")

B = TypeVar("B", bound=BaseModel)
M = TypeVar("M")


@dataclass(frozen=True)
class Need:
    """The tier an operation needs; ``what`` and ``param`` name it in the refusal."""

    tier: Tier
    what: str
    param: str | None = None


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
    if token.rate_per_minute is not None:  # a database update: off the event loop
        limiter: RateLimiter = request.app.state.limiter
        await run_in_threadpool(limiter.check, token)
    return token


Auth = Annotated[TokenInfo, Depends(authenticate)]


def get_backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


BackendDep = Annotated[Backend, Depends(get_backend)]


def check_model(backend: Backend, token: TokenInfo, model: str) -> None:
    """404 when ``model`` is not served here, 403 when the token is not scoped to it."""
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


def check_tier(backend: Backend, token: TokenInfo, need: Need) -> None:
    """403 when the token's tier, or the backend, does not reach ``need.tier``."""
    if not token.tier.allows(need.tier):
        raise forbidden(
            f"{need.what} requires {need.tier.value}-tier access; "
            f"this token is {token.tier.value}-tier",
            param=need.param,
        )
    if not backend.max_tier.allows(need.tier):
        raise forbidden(
            f"{need.what} is not available from this gateway's {backend.kind} backend",
            code="not_supported_by_backend",
            param=need.param,
        )


@dataclass(frozen=True)
class Scoped(Generic[M]):
    """A request the token may make: its body, the token, and the adapter behind a
    ``MODEL@SUFFIX`` model (``None``: the base model)."""

    body: M
    token: TokenInfo
    adapter: str | None


def _authorize(backend: Backend, token: TokenInfo, model: str, need: Need) -> str | None:
    check_model(backend, token, model)
    check_tier(backend, token, need)
    return backend.resolve(model, token) if "@" in model else None


def scoped(body_type: type[B], need: Need | Callable[[B], Need]) -> Callable[..., Any]:
    """A dependency giving the validated body of ``body_type`` (its ``model`` field
    names the model) once the token may use that model at the tier the body needs."""

    async def dependency(body: body_type, token: Auth, backend: BackendDep) -> Scoped[B]:  # type: ignore[valid-type]
        wanted = need(body) if callable(need) else need
        adapter = _authorize(backend, token, body.model, wanted)  # type: ignore[attr-defined]
        return Scoped(body, token, adapter)

    return dependency


def scoped_query(need: Need) -> Callable[..., Any]:
    """A dependency giving the ``model`` query parameter once the token may use that
    model at ``need``'s tier."""

    async def dependency(model: str, token: Auth, backend: BackendDep) -> Scoped[str]:
        return Scoped(model, token, _authorize(backend, token, model, need))

    return dependency


def tier(need: Need) -> Callable[..., Any]:
    """A dependency giving the token once its tier (and the backend's) reaches ``need``."""

    async def dependency(token: Auth, backend: BackendDep) -> TokenInfo:
        check_tier(backend, token, need)
        return token

    return dependency


async def metered(request: Request, token: Auth) -> AsyncIterator[Meter]:
    """The request's meter: backends reserve and record usage on it; it is settled
    after the route (whatever the outcome), before the answer and its usage headers."""
    meter = Meter(request.app.state.tokens, token)
    request.state.assay_meter = meter
    try:
        yield meter
    except GatewayError:
        raise
    except Exception:
        logger.exception("unhandled error on %s", request.url.path)
        raise
    finally:
        meter.settle()


Metered = Annotated[Meter, Depends(metered, scope="function")]


def get_whitebox(backend: BackendDep) -> WhiteboxBackend:
    if not isinstance(backend, WhiteboxBackend):
        raise forbidden(
            f"white-box operations are not available from this gateway's {backend.kind} backend",
            code="not_supported_by_backend",
        )
    return backend


def get_fine_tuning(backend: BackendDep) -> FineTuningBackend:
    if not isinstance(backend, FineTuningBackend):
        raise forbidden(
            f"fine-tuning is not available from this gateway's {backend.kind} backend",
            code="not_supported_by_backend",
        )
    return backend


WhiteboxDep = Annotated[WhiteboxBackend, Depends(get_whitebox)]
FineTuningDep = Annotated[FineTuningBackend, Depends(get_fine_tuning)]


def respond(result: BaseModel | StreamingResponse) -> JSONResponse | StreamingResponse:
    """The answer as JSON (a streaming answer as it is)."""
    if isinstance(result, StreamingResponse):
        return result
    return JSONResponse(content=result.model_dump(mode="json"))
