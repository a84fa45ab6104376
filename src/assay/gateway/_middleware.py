"""ASGI middleware in front of every route: a hard cap on body size, and the request
log, written before the route runs.

For a request that presents a valid token, the request entry (with the commitment to
the body) is committed before the app sees the request; when the answer starts, its
outcome entry is appended and the receipt headers are added to it. Whatever happens in
between (a refusal, a validation error, a rate limit, a crash, a client that went away)
the request is on the log, with an outcome unless the process died.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay._util.asgi import read_body, replay, request_header, send_json
from assay.gateway._log import RequestLog, body_commitment
from assay.gateway._tokens import TokenInfo, TokenRejected, TokenStore

UNLOGGED_PATHS = frozenset({"/health", "/metrics"})
CLIENT_CLOSED = 499  # the outcome of a request whose client went away mid-answer


class GatewayFront:
    """Body cap, authentication for the log, the log entries, the receipt headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        tokens: TokenStore,
        log: RequestLog,
        metrics: Any = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.tokens = tokens
        self.log = log
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        body, disconnected = await read_body(scope, receive, self.max_bytes)
        if disconnected:
            scope.setdefault("state", {})["assay_disconnected"] = True
        too_large = body is None
        token = self._token(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        if token is None or scope["path"] in UNLOGGED_PATHS:
            if too_large:
                await _send_error(send, 413, self._too_large(), "request_too_large")
                return
            assert body is not None
            await self.app(scope, replay(body, receive), send)
            return

        state["assay_token"] = token
        salt, salt_problem = _salt(scope)
        if too_large:
            digest, over = None, "none: body over the size limit"
        else:
            assert body is not None
            digest, over = body_commitment(salt, body)
        model = _model(scope, body or b"")
        index = await run_in_threadpool(
            self.log.begin,
            token_id=token.id,
            engagement=token.engagement,
            tier=token.tier.value,
            method=str(scope.get("method", "")),
            route=str(scope.get("path", "")),
            model=model,
            commitment=digest,
            commitment_over=over,
        )
        ended = False

        async def finish(status: int) -> dict[str, str]:
            nonlocal ended
            ended = True
            meter = state.get("assay_meter")
            outcome = await run_in_threadpool(
                self.log.complete,
                index,
                engagement=token.engagement,
                status=status,
                prompt_tokens=getattr(meter, "prompt_tokens", 0),
                completion_tokens=getattr(meter, "completion_tokens", 0),
                floats=getattr(meter, "floats", 0),
            )
            headers = await run_in_threadpool(self.log.receipt_headers, index, outcome)
            if meter is not None:
                headers.update(meter.headers())
            else:
                headers["x-assay-tier"] = token.tier.value
            if digest is not None:
                headers["x-assay-commitment"] = digest
                headers["x-assay-commitment-salt"] = salt.hex()
            if self.metrics is not None:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                self.metrics.observe(
                    token.engagement, route, status, meter, time.monotonic() - started
                )
            return headers

        async def send_with_receipt(message: Message) -> None:
            if message["type"] == "http.response.start" and not ended:
                extra = await finish(int(message["status"]))
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()),
                    ],
                }
            await send(message)

        try:
            if too_large:
                await _send_error(send_with_receipt, 413, self._too_large(), "request_too_large")
            elif salt_problem is not None:
                await _send_error(
                    send_with_receipt, 400, salt_problem, "invalid_salt", "x-assay-salt"
                )
            elif (problem := _unicode_problem(body or b"")) is not None:
                await _send_error(send_with_receipt, 400, problem, "invalid_unicode")
            else:
                assert body is not None
                await self.app(scope, replay(body, receive), send_with_receipt)
        finally:
            if not ended:  # the app raised, or the client went away before an answer
                await finish(CLIENT_CLOSED if state.get("assay_disconnected") else 500)

    def _token(self, scope: Scope) -> TokenInfo | None:
        header = request_header(scope, b"authorization")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        try:
            return self.tokens.verify(value.strip())
        except TokenRejected:
            return None

    def _too_large(self) -> str:
        return f"request body larger than this gateway's limit of {self.max_bytes} bytes"


def _salt(scope: Scope) -> tuple[bytes, str | None]:
    """The client's salt (``x-assay-salt``, hex, 16-64 bytes) or a fresh random one,
    with the problem when the client's cannot be used."""
    supplied = request_header(scope, b"x-assay-salt")
    if not supplied:
        return secrets.token_bytes(16), None
    try:
        salt = bytes.fromhex(supplied)
    except ValueError:
        return secrets.token_bytes(16), "x-assay-salt must be hex"
    if not 16 <= len(salt) <= 64:
        return secrets.token_bytes(16), "x-assay-salt must be 16 to 64 bytes"
    return salt, None


def _model(scope: Scope, body: bytes) -> str:
    """The model a request names (body field or query parameter), for the log only."""
    try:
        data = json.loads(body) if body.strip() else None
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("model"), str):
        return str(data["model"])
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == "model":
            from urllib.parse import unquote_plus

            return unquote_plus(value)
    return ""


def _unicode_problem(body: bytes) -> str | None:
    """A JSON body with a lone UTF-16 surrogate cannot be tokenized, logged in canonical
    form or echoed back; it is refused before any work."""
    if b"\\u" not in body and b"\\U" not in body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None  # the route answers 422 for JSON it cannot parse
    if _has_lone_surrogate(data):
        return (
            "the body contains a lone UTF-16 surrogate (such as \\ud800) in a string; "
            "send valid Unicode text"
        )
    return None


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


async def _send_error(
    send: Send, status: int, message: str, code: str, param: str | None = None
) -> None:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    await send_json(send, status, {"error": error})
