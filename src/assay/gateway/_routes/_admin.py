"""Routes for the developer's operations: liveness and Prometheus metrics (which name
every engagement, so they need the metrics token unless loopback access is allowed)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request

from assay.gateway._errors import forbidden, unauthorized

router = APIRouter()


@router.get("/health", include_in_schema=False)
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Any:
    _check_metrics_access(request)
    return request.app.state.metrics.response()


def _check_metrics_access(request: Request) -> None:
    """The metrics token as a bearer token, or a loopback client when the deployment
    explicitly allowed those (``[metrics] allow_loopback``)."""
    settings = request.app.state.settings
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
