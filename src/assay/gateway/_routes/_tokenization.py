"""Tokenization routes (grey tier), vLLM-style, at the root and under ``/v1``."""

# No ``from __future__ import annotations``: FastAPI reads the dependencies' signatures.

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from assay.gateway._deps import BackendDep, Metered, Need, Scoped, respond, scoped
from assay.gateway._protocol import (
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizeRequest,
    TokenizeResponse,
)
from assay.tiers import Tier

router = APIRouter()

TokenizeScope = Annotated[
    Scoped[TokenizeRequest], Depends(scoped(TokenizeRequest, Need(Tier.GREY, "tokenization")))
]
DetokenizeScope = Annotated[
    Scoped[DetokenizeRequest],
    Depends(scoped(DetokenizeRequest, Need(Tier.GREY, "detokenization"))),
]


@router.post("/tokenize", response_model=None, responses={200: {"model": TokenizeResponse}})
@router.post("/v1/tokenize", response_model=None, include_in_schema=False)
async def tokenize(scope: TokenizeScope, meter: Metered, backend: BackendDep) -> Any:
    result = backend.tokenize(scope.body)
    meter.reserve(tokens=result.count, floats=0)
    meter.record(prompt_tokens=result.count)
    return respond(result)


@router.post("/detokenize", response_model=None, responses={200: {"model": DetokenizeResponse}})
@router.post("/v1/detokenize", response_model=None, include_in_schema=False)
async def detokenize(scope: DetokenizeScope, meter: Metered, backend: BackendDep) -> Any:
    tokens = scope.body.tokens
    meter.reserve(tokens=len(tokens), floats=0)
    meter.record(prompt_tokens=len(tokens))
    return respond(backend.detokenize(scope.body))
