"""Commitments to secret test sets.

Each item (one JSON value per line of a JSONL file) gets a fresh 32-byte salt; its
salted hash ``SHA-256(salt || canonical JSON of the item)`` (the gateway's request
commitments use the same formula) is a leaf of an RFC 9162 Merkle tree. Publishing
the root fixes the set without revealing it: the salts make the leaves unguessable
even for short, predictable items. Later, an opening reveals chosen items with their
salts and inclusion proofs; opening every item with the private salts file shows the
whole set is unchanged. The tree size (the number of items) is public.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay._util.hashing import canonical_json
from assay.attest._dsse import strict_json_loads
from assay.attest._merkle import MAX_PROOF_LENGTH, MerkleTree, leaf_hash, verify_inclusion
from assay.attest._tlog import log_entry

COMMITMENT_TYPE = "https://assay.dev/commitment/v1"
SALTS_TYPE = "https://assay.dev/commitment-salts/v1"
OPENING_TYPE = "https://assay.dev/commitment-opening/v1"
TREE_ALG = "rfc9162-sha256"
SALT_SIZE = 32
_COMMITMENT_FIELDS = {"type", "tree_alg", "label", "size", "root", "created_at"}
_SALTS_FIELDS = {"type", "root", "salts"}
_OPENING_FIELDS = {"type", "root", "size", "items"}
_ITEM_FIELDS = {"index", "item", "salt", "proof"}
_HEX32 = re.compile(r"[0-9a-f]{64}")


class CommitmentError(ValueError):
    """A commitment, its salts or an opening is malformed or does not verify."""


def read_items(path: Path) -> list[Any]:
    """One JSON value per non-blank line."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(strict_json_loads(line))
        except ValueError as exc:
            raise CommitmentError(f"{path.name} line {number} is not JSON: {exc}") from None
    if not items:
        raise CommitmentError(f"{path.name} has no items")
    return items


def salted_hash(salt: bytes, item: Any) -> bytes:
    return hashlib.sha256(salt + canonical_json(item)).digest()


def _tree(items: list[Any], salts: list[bytes]) -> MerkleTree:
    return MerkleTree.from_data(salted_hash(s, item) for s, item in zip(salts, items, strict=True))


def commit_items(items: list[Any], *, label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The public commitment and the private salts (keep them: they open the items)."""
    salts = [secrets.token_bytes(SALT_SIZE) for _ in items]
    tree = _tree(items, salts)
    commitment = {
        "type": COMMITMENT_TYPE,
        "tree_alg": TREE_ALG,
        "label": label,
        "size": tree.size,
        "root": tree.root().hex(),
        "created_at": datetime.now(UTC).isoformat(),
    }
    private = {"type": SALTS_TYPE, "root": commitment["root"], "salts": [s.hex() for s in salts]}
    return commitment, private


def commitment_entry(commitment: dict[str, Any]) -> bytes:
    """What a transparency log holds for a commitment (publishing it dates it)."""
    return log_entry("assay.commitment/v1", canonical_json(commitment))


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise CommitmentError(f"{what} must be 64 lowercase hex digits")
    return bytes.fromhex(value)


@dataclass(frozen=True)
class Commitment:
    label: str
    size: int
    root: bytes


def parse_commitment(doc: Any) -> Commitment:
    if not isinstance(doc, dict) or set(doc) != _COMMITMENT_FIELDS:
        raise CommitmentError(
            "a commitment must have exactly " + ", ".join(sorted(_COMMITMENT_FIELDS))
        )
    if doc["type"] != COMMITMENT_TYPE or doc["tree_alg"] != TREE_ALG:
        raise CommitmentError("not an assay commitment (type or tree_alg)")
    size = doc["size"]
    if type(size) is not int or size < 1:
        raise CommitmentError("size must be a positive integer")
    if not isinstance(doc["label"], str) or not isinstance(doc["created_at"], str):
        raise CommitmentError("label and created_at must be strings")
    return Commitment(doc["label"], size, _hex32(doc["root"], "root"))


def parse_salts(doc: Any, commitment: Commitment) -> list[bytes]:
    if not isinstance(doc, dict) or set(doc) != _SALTS_FIELDS or doc["type"] != SALTS_TYPE:
        raise CommitmentError("not an assay salts file")
    if _hex32(doc["root"], "root") != commitment.root:
        raise CommitmentError("the salts belong to another commitment")
    salts = doc["salts"]
    if not isinstance(salts, list) or len(salts) != commitment.size:
        raise CommitmentError(f"the salts file must hold {commitment.size} salts")
    return [_hex32(s, "a salt") for s in salts]


def check_all_items(commitment: Commitment, items: list[Any], salts: list[bytes]) -> None:
    """Raise unless ``items`` with ``salts`` are exactly the committed set, in order."""
    if len(items) != commitment.size:
        raise CommitmentError(f"{len(items)} items, but {commitment.size} were committed to")
    if _tree(items, salts).root() != commitment.root:
        raise CommitmentError("the items differ from the committed set (the root does not match)")


def open_items(
    commitment: Commitment, items: list[Any], salts: list[bytes], indices: list[int]
) -> dict[str, Any]:
    """Reveal the chosen items with their salts and inclusion proofs."""
    check_all_items(commitment, items, salts)
    tree = _tree(items, salts)
    chosen = sorted(set(indices))
    for index in chosen:
        if not 0 <= index < len(items):
            raise CommitmentError(f"there is no item {index} (the set has {len(items)})")
    return {
        "type": OPENING_TYPE,
        "root": commitment.root.hex(),
        "size": commitment.size,
        "items": [
            {
                "index": i,
                "item": items[i],
                "salt": salts[i].hex(),
                "proof": [h.hex() for h in tree.inclusion_proof(i)],
            }
            for i in chosen
        ],
    }


def verify_opening(commitment: Commitment, doc: Any) -> list[tuple[int, Any]]:
    """Check each revealed item against the committed root; return (index, item) pairs."""
    if not isinstance(doc, dict) or set(doc) != _OPENING_FIELDS or doc["type"] != OPENING_TYPE:
        raise CommitmentError("an opening must have exactly " + ", ".join(sorted(_OPENING_FIELDS)))
    size = doc["size"]
    if (
        _hex32(doc["root"], "root") != commitment.root
        or type(size) is not int
        or size != commitment.size
    ):
        raise CommitmentError("the opening is for another commitment")
    entries = doc["items"]
    if not isinstance(entries, list) or not entries:
        raise CommitmentError("an opening must reveal at least one item")
    opened: list[tuple[int, Any]] = []
    seen: set[int] = set()
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != _ITEM_FIELDS:
            raise CommitmentError("a revealed item must have exactly index, item, salt and proof")
        index = entry["index"]
        if type(index) is not int or not 0 <= index < commitment.size or index in seen:
            raise CommitmentError(f"bad or repeated item index {index!r}")
        seen.add(index)
        proof = entry["proof"]
        if not isinstance(proof, list) or len(proof) > MAX_PROOF_LENGTH:
            raise CommitmentError(f"the proof of item {index} must be a list of hashes")
        hashes = [_hex32(h, f"a hash in the proof of item {index}") for h in proof]
        leaf = leaf_hash(salted_hash(_hex32(entry["salt"], "a salt"), entry["item"]))
        if not verify_inclusion(leaf, index, commitment.size, hashes, commitment.root):
            raise CommitmentError(f"item {index} was not in the committed set (its proof fails)")
        opened.append((index, entry["item"]))
    return opened


def find_items(items: list[Any], ids: list[str]) -> list[int]:
    """Indices of items whose ``id`` field equals one of ``ids`` (each must match)."""
    indices = []
    for wanted in ids:
        hits = [
            i for i, it in enumerate(items) if isinstance(it, dict) and str(it.get("id")) == wanted
        ]
        if not hits:
            raise CommitmentError(f"no item has id {wanted!r}")
        indices.extend(hits)
    return indices


def write_private(path: Path, data: dict[str, Any]) -> None:
    """Write a secret file readable by its owner only; never replaces an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(data, indent=2) + "\n")
