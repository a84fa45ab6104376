"""ASGI pieces shared by assay's services: reading a request body under a size cap,
handing it on to the app, answering with a JSON error."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """Answer 413 with a JSON error when a request body exceeds ``max_bytes``, whether
    or not the client announced its length; nothing past the limit is read."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, error_body: Callable[[str], dict[str, Any]]
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, disconnected = await read_body(scope, receive, self.max_bytes)
        if disconnected:
            return
        if body is None:
            message = f"request body larger than the limit of {self.max_bytes} bytes"
            await send_json(send, 413, self.error_body(message))
            return
        await self.app(scope, replay(body, receive), send)


async def read_body(scope: Scope, receive: Receive, max_bytes: int) -> tuple[bytes | None, bool]:
    """The whole request body, or None when it exceeds ``max_bytes`` (declared in
    ``content-length`` or actually sent); and whether the client went away meanwhile
    (the body is then what arrived before)."""
    declared = request_header(scope, b"content-length")
    if declared.isdigit() and int(declared) > max_bytes:
        return None, False
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            return None, False
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app ``body`` (already read) first."""
    replayed = False

    async def replayed_receive() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed_receive


def request_header(scope: Scope, name: bytes) -> str:
    """A request header's value (the first, latin-1), or ``""``."""
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


async def send_json(send: Send, status: int, body: Any) -> None:
    """Answer with ``body`` as JSON."""
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
