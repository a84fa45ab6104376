"""Routes for any token holder about the gateway itself: what the token grants, and
the request log's checkpoints, proofs and receipts (what a tester keeps to hold the
developer to the log)."""

# No ``from __future__ import annotations``: FastAPI reads the dependencies' signatures.

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from assay import __version__
from assay.attest import LogError, leaf_hash
from assay.gateway._deps import Auth, BackendDep
from assay.gateway._errors import bad_request
from assay.gateway._log import RECEIPT_TYPE, RequestLog
from assay.tiers import Tier

_INT64 = 2**63 - 1


class WhoAmI(BaseModel):
    """What the presented token grants; lets a client pick the tier it can use."""

    token_id: str
    tier: Tier
    engagement: str
    models: list[str]
    expires_at: str | None
    max_requests: int | None
    max_tokens: int | None
    max_floats: int | None
    rate_per_minute: int | None
    gateway_version: str
    backend: str
    log_origin: str


class InclusionProof(BaseModel):
    """An entry's RFC 9162 inclusion proof in the request log at ``tree_size``."""

    leaf_index: int
    tree_size: int
    leaf_hash: str
    hashes: list[str]
    checkpoint: str


class ConsistencyProof(BaseModel):
    """RFC 9162 consistency proof between two sizes of the request log."""

    first: int
    second: int
    hashes: list[str]
    checkpoint: str


class ReceiptEntry(BaseModel):
    index: int
    leaf_hash: str


class LogReceipt(BaseModel):
    """A signed checkpoint and the leaf hashes of the caller's engagement's entries."""

    type: str = RECEIPT_TYPE
    checkpoint: str
    entries: list[ReceiptEntry]


def get_log(request: Request) -> RequestLog:
    log: RequestLog = request.app.state.log
    return log


Log = Annotated[RequestLog, Depends(get_log)]

router = APIRouter()


@router.get("/v1/assay/whoami")
async def whoami(token: Auth, backend: BackendDep, log: Log) -> WhoAmI:
    return WhoAmI(
        token_id=token.id,
        tier=token.tier,
        engagement=token.engagement,
        models=list(token.models),
        expires_at=token.expires_at.isoformat() if token.expires_at else None,
        max_requests=token.max_requests,
        max_tokens=token.max_tokens,
        max_floats=token.max_floats,
        rate_per_minute=token.rate_per_minute,
        gateway_version=__version__,
        backend=backend.kind,
        log_origin=log.origin,
    )


@router.get("/v1/assay/log/checkpoint", response_class=PlainTextResponse)
async def log_checkpoint(token: Auth, log: Log) -> str:
    """The log's current checkpoint, a C2SP signed note."""
    return log.signed_checkpoint()


@router.get("/v1/assay/log/proof")
async def log_proof(
    token: Auth,
    log: Log,
    index: Annotated[int, Query(ge=0, le=_INT64)],
    tree_size: Annotated[int | None, Query(ge=1, le=_INT64)] = None,
) -> InclusionProof:
    """The inclusion proof of entry ``index`` in the tree of ``tree_size`` entries
    (default: now), with a checkpoint signed at that size."""
    try:
        size = tree_size or log.size
        hashes = log.tlog.inclusion_proof(index, size)
        leaf = log.tlog.entry(index)
        note = log.signed_checkpoint(size)
    except LogError as exc:
        raise bad_request(str(exc), param="index", code="not_in_log") from None
    return InclusionProof(
        leaf_index=index,
        tree_size=size,
        leaf_hash=leaf_hash(leaf).hex(),
        hashes=[h.hex() for h in hashes],
        checkpoint=note,
    )


@router.get("/v1/assay/log/consistency")
async def log_consistency(
    token: Auth,
    log: Log,
    first: Annotated[int, Query(ge=0, le=_INT64)],
    second: Annotated[int | None, Query(ge=0, le=_INT64)] = None,
) -> ConsistencyProof:
    """The consistency proof from size ``first`` to ``second`` (default: now)."""
    try:
        size = log.size if second is None else second
        hashes = log.tlog.consistency_proof(first, size)
        note = log.signed_checkpoint(size)
    except LogError as exc:
        raise bad_request(str(exc), param="first", code="not_in_log") from None
    return ConsistencyProof(
        first=first, second=size, hashes=[h.hex() for h in hashes], checkpoint=note
    )


@router.get("/v1/assay/log/receipt")
async def log_receipt(token: Auth, log: Log) -> LogReceipt:
    """A signed checkpoint with the leaf hashes of every entry of this token's
    engagement: what a tester keeps to hold the developer to the log."""
    indices = [i for e in log.entries(token.engagement) for i in (e.index, e.outcome_index)]
    receipt = log.receipt([i for i in indices if i is not None])
    return LogReceipt(
        checkpoint=receipt["checkpoint"],
        entries=[ReceiptEntry(**e) for e in receipt["entries"]],
    )
