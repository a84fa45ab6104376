"""The gateway: a model behind OpenAI-compatible routes, at an agreed access tier."""

from assay.gateway._app import AppSettings, Backend, create_app
from assay.gateway._build import Gateway, build_gateway
from assay.gateway._config import GatewayConfig
from assay.gateway._errors import GatewayError
from assay.gateway._log import ChainCheck, LogEntry, RequestLog, commitment
from assay.gateway._metering import Meter
from assay.gateway._server import BackgroundServer, bind_port, serve_forever
from assay.gateway._tiers import Tier
from assay.gateway._tokens import (
    ALL_MODELS,
    QuotaExceeded,
    TokenInfo,
    TokenRejected,
    TokenStore,
    Usage,
)

__all__ = [
    "ALL_MODELS",
    "AppSettings",
    "Backend",
    "BackgroundServer",
    "ChainCheck",
    "Gateway",
    "GatewayConfig",
    "GatewayError",
    "LogEntry",
    "Meter",
    "QuotaExceeded",
    "RequestLog",
    "Tier",
    "TokenInfo",
    "TokenRejected",
    "TokenStore",
    "Usage",
    "bind_port",
    "build_gateway",
    "commitment",
    "create_app",
    "serve_forever",
]
