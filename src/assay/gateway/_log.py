"""The request log: a Merkle log (:class:`assay.attest.TransparencyLog`) that is blind to
request contents and that testers can hold the developer to.

Each request made with a valid token becomes two entries. The *request* entry is
committed before any work starts: who asked (token, engagement, tier), where (method,
route, model) and a salted commitment ``sha256(salt || RFC 8785 JSON of the body)`` to
the body instead of the body. The *outcome* entry, appended when the answer starts,
names the request entry and records its status and usage. So no executed request is
missing from the log: at worst a crash leaves a request without an outcome.

The salt goes back to the client (``x-assay-commitment-salt``; a client may choose it
with ``x-assay-salt``) and is not stored, so the log cannot be searched for guessed test
items while the tester can open any entry later. Every answer carries a *receipt*: the
indices and leaf hash of its entries and a checkpoint (a C2SP signed note of the tree
size and root) signed by the gateway key. A tester who keeps receipts can prove later
that the log was truncated or rewritten anywhere below a checkpoint it holds.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from assay._util.hashing import CanonicalJSONError, canonical_json
from assay.attest import (
    Checkpoint,
    LogError,
    SigningKey,
    TransparencyLog,
    leaf_hash,
    open_checkpoint,
    verify_consistency,
    verify_inclusion,
)

LOG_NAME = "gateway"
REQUEST_KIND = "assay.gateway.request/v1"
LEGACY_KIND = "assay.gateway.legacy-entry/v1"  # carried over from the hash chain (0002)
OUTCOME_KIND = "assay.gateway.outcome/v1"
RECEIPT_TYPE = "https://assay.dev/gateway/receipt/v1"
MAX_FIELD = 200  # unhashed strings (route, model) are cut to this many characters


def default_origin(key: SigningKey) -> str:
    """A gateway log's name when none is configured: derived from its signing key."""
    return f"assay.gateway/{key.key_id.removeprefix('ed25519:')[:16]}"


def body_commitment(salt: bytes, body: bytes) -> tuple[str, str]:
    """The commitment to a request body and what it was computed over.

    ``("sha256:…", "jcs")`` over the RFC 8785 form of the parsed JSON (``null`` for an
    empty body), so a tester can recompute it from the body it sent; ``"raw"`` over the
    bytes as received when they are not JSON that has a canonical form (for example a
    lone surrogate or an integer beyond 2**53)."""
    if not body.strip():
        data, over = canonical_json(None), "jcs"
    else:
        try:
            data, over = canonical_json(json.loads(body)), "jcs"
        except (ValueError, CanonicalJSONError, RecursionError):
            data, over = body, "raw"
    return "sha256:" + hashlib.sha256(salt + data).hexdigest(), over


def commitment(salt: bytes, body: Any) -> str:
    """The commitment to a parsed JSON body under ``salt`` (RFC 8785 form)."""
    return "sha256:" + hashlib.sha256(salt + canonical_json(body)).hexdigest()


def _cap(value: str) -> str:
    return value if len(value) <= MAX_FIELD else value[: MAX_FIELD - 1] + "…"


@dataclass(frozen=True)
class LogEntry:
    """One request and (once it ended) its outcome, as read back from the log."""

    index: int
    at: str
    token_id: str
    engagement: str
    method: str
    route: str
    model: str
    tier: str
    commitment: str | None
    commitment_over: str
    outcome_index: int | None = None
    status: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    floats: int = 0


@dataclass(frozen=True)
class LogCheck:
    """What ``assay gateway log verify`` found."""

    ok: bool
    size: int
    root: str
    problems: list[str] = field(default_factory=list)
    receipts: int = 0


class RequestLog:
    """The gateway's request log, in the gateway database."""

    def __init__(self, engine: Engine, key: SigningKey, *, origin: str | None = None) -> None:
        self.key = key
        self.tlog = TransparencyLog(engine, origin or default_origin(key), name=LOG_NAME)

    @property
    def origin(self) -> str:
        return self.tlog.origin

    @property
    def size(self) -> int:
        return self.tlog.size

    def begin(
        self,
        *,
        token_id: str,
        engagement: str,
        tier: str,
        method: str,
        route: str,
        model: str,
        commitment: str | None,
        commitment_over: str,
    ) -> int:
        """Commit the request entry (before any work); returns its index."""
        data = {
            "kind": REQUEST_KIND,
            "at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "token_id": token_id,
            "engagement": engagement,
            "tier": tier,
            "method": _cap(method),
            "route": _cap(route),
            "model": _cap(model),
            "commitment": commitment,
            "commitment_over": commitment_over,
        }
        return self.tlog.append(canonical_json(data), tag=engagement[:200])

    def complete(
        self,
        request_index: int,
        *,
        engagement: str,
        status: int,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        floats: int = 0,
    ) -> int:
        """Append the outcome of the request entry ``request_index``; returns its index."""
        data = {
            "kind": OUTCOME_KIND,
            "at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "request": request_index,
            "status": status,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "floats": floats,
        }
        return self.tlog.append(canonical_json(data), tag=engagement[:200])

    def signed_checkpoint(self, size: int | None = None) -> str:
        return self.tlog.signed_checkpoint([self.key], size)

    def receipt(self, indices: Sequence[int]) -> dict[str, Any]:
        """A receipt for the given entries: their leaf hashes and a signed checkpoint
        of the log as it is now (which includes them)."""
        note = self.signed_checkpoint()
        return {
            "type": RECEIPT_TYPE,
            "checkpoint": note,
            "entries": [
                {"index": i, "leaf_hash": leaf_hash(self.tlog.entry(i)).hex()} for i in indices
            ],
        }

    def receipt_headers(self, request_index: int, outcome_index: int) -> dict[str, str]:
        receipt = self.receipt([request_index, outcome_index])
        return {
            "x-assay-log-index": str(request_index),
            "x-assay-log-outcome-index": str(outcome_index),
            "x-assay-log-leaf-hash": receipt["entries"][0]["leaf_hash"],
            "x-assay-log-outcome-leaf-hash": receipt["entries"][1]["leaf_hash"],
            "x-assay-log-checkpoint": base64.b64encode(receipt["checkpoint"].encode()).decode(),
        }

    # ---- reading ---------------------------------------------------------------------

    def entries(self, engagement: str | None = None) -> Iterator[LogEntry]:
        """Requests in log order, each with its outcome when it has one."""
        requests: dict[int, dict[str, Any]] = {}
        outcomes: dict[int, tuple[int, dict[str, Any]]] = {}
        for index, data in self.tlog.entries(tag=engagement[:200] if engagement else None):
            record = json.loads(data)
            if record.get("kind") == LEGACY_KIND:
                record = {
                    **record,
                    "method": "POST",
                    "commitment_over": "jcs-legacy",
                }
                outcomes[index] = (index, record)
                record = {**record, "kind": REQUEST_KIND}
            if record.get("kind") == REQUEST_KIND:
                if engagement is None or record["engagement"] == engagement:
                    requests[index] = record
            elif record.get("kind") == OUTCOME_KIND:
                outcomes[int(record["request"])] = (index, record)
        for index, r in requests.items():
            outcome_index, o = outcomes.get(index, (None, {}))
            yield LogEntry(
                index=index,
                at=r["at"],
                token_id=r["token_id"],
                engagement=r["engagement"],
                method=r["method"],
                route=r["route"],
                model=r["model"],
                tier=r["tier"],
                commitment=r["commitment"],
                commitment_over=r["commitment_over"],
                outcome_index=outcome_index,
                status=o.get("status"),
                prompt_tokens=int(o.get("prompt_tokens", 0)),
                completion_tokens=int(o.get("completion_tokens", 0)),
                floats=int(o.get("floats", 0)),
            )

    def export(self, engagement: str) -> dict[str, Any]:
        """The engagement's entries (indices, leaf hashes, commitments) and totals, with a
        signed checkpoint of the whole log: what an audit report carries."""
        size = self.tlog.verify_integrity()
        checkpoint = self.tlog.checkpoint(size)
        mine = [e for e in self.entries(engagement) if e.index < size]
        totals = {
            "requests": len(mine),
            "prompt_tokens": sum(e.prompt_tokens for e in mine),
            "completion_tokens": sum(e.completion_tokens for e in mine),
            "floats": sum(e.floats for e in mine),
            "errors": sum(1 for e in mine if e.status is None or e.status >= 400),
        }
        return {
            "type": "https://assay.dev/gateway-log-export/v2",
            "engagement": engagement,
            "chain": {
                "ok": True,
                "entries": size,
                "head": "sha256:" + checkpoint.root_hash.hex(),
                "checkpoint": checkpoint.sign([self.key]),
            },
            "totals": totals,
            "first_at": mine[0].at if mine else None,
            "last_at": mine[-1].at if mine else None,
            "entries": [
                {
                    "index": e.index,
                    "leaf_hash": leaf_hash(self.tlog.entry(e.index)).hex(),
                    "commitment": e.commitment,
                    "outcome_index": e.outcome_index,
                    "status": e.status,
                }
                for e in mine
            ],
            "exported_at": datetime.now(UTC).isoformat(),
        }

    # ---- verification ----------------------------------------------------------------

    def verify(
        self,
        receipts: Iterable[Any] = (),
        trusted: Sequence[Ed25519PublicKey] = (),
    ) -> LogCheck:
        """Check the stored tree against its entries and, for every receipt, that the log
        still holds what the receipt's signed checkpoint and leaf hashes say."""
        try:
            size = self.tlog.verify_integrity()
        except LogError as exc:
            return LogCheck(False, self.tlog.size, "", [f"the stored tree is damaged: {exc}"])
        root = self.tlog.root(size)
        problems: list[str] = []
        count = 0
        keys = {f"k{i}": k for i, k in enumerate(trusted)}
        for number, receipt in enumerate(receipts, start=1):
            count += 1
            problems.extend(
                f"receipt {number}: {p}" for p in self._check_receipt(receipt, keys, size, root)
            )
        return LogCheck(not problems, size, "sha256:" + root.hex(), problems, count)

    def _check_receipt(
        self, receipt: Any, keys: dict[str, Ed25519PublicKey], size: int, root: bytes
    ) -> list[str]:
        if not isinstance(receipt, dict) or receipt.get("type") != RECEIPT_TYPE:
            return ["not a gateway receipt"]
        try:
            checkpoint, _ = open_checkpoint(receipt.get("checkpoint"), keys)
        except LogError as exc:
            return [str(exc)]
        if checkpoint.origin != self.origin:
            return [f"its checkpoint is of another log ({checkpoint.origin})"]
        if checkpoint.tree_size > size:
            return [
                f"the log was truncated: the receipt's signed checkpoint has "
                f"{checkpoint.tree_size} entries, the log now {size}"
            ]
        proof = self.tlog.consistency_proof(checkpoint.tree_size, size)
        if not verify_consistency(checkpoint.tree_size, checkpoint.root_hash, size, root, proof):
            return [
                f"the log was rewritten: its first {checkpoint.tree_size} entries no longer "
                "have the root the gateway signed"
            ]
        problems = []
        for item in receipt.get("entries") or []:
            problems.extend(self._check_entry(item, checkpoint))
        return problems

    def _check_entry(self, item: Any, checkpoint: Checkpoint) -> list[str]:
        try:
            index, expected = int(item["index"]), bytes.fromhex(item["leaf_hash"])
        except (KeyError, TypeError, ValueError):
            return ["an entry of the receipt is malformed"]
        if not 0 <= index < checkpoint.tree_size:
            return [f"entry {index} lies outside its checkpoint"]
        proof = self.tlog.inclusion_proof(index, checkpoint.tree_size)
        if not verify_inclusion(expected, index, checkpoint.tree_size, proof, checkpoint.root_hash):
            return [f"entry {index} is not the one the receipt holds"]
        if leaf_hash(self.tlog.entry(index)) != expected:
            return [f"entry {index} was changed"]
        return []
