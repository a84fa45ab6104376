"""The registry's FastAPI application."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from assay import __version__
from assay._util.asgi import BodySizeLimit
from assay._util.paths import subdir
from assay.attest import SigningKey, load_key, load_or_create_key
from assay.registry import (
    _feed,
    _pages,
    _routes_findings,
    _routes_market,
    _routes_models,
    _routes_orgs,
    _routes_submissions,
    _routes_webhooks,
)
from assay.registry._clock import Clock, SystemClock
from assay.registry._db import RegistrySession, open_database, session_factory
from assay.registry._deps import Caller, respond
from assay.registry._errors import error_body, install_error_handlers
from assay.registry._findings import DisclosurePolicy, Settings
from assay.registry._ingest import Limits
from assay.registry._log import RegistryLog
from assay.registry._policy import Action, authorize
from assay.registry._webhooks import WebhookPolicy

DEFAULT_ORIGIN = "assay.registry/log"
LOG_KEY_NAME = "registry-log"


@dataclass
class RegistryState:
    """Everything a request needs besides its own input."""

    engine: Engine
    sessions: sessionmaker[RegistrySession]
    clock: Clock
    log: RegistryLog
    limits: Limits = field(default_factory=Limits)
    disclosure: DisclosurePolicy = field(default_factory=DisclosurePolicy)
    webhooks: WebhookPolicy = field(default_factory=WebhookPolicy)
    public_url: str | None = None  # how the registry is reached (links, cookies)


def default_database_url() -> str:
    return f"sqlite:///{subdir('registry') / 'registry.sqlite'}"


@dataclass
class RegistryConfig:
    """How to build a registry: its database, log key and origin, limits, clock."""

    database_url: str = field(default_factory=default_database_url)
    log_origin: str = DEFAULT_ORIGIN
    log_key: Path | None = None  # default: $ASSAY_HOME/keys/registry-log.key, created once
    limits: Limits = field(default_factory=Limits)
    clock: Clock = field(default_factory=SystemClock)
    settings: Settings = field(default_factory=Settings)  # disclosure, webhooks, public URL


def _log_key(path: Path | None) -> SigningKey:
    return (
        load_key(path, name="registry-log")
        if path is not None
        else load_or_create_key(LOG_KEY_NAME)
    )


def build_state(config: RegistryConfig) -> RegistryState:
    engine = open_database(config.database_url)
    public_url = (config.settings.public_url or "").rstrip("/")
    return RegistryState(
        engine=engine,
        sessions=session_factory(engine, public_url=public_url),
        clock=config.clock,
        log=RegistryLog(engine, config.log_origin, _log_key(config.log_key)),
        limits=config.limits,
        disclosure=config.settings.disclosure,
        webhooks=config.settings.webhooks,
        public_url=public_url or None,
    )


meta = APIRouter(tags=["meta"])


@meta.get("/v1/health", response_model=dict[str, str])
def health(request: Request, caller: Caller) -> Response:
    """Liveness, and the version serving."""
    authorize(caller, Action.READ_PUBLIC)
    return respond(request, caller, {"status": "ok", "version": __version__})


def create_app(state: RegistryState) -> FastAPI:
    """The registry app over ``state``."""
    app = FastAPI(
        title="assay registry",
        version=__version__,
        description="Where developers, testing organisations, authorities and the public "
        "meet: models and versions, testing services, engagements, verified audits, and "
        "a transparency log.",
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.registry = state
    install_error_handlers(app, html=_pages.html_error)
    for router in (
        meta,
        _routes_orgs.router,
        _routes_models.router,
        _routes_market.router,
        _routes_submissions.router,
        _routes_submissions.log_router,
        _routes_findings.router,
        _routes_webhooks.router,
        _feed.router,
        _pages.router,
    ):
        app.include_router(router)
    error: Callable[[str], dict[str, dict[str, str]]] = lambda m: error_body(m, "too_large")  # noqa: E731
    app.add_middleware(BodySizeLimit, max_bytes=state.limits.max_request_bytes, error_body=error)
    return app
