"""Offline verification of an audit attestation. Every check is explicit; the first
failure is named, and nothing counts as verified unless a trusted key signed it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from assay._util.hashing import sha256_file
from assay.attest._dsse import EnvelopeError, decode_json_payload, verify_envelope
from assay.attest._keys import key_id
from assay.attest._statement import PREDICATE_TYPE, STATEMENT_TYPE


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Verification:
    checks: list[Check] = field(default_factory=list)
    signers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if not c.ok), None)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok


def verify_attestation(
    path: Path, trusted_keys: list[Ed25519PublicKey], artifacts: Path | None = None
) -> Verification:
    """Check signature, statement shape and, when the files are at hand, subject digests."""
    result = Verification()
    try:
        envelope = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        result.add("read", False, f"cannot read {path} as JSON: {type(exc).__name__}")
        return result
    trusted = {key_id(k): k for k in trusted_keys}
    try:
        payload, signers = verify_envelope(envelope, trusted)
        statement = decode_json_payload(payload)
    except EnvelopeError as exc:
        result.add("signature", False, str(exc))
        return result
    result.signers = signers
    result.add("signature", True, "signed by " + ", ".join(signers))
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        result.add(
            "statement", False, "not an assay audit statement (wrong _type or predicateType)"
        )
        return result
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        result.add("statement", False, "the statement has no subjects")
        return result
    result.add("statement", True, f"{len(subjects)} subjects, predicate {PREDICATE_TYPE}")
    folder = artifacts if artifacts is not None else path.parent
    for subject in subjects:
        name = subject.get("name") if isinstance(subject, dict) else None
        digest = subject.get("digest", {}).get("sha256") if isinstance(subject, dict) else None
        if not isinstance(name, str) or not isinstance(digest, str):
            result.add("subject", False, "a subject lacks a name or a sha256 digest")
            return result
        if ":" in name:
            continue  # model and suite subjects are checked against their sources, not files here
        file_path = folder / name
        if not file_path.is_file():
            result.add(f"subject {name}", False, f"{file_path} is missing")
            continue
        actual = sha256_file(file_path).removeprefix("sha256:")
        result.add(
            f"subject {name}",
            actual == digest,
            "digest matches" if actual == digest else "digest differs: the file was changed",
        )
    return result
