"""Checking a submitted audit before anything is stored.

The attestation is verified by :func:`assay.attest.verify_attestation`, the code
behind ``assay verify``, with the submitting organisation's registered signing keys
as the only trusted keys (so a signature by another organisation's key is refused);
``report.json``, when sent, must match the digest the statement signs. Then the
statement must fit the engagement: the audited model's fingerprint is one registered
for the engagement's model version, the tier is within the agreed tier, the suites
and plan are the agreed ones, and the run falls in the agreed period.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from assay._util.hashing import sha256_bytes
from assay.attest import EnvelopeError, parse_envelope, verify_attestation
from assay.registry._errors import RegistryError
from assay.tiers import Tier

ATTESTATION_FILE = "attestation.json"
REPORT_FILE = "report.json"


class Refused(RegistryError):
    """A submission that fails a check; the message says which and why."""

    def __init__(self, message: str, code: str = "verification_failed") -> None:
        super().__init__(422, message, code=code)


@dataclass(frozen=True)
class Limits:
    """Size caps, checked before anything is parsed further or stored."""

    max_request_bytes: int = 16 * 1024 * 1024
    max_attestation_bytes: int = 2 * 1024 * 1024
    max_report_bytes: int = 8 * 1024 * 1024
    max_document_bytes: int = 8 * 1024 * 1024


@dataclass(frozen=True)
class Accepted:
    """What ingest learned from a submission that passed every check."""

    payload: bytes
    statement: dict[str, Any]
    statement_sha256: str
    signers: list[str]
    summary: dict[str, Any]


def verify_submission(
    envelope: dict[str, Any],
    report: str | None,
    *,
    trusted: list[Ed25519PublicKey],
    fingerprints: list[dict[str, str]],
    scope: dict[str, Any],
    limits: Limits,
) -> Accepted:
    """Run every check; raise :class:`Refused` naming the first that fails."""
    attestation_bytes = json.dumps(envelope).encode()
    if len(attestation_bytes) > limits.max_attestation_bytes:
        raise Refused(
            f"the attestation is larger than {limits.max_attestation_bytes} bytes", "too_large"
        )
    report_bytes = report.encode() if report is not None else None
    if report_bytes is not None and len(report_bytes) > limits.max_report_bytes:
        raise Refused(f"report.json is larger than {limits.max_report_bytes} bytes", "too_large")
    try:
        parse_envelope(envelope)
    except EnvelopeError as exc:
        raise Refused(f"not a DSSE envelope: {exc}") from None
    if not trusted:
        raise Refused(
            "your organisation has no signing key registered",
            code="no_signing_key",
        )
    with tempfile.TemporaryDirectory(prefix="assay-ingest-") as folder:
        path = Path(folder) / ATTESTATION_FILE
        path.write_bytes(attestation_bytes)
        if report_bytes is not None:
            (Path(folder) / REPORT_FILE).write_bytes(report_bytes)
        result = verify_attestation(path, trusted, check_suites=False)
    failure = result.first_failure
    if failure is not None:
        detail = failure.detail
        if failure.name == "signature" and "no signature by a trusted key" in detail:
            detail = "it is not signed by a key registered to your organisation"
        raise Refused(f"verification failed at {failure.name}: {detail}")
    assert result.statement is not None
    statement = result.statement
    payload_type, payload, _ = parse_envelope(envelope)
    del payload_type
    predicate = statement["predicate"]
    _check_scope(predicate, fingerprints, scope)
    return Accepted(
        payload=payload,
        statement=statement,
        statement_sha256=sha256_bytes(payload),
        signers=result.signers,
        summary=summarise(predicate, report_sent=report_bytes is not None),
    )


def _check_scope(
    predicate: dict[str, Any], fingerprints: list[dict[str, str]], scope: dict[str, Any]
) -> None:
    target = predicate["target"]
    fingerprint = target["fingerprint"]
    registered = {(f["algorithm"], f["digest"]) for f in fingerprints}
    if (fingerprint["algorithm"], fingerprint["digest"]) not in registered:
        raise Refused(
            f"the audited model ({target['model']}, fingerprint {fingerprint['algorithm']} "
            f"{fingerprint['digest']}) is not the engagement's model version: its registered "
            "fingerprints differ",
            code="wrong_model",
        )
    agreed = Tier(scope["tier"])
    tier = Tier(predicate["tier"])
    if not agreed.allows(tier):
        raise Refused(
            f"the audit ran at {tier.value} tier, beyond the agreed {agreed.value}",
            code="out_of_scope",
        )
    suites = set(scope.get("suites") or [])
    ran = {r["suite"] for r in predicate["results"]}
    if suites and not ran <= suites:
        extra = ", ".join(sorted(ran - suites))
        raise Refused(f"suites outside the engagement's scope: {extra}", code="out_of_scope")
    plan = scope.get("plan")
    if plan and predicate["plan"]["name"] != plan:
        raise Refused(
            f"the audit ran plan {predicate['plan']['name']!r}, the engagement agreed {plan!r}",
            code="out_of_scope",
        )
    started = _day(predicate["run"]["created_at"])
    starts_on, ends_on = scope.get("starts_on"), scope.get("ends_on")
    if started is not None and (
        (starts_on and started < date.fromisoformat(starts_on))
        or (ends_on and started > date.fromisoformat(ends_on))
    ):
        raise Refused(
            f"the audit started on {started}, outside the engagement's period "
            f"{starts_on or '…'} to {ends_on or '…'}",
            code="out_of_scope",
        )


def _day(text: str) -> date | None:
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def summarise(predicate: dict[str, Any], *, report_sent: bool) -> dict[str, Any]:
    """The parts of a statement that listings show (everything else is in it)."""
    return {
        "model": predicate["target"]["model"],
        "fingerprint": predicate["target"]["fingerprint"]["digest"],
        "tier": predicate["tier"],
        "plan": predicate["plan"]["name"],
        "run_id": predicate["run"]["run_id"],
        "complete": predicate["run"]["complete"],
        "completed_at": predicate["run"]["completed_at"],
        "decision": {
            "action": predicate["decision"]["action"],
            "summary": predicate["decision"]["summary"],
        },
        "results": [
            {
                "suite": r["suite"],
                "risk_area": r["risk_area"],
                "n": r["n"],
                "outcome": r["decision"]["outcome"],
                "summary": r["decision"]["summary"],
            }
            for r in predicate["results"]
        ],
        "report": report_sent,
    }
