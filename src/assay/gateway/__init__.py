"""The gateway: a model behind OpenAI-compatible routes, at an agreed access tier."""

from assay.gateway._app import Backend, create_app
from assay.gateway._errors import GatewayError
from assay.gateway._server import BackgroundServer, serve_forever
from assay.gateway._tiers import Tier
from assay.gateway._tokens import ALL_MODELS, TokenInfo, TokenRejected, TokenStore

__all__ = [
    "ALL_MODELS",
    "Backend",
    "BackgroundServer",
    "GatewayError",
    "Tier",
    "TokenInfo",
    "TokenRejected",
    "TokenStore",
    "create_app",
    "serve_forever",
]
