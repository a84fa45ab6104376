"""What every route shares: the registry's state, a database session, the caller,
pagination, and JSON responses with ETags."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Select

from assay._util.hashing import canonical_json
from assay.registry._auth import resolve_principal
from assay.registry._clock import Clock
from assay.registry._db import RegistrySession
from assay.registry._errors import invalid
from assay.registry._visibility import Principal

if TYPE_CHECKING:
    from assay.registry._app import RegistryState

T = TypeVar("T")
MAX_PAGE = 200
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def get_state(request: Request) -> RegistryState:
    state: RegistryState = request.app.state.registry
    return state


def get_session(request: Request) -> Iterator[RegistrySession]:
    with get_state(request).sessions() as session:
        yield session


State = Annotated["RegistryState", Depends(get_state)]
Db = Annotated[RegistrySession, Depends(get_session)]
Caller = Annotated[Principal, Depends(resolve_principal)]
IntId = Annotated[int, Path(ge=1, le=MAX_ID)]


def now(request: Request) -> Any:
    clock: Clock = get_state(request).clock
    return clock.now()


@dataclass(frozen=True)
class PageParams:
    limit: int
    after: int


def page_params(
    limit: int = Query(50, ge=1, le=MAX_PAGE, description="items per page"),
    cursor: str | None = Query(
        None, pattern=r"^[0-9]{1,10}$", description="next_cursor of the previous page"
    ),
) -> PageParams:
    after = int(cursor) if cursor else 0
    if after > MAX_ID:
        raise invalid(f"cursor must be at most {MAX_ID}")
    return PageParams(limit=limit, after=after)


Paging = Annotated[PageParams, Depends(page_params)]


def paginate(
    session: RegistrySession,
    query: Select[Any],
    id_column: Any,
    page: PageParams,
    keep: Callable[[Any], bool],
) -> tuple[list[Any], str | None]:
    """Keyset pagination by id over rows the caller may see: ``keep`` filters (the
    visibility function), and rows are fetched in batches until the page is full."""
    items: list[Any] = []
    after = page.after
    batch = max(page.limit * 2, 50)
    while True:
        rows: list[Any] = list(
            session.scalars(query.where(id_column > after).order_by(id_column).limit(batch))
        )
        for row in rows:
            after = row.id
            if keep(row):
                items.append(row)
                if len(items) > page.limit:
                    last = items[page.limit - 1]
                    return items[: page.limit], str(last.id)
        if len(rows) < batch:
            return items, None


def respond(
    request: Request,
    principal: Principal,
    data: BaseModel | Iterable[Any] | dict[str, Any],
    status_code: int = 200,
) -> Response:
    """JSON with a strong ETag over the bytes; ``If-None-Match`` gets a 304 (only for a
    200: what a request created is always sent). Responses to credentialed requests are
    private to the caller."""
    content = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    body = canonical_json(jsonable_encoder(content))
    etag = '"' + hashlib.sha256(body).hexdigest()[:40] + '"'
    headers = {
        "ETag": etag,
        "Vary": "Authorization",
        "Cache-Control": "no-cache" if principal.anonymous else "private, no-cache",
    }
    if status_code == 200 and etag in _etags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers, status_code=status_code)


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
