"""Prometheus metrics for the developer: requests, tokens and floats per engagement."""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.responses import Response


class GatewayMetrics:
    """One registry per app, so several gateways in one process do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "assay_gateway_requests",
            "Requests handled",
            ["engagement", "route", "status"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "assay_gateway_tokens",
            "Tokens processed",
            ["engagement", "kind"],
            registry=self.registry,
        )
        self.floats = Counter(
            "assay_gateway_floats",
            "Floats returned to testers",
            ["engagement"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "assay_gateway_request_seconds", "Request latency", ["route"], registry=self.registry
        )

    def observe(self, engagement: str, route: str, status: int, meter: Any, seconds: float) -> None:
        self.requests.labels(engagement, route, str(status)).inc()
        self.tokens.labels(engagement, "prompt").inc(getattr(meter, "prompt_tokens", 0))
        self.tokens.labels(engagement, "completion").inc(getattr(meter, "completion_tokens", 0))
        self.floats.labels(engagement).inc(getattr(meter, "floats", 0))
        self.seconds.labels(route).observe(seconds)

    def response(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
