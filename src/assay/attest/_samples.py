"""A Merkle tree over ``samples.jsonl`` and selective disclosure of its records.

Each line is one per-sample record in RFC 8785 canonical JSON (:func:`record_line`),
like every other JSON that assay hashes or signs; its UTF-8 bytes without the line
break are the leaf. Hashing the lines as they are (not re-serialising them) keeps
100,000 records well under a second; a disclosed record must be in canonical form, so
one record has exactly one leaf. Folders written before records were RFC 8785 (JSON
with sorted keys, ``json.dumps(record, sort_keys=True, ensure_ascii=False)``) still
verify and disclose: that legacy spelling is accepted when reading.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay._util.hashing import CanonicalJSONError, canonical_json, sha256_bytes
from assay.attest._dsse import no_duplicate_keys
from assay.attest._merkle import MAX_PROOF_LENGTH, MerkleTree, leaf_hash, merkle_root
from assay.attest._merkle import verify_inclusion as _verify_inclusion

SAMPLES_FILE = "samples.jsonl"
TREE_ALG = "rfc9162-sha256"
DISCLOSURE_TYPE = "https://assay.dev/disclosure/samples/v1"
_DISCLOSURE_FIELDS = {"type", "statement_digest", "tree_alg", "tree_size", "root", "records"}
_RECORD_FIELDS = {"index", "record", "proof"}
_HEX32 = re.compile(r"[0-9a-f]{64}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_SAFE_INTEGER = 2**53 - 1  # RFC 8785 numbers are IEEE doubles
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


class RecordsError(ValueError):
    """samples.jsonl or a disclosure of its records is malformed or does not verify."""


def split_records(data: bytes) -> list[bytes]:
    """The lines of a samples file, without their line breaks (``\\n`` or ``\\r\\n``)."""
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise RecordsError("samples.jsonl does not end with a line break")
    lines = data[:-1].split(b"\n")
    if b"\r" in data:
        lines = [line.removesuffix(b"\r") for line in lines]
    if data.startswith(b"\n") or b"\n\n" in data or b"\n\r\n" in data:
        raise RecordsError("samples.jsonl has an empty line")
    return lines


@dataclass(frozen=True)
class SamplesTree:
    """What the attestation commits to about samples.jsonl."""

    digest: str
    size: int
    root: bytes

    def predicate(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "tree_alg": TREE_ALG,
            "tree_size": self.size,
            "root": self.root.hex(),
        }


def samples_tree(path: Path) -> SamplesTree:
    """Digest, size and Merkle root of a samples file, in one read."""
    data = path.read_bytes()
    root, size = merkle_root(split_records(data))
    return SamplesTree(digest=sha256_bytes(data), size=size, root=root)


def record_line(record: dict[str, Any]) -> bytes:
    """A record as one ``samples.jsonl`` line (without its line break): RFC 8785 JSON.

    Values JSON numbers cannot hold exactly are written as strings rather than lost:
    ``"NaN"``, ``"Infinity"``, ``"-Infinity"``, and integers beyond 2**53 - 1 in decimal.
    """
    return canonical_json(_representable(record))


def _representable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE.get(value, "NaN")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _SAFE_INTEGER:
        return str(value)
    if isinstance(value, dict):
        return {k: _representable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_representable(v) for v in value]
    return value


def parse_record(line: str) -> dict[str, Any]:
    """A record line as a dict, insisting on its canonical spelling (RFC 8785, or the
    sorted-keys spelling of folders written before it)."""
    try:
        # duplicate keys refused as in envelopes; NaN allowed: legacy records may hold it
        record = json.loads(line, object_pairs_hook=no_duplicate_keys)
    except ValueError as exc:
        raise RecordsError(f"a record is not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise RecordsError("a record is not a JSON object")
    if not _is_canonical(record, line) and not _is_legacy(record, line):
        raise RecordsError("a record is not in canonical form (RFC 8785 JSON, as assay writes it)")
    return record


def _is_canonical(record: dict[str, Any], line: str) -> bool:
    try:
        return canonical_json(record) == line.encode("utf-8")
    except CanonicalJSONError:
        return False


def _is_legacy(record: dict[str, Any], line: str) -> bool:
    """The spelling of records written before they were RFC 8785."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False) == line


def select_records(lines: list[bytes], samples: list[str], indices: list[int]) -> list[int]:
    """Leaf indices for ``--sample`` selectors and explicit ``--index`` values.

    A selector is a sample id (every record with it, in any suite or epoch) or
    ``SUITE/SAMPLE_ID``. Each selector must match at least one record.
    """
    chosen: set[int] = set()
    for index in indices:
        if not 0 <= index < len(lines):
            raise RecordsError(f"there is no record {index} (samples.jsonl has {len(lines)})")
        chosen.add(index)
    if samples:
        keys = []
        for line in lines:
            record = json.loads(line)
            keys.append((str(record.get("suite")), str(record.get("sample_id"))))
        for selector in samples:
            hits = {i for i, (_, sid) in enumerate(keys) if sid == selector}
            if not hits and "/" in selector:
                suite, _, sid = selector.partition("/")
                hits = {i for i, key in enumerate(keys) if key == (suite, sid)}
            if not hits:
                raise RecordsError(f"no record has sample id {selector!r}")
            chosen |= hits
    return sorted(chosen)


def build_disclosure(
    lines: list[bytes], indices: list[int], statement_digest: str
) -> dict[str, Any]:
    """Reveal the chosen records with inclusion proofs; the others stay private."""
    tree = MerkleTree.from_data(lines)
    records = []
    for index in indices:
        line = lines[index].decode("utf-8")
        parse_record(line)
        records.append(
            {
                "index": index,
                "record": line,
                "proof": [h.hex() for h in tree.inclusion_proof(index)],
            }
        )
    return {
        "type": DISCLOSURE_TYPE,
        "statement_digest": statement_digest,
        "tree_alg": TREE_ALG,
        "tree_size": tree.size,
        "root": tree.root().hex(),
        "records": records,
    }


@dataclass(frozen=True)
class DisclosedRecord:
    index: int
    record: dict[str, Any]


def _int(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise RecordsError(f"{what} must be a non-negative integer")
    return value


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise RecordsError(f"{what} must be 64 lowercase hex digits")
    return bytes.fromhex(value)


def verify_disclosure(
    doc: Any, *, statement_digest: str, tree_size: int, root: bytes
) -> list[DisclosedRecord]:
    """Check every revealed record's proof against the signed root; return the records."""
    if not isinstance(doc, dict) or set(doc) != _DISCLOSURE_FIELDS:
        raise RecordsError(
            "a disclosure must be an object with exactly " + ", ".join(sorted(_DISCLOSURE_FIELDS))
        )
    if doc["type"] != DISCLOSURE_TYPE:
        raise RecordsError(f"not a sample disclosure (type {doc['type']!r})")
    if doc["tree_alg"] != TREE_ALG:
        raise RecordsError(f"unknown tree algorithm {doc['tree_alg']!r}")
    digest = doc["statement_digest"]
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise RecordsError("statement_digest must be sha256:<64 hex>")
    if digest != statement_digest:
        raise RecordsError("the disclosure belongs to another attestation")
    if _int(doc["tree_size"], "tree_size") != tree_size:
        raise RecordsError(f"tree size {doc['tree_size']} differs from the signed {tree_size}")
    if _hex32(doc["root"], "root") != root:
        raise RecordsError("the disclosure's root differs from the signed root")
    entries = doc["records"]
    if not isinstance(entries, list) or not entries:
        raise RecordsError("a disclosure must reveal at least one record")
    seen: set[int] = set()
    revealed = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != _RECORD_FIELDS:
            raise RecordsError("a revealed record must have exactly index, record and proof")
        index = _int(entry["index"], "index")
        if index >= tree_size:
            raise RecordsError(f"record index {index} is outside a tree of {tree_size}")
        if index in seen:
            raise RecordsError(f"record {index} is revealed twice")
        seen.add(index)
        line, proof = entry["record"], entry["proof"]
        if not isinstance(line, str):
            raise RecordsError(f"record {index} must be the record's line as a string")
        if not isinstance(proof, list) or len(proof) > MAX_PROOF_LENGTH:
            raise RecordsError(f"the proof of record {index} must be a list of hashes")
        hashes = [_hex32(h, f"a hash in the proof of record {index}") for h in proof]
        record = parse_record(line)
        if not _verify_inclusion(leaf_hash(line.encode("utf-8")), index, tree_size, hashes, root):
            raise RecordsError(f"record {index} is not in the signed tree (its proof fails)")
        revealed.append(DisclosedRecord(index, record))
    return revealed
