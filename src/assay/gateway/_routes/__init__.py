"""The gateway's routes, one router per family."""

from fastapi import APIRouter

from assay.gateway._routes import _admin, _finetuning, _log, _openai, _tokenization, _whitebox

ROUTERS: tuple[APIRouter, ...] = (
    _admin.router,
    _openai.router,
    _log.router,
    _tokenization.router,
    _whitebox.router,
    _finetuning.router,
)

__all__ = ["ROUTERS"]
