"""Errors leave the registry as JSON ``{"error": {"message", "code"}}``, never a trace."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("assay.registry")


class RegistryError(Exception):
    """An error answered with ``status`` and a JSON body naming what is wrong."""

    def __init__(
        self, status: int, message: str, *, code: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


def unauthorized(message: str) -> RegistryError:
    return RegistryError(401, message, code="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def forbidden(message: str) -> RegistryError:
    return RegistryError(403, message, code="forbidden")


def not_found(what: str) -> RegistryError:
    return RegistryError(404, f"no such {what}", code="not_found")


def conflict(message: str, code: str = "conflict") -> RegistryError:
    return RegistryError(409, message, code=code)


def invalid(message: str, code: str = "invalid") -> RegistryError:
    return RegistryError(422, message, code=code)


def decode_b64(value: str, field: str) -> bytes:
    """The bytes of base64 ``value``, or a 422 saying that ``field`` is not base64."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{field} is not valid base64") from None


def error_body(message: str, code: str) -> dict[str, dict[str, str]]:
    return {"error": {"message": message, "code": code}}


# renders an error as a web page: (request, status, message, headers)
HtmlError = Callable[[Request, int, str, dict[str, str]], Response]


def install_error_handlers(app: FastAPI, html: HtmlError | None = None) -> None:
    """Errors of the API (``/v1/...``) as JSON; of the web pages as pages (``html``)."""

    def answer(
        request: Request, status: int, message: str, code: str, headers: dict[str, str]
    ) -> Response:
        if html is not None and not request.url.path.startswith("/v1/"):
            return html(request, status, message, headers)
        return JSONResponse(error_body(message, code), status_code=status, headers=headers)

    @app.exception_handler(RegistryError)
    async def _registry_error(request: Request, exc: RegistryError) -> Response:
        return answer(request, exc.status, exc.message, exc.code, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        message = "invalid request: " + "; ".join(problems)
        return answer(request, 422, message, "validation_error", {})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return answer(
            request, exc.status_code, str(exc.detail), "http_error", dict(exc.headers or {})
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error")
        return answer(request, 500, f"internal error ({type(exc).__name__})", "internal", {})
