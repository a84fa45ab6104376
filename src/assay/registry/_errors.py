"""Errors leave the registry as JSON ``{"error": {"message", "code"}}``, never a trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def error_body(message: str, code: str) -> dict[str, dict[str, str]]:
    return {"error": {"message": message, "code": code}}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RegistryError)
    async def _registry_error(_: Request, exc: RegistryError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.message, exc.code), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse(
            error_body("invalid request: " + "; ".join(problems), "validation_error"),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(str(exc.detail), "http_error"),
            status_code=exc.status_code,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error")
        return JSONResponse(
            error_body(f"internal error ({type(exc).__name__})", "internal"), status_code=500
        )
