"""The gateway's HTTP surface: OpenAI-compatible and white-box routes behind scoped,
metered, logged bearer tokens.

The app is the front middleware (body cap, request log, receipts) around the routers
of :mod:`assay.gateway._routes`, one per family; each route declares what it needs
(token, tier, model scope, metering) as dependencies from :mod:`assay.gateway._deps`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from assay import __version__
from assay.attest import SigningKey, load_or_create_key
from assay.gateway._backend import Backend, FineTuningBackend, WhiteboxBackend
from assay.gateway._errors import install_error_handlers
from assay.gateway._log import RequestLog
from assay.gateway._metering import RateLimiter
from assay.gateway._metrics import GatewayMetrics
from assay.gateway._middleware import GatewayFront
from assay.gateway._routes import ROUTERS
from assay.gateway._tokens import TokenStore

__all__ = ["AppSettings", "Backend", "FineTuningBackend", "WhiteboxBackend", "create_app"]


@dataclass(frozen=True)
class AppSettings:
    """HTTP-level limits and the metrics endpoint's guard."""

    max_request_bytes: int = 8 * 1024 * 1024
    metrics_token: str | None = None  # /metrics needs it as a bearer token
    metrics_loopback: bool = False  # explicitly allow loopback clients without the token


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
    app.state.backend = backend
    app.state.tokens = tokens
    app.state.limiter = RateLimiter(tokens)
    app.state.log = request_log
    app.state.metrics = metrics
    app.state.settings = settings
    for router in ROUTERS:
        app.include_router(router)
    return app
