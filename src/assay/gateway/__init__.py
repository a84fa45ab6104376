"""The gateway: a model behind OpenAI-compatible routes, at an agreed access tier."""

from assay.gateway._app import AppSettings, create_app
from assay.gateway._backend import Backend, FineTuningBackend, WhiteboxBackend
from assay.gateway._build import Gateway, build_gateway
from assay.gateway._config import GatewayConfig
from assay.gateway._errors import GatewayError
from assay.gateway._log import (
    RECEIPT_TYPE,
    LogCheck,
    LogEntry,
    RequestLog,
    body_commitment,
    commitment,
)
from assay.gateway._metering import Meter
from assay.gateway._server import BackgroundServer, bind_port, serve_forever
from assay.gateway._tokens import (
    ALL_MODELS,
    QuotaExceeded,
    RateLimited,
    TokenInfo,
    TokenRejected,
    TokenStore,
    Usage,
)
from assay.tiers import Tier

__all__ = [
    "ALL_MODELS",
    "RECEIPT_TYPE",
    "AppSettings",
    "Backend",
    "BackgroundServer",
    "FineTuningBackend",
    "Gateway",
    "GatewayConfig",
    "GatewayError",
    "LogCheck",
    "LogEntry",
    "Meter",
    "QuotaExceeded",
    "RateLimited",
    "RequestLog",
    "Tier",
    "TokenInfo",
    "TokenRejected",
    "TokenStore",
    "Usage",
    "WhiteboxBackend",
    "bind_port",
    "body_commitment",
    "build_gateway",
    "commitment",
    "create_app",
    "serve_forever",
]
