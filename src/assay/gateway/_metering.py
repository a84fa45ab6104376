"""Per-request metering: quota reservations, rate limits, usage headers.

Backends call :meth:`Meter.reserve` with their worst case once they know the prompt
length, and :meth:`Meter.record` with what actually happened; the app settles the
reservation afterwards, whatever the outcome.
"""

from __future__ import annotations

import math

from assay.gateway._errors import GatewayError
from assay.gateway._tokens import QuotaExceeded, RateLimited, TokenInfo, TokenStore, Usage


class Meter:
    """Usage accounting for one request of one token."""

    def __init__(self, store: TokenStore, token: TokenInfo) -> None:
        self.store = store
        self.token = token
        self.reserved: tuple[int, int, int] | None = None
        self.held = False  # whether the reservation is held in the database
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.floats = 0
        self.usage: Usage | None = None

    def reserve(self, *, tokens: int, floats: int) -> None:
        """Reserve one request, ``tokens`` and ``floats`` (upper bounds), or answer 429."""
        if self.reserved is not None:
            raise RuntimeError("a request reserves its quota once")
        token = self.token
        if token.max_requests is None and token.max_tokens is None and token.max_floats is None:
            # nothing to protect: hold nothing, only count usage at settlement
            self.reserved, self.held = (1, tokens, floats), False
            return
        try:
            self.usage = self.store.reserve(self.token.id, requests=1, tokens=tokens, floats=floats)
        except QuotaExceeded as exc:
            self.usage = exc.usage
            raise GatewayError(
                429,
                f"quota exceeded: this request could use more {exc.which} than the token has left "
                f"(requests {exc.usage.requests}/{exc.usage.max_requests or 'unlimited'}, "
                f"tokens {exc.usage.tokens}/{exc.usage.max_tokens or 'unlimited'}, "
                f"floats {exc.usage.floats}/{exc.usage.max_floats or 'unlimited'})",
                type="insufficient_quota",
                code="quota_exceeded",
            ) from None
        self.reserved, self.held = (1, tokens, floats), True

    def record(
        self, *, prompt_tokens: int = 0, completion_tokens: int = 0, floats: int = 0
    ) -> None:
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        self.floats += floats

    def settle(self) -> None:
        if self.reserved is None:
            return
        used = (1, self.prompt_tokens + self.completion_tokens, self.floats)
        self.usage = self.store.settle(
            self.token.id, reserved=self.reserved, used=used, held=self.held
        )
        self.reserved = None

    def headers(self) -> dict[str, str]:
        usage = self.usage
        headers = {"x-assay-tier": self.token.tier.value}
        if usage is None:
            return headers
        for name, used, limit in (
            ("requests", usage.requests, usage.max_requests),
            ("tokens", usage.tokens, usage.max_tokens),
            ("floats", usage.floats, usage.max_floats),
        ):
            headers[f"x-assay-{name}-used"] = str(used)
            if limit is not None:
                headers[f"x-assay-{name}-limit"] = str(limit)
        return headers


class RateLimiter:
    """Requests per minute per token, in the database: one limit however many gateway
    processes share it (see :meth:`TokenStore.take_rate`)."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store

    def check(self, token: TokenInfo) -> None:
        """Admit the request or answer 429 with ``Retry-After``."""
        try:
            self.store.take_rate(token)
        except RateLimited as exc:
            retry = max(1, math.ceil(exc.retry_after))
            raise GatewayError(
                429,
                f"rate limit: this token allows {exc.limit} requests per minute; retry in {retry} s",
                type="rate_limit_error",
                code="rate_limited",
                headers={"Retry-After": str(retry)},
            ) from None
