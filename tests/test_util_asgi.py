"""The body cap every assay service shares (``assay._util.asgi``): the registry puts it
in front of its app; the gateway's front reads bodies with the same ``read_body``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Message

from assay._util.asgi import BodySizeLimit, read_body

LIMIT = 64


async def _echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"received": len(body), "text": body.decode()})


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = Starlette(routes=[Route("/echo", _echo, methods=["POST"])])
    capped = BodySizeLimit(app, max_bytes=LIMIT, error_body=lambda m: {"error": {"message": m}})
    with TestClient(capped) as client:
        yield client


def test_a_body_within_the_limit_reaches_the_app_whole(client: TestClient) -> None:
    answer = client.post("/echo", content=b"x" * LIMIT)
    assert answer.status_code == 200 and answer.json()["received"] == LIMIT


def test_a_declared_oversized_body_gets_413_json(client: TestClient) -> None:
    answer = client.post("/echo", content=b"x" * (LIMIT + 1))
    assert answer.status_code == 413
    assert answer.json() == {
        "error": {"message": f"request body larger than the limit of {LIMIT} bytes"}
    }


def test_an_undeclared_streamed_body_is_cut_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"y" * 16  # 160 bytes, no content-length

    answer = client.post("/echo", content=chunks())
    assert answer.status_code == 413


def test_a_streamed_body_within_the_limit_arrives_in_order(client: TestClient) -> None:
    answer = client.post("/echo", content=iter([b"ab", b"cd", b"ef"]))
    assert answer.status_code == 200 and answer.json()["text"] == "abcdef"


@pytest.mark.anyio
async def test_read_body_reports_a_client_that_went_away() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b"part", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    scope: dict[str, Any] = {"type": "http", "headers": []}
    assert await read_body(scope, receive, LIMIT) == (b"part", True)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
