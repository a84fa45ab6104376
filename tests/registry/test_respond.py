"""The registry's one JSON response: ETags, conditional reads, created resources."""

from __future__ import annotations

import json

from pydantic import BaseModel
from starlette.requests import Request

from assay.registry._deps import respond
from assay.registry._visibility import PUBLIC


class _Thing(BaseModel):
    id: int
    name: str


def _request(if_none_match: str | None = None) -> Request:
    headers = [] if if_none_match is None else [(b"if-none-match", if_none_match.encode())]
    return Request({"type": "http", "method": "GET", "path": "/v1/things/1", "headers": headers})


def test_a_read_whose_etag_matches_is_a_304_without_body() -> None:
    etag = respond(_request(), PUBLIC, _Thing(id=1, name="a")).headers["ETag"]
    again = respond(_request(etag), PUBLIC, _Thing(id=1, name="a"))
    assert again.status_code == 304
    assert again.body == b""
    changed = respond(_request(etag), PUBLIC, _Thing(id=1, name="b"))
    assert changed.status_code == 200
    assert json.loads(changed.body) == {"id": 1, "name": "b"}


def test_created_response_with_matching_etag_was_a_201_without_body() -> None:
    """A 201 used to be a 304 re-labelled 201 (empty body) when If-None-Match matched."""
    etag = respond(_request(), PUBLIC, _Thing(id=1, name="a")).headers["ETag"]
    created = respond(_request(etag), PUBLIC, _Thing(id=1, name="a"), status_code=201)
    assert created.status_code == 201
    assert json.loads(created.body) == {"id": 1, "name": "a"}
    assert created.headers["ETag"] == etag
