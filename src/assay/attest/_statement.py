"""In-toto Statement v1 for an audit, signed into ``attestation.json``.

The predicate follows ``schema/audit-predicate-1.schema.json`` and is checked
against it when signing and when verifying.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema

from assay._util.errors import AssayError
from assay._util.hashing import sha256_bytes, sha256_file, sha256_json
from assay._util.paths import atomic_write_text
from assay.attest._dsse import EnvelopeError, decode_json_payload, sign_envelope, verify_envelope
from assay.attest._keys import SigningKey, load_or_create_key
from assay.attest._samples import SAMPLES_FILE, samples_tree

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from assay.report import Report
    from assay.stats import Metric

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://assay.dev/attestation/audit/v1"
PREDICATE_SCHEMA_VERSION = "1"
PREDICATE_SCHEMA_PATH = (
    Path(__file__).parent / "schema" / f"audit-predicate-{PREDICATE_SCHEMA_VERSION}.schema.json"
)
REPORT_FILE = "report.json"
GATEWAY_LOG_PAYLOAD_TYPE = "application/vnd.assay.gateway-log+json"
SOURCE_MANIFEST = "assay-source-manifest-v1"


class PredicateError(ValueError):
    """The predicate does not follow the published schema."""


@functools.cache
def predicate_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PREDICATE_SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = predicate_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def validate_predicate(predicate: Any) -> None:
    """Raise :class:`PredicateError` naming the first violation of the schema."""
    errors = sorted(_validator().iter_errors(predicate), key=lambda e: list(map(str, e.path)))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(root)"
        raise PredicateError(f"predicate does not match its schema at {where}: {errors[0].message}")


def subject_hex(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    if algorithm != "sha256" or len(value) != 64:
        raise AssayError(f"expected a sha256 digest, got {digest!r}")
    return value


@functools.cache
def source_digest() -> str:
    """sha256 over a manifest of the installed assay package's files: the code that ran."""
    root = Path(__file__).resolve().parent.parent
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix != ".pyc"
        and not any(
            part.startswith(".") or part == "__pycache__" for part in p.relative_to(root).parts
        )
    )
    return sha256_json([[p.relative_to(root).as_posix(), sha256_file(p)] for p in files])


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _metric(metric: Metric) -> dict[str, Any]:
    ci = metric.ci
    finite_ci = ci is not None and all(math.isfinite(v) for v in (ci.low, ci.high, ci.level))
    return {
        "name": metric.name,
        "unit": metric.unit,
        "value": _finite(metric.value),
        "ci": (
            {"low": ci.low, "high": ci.high, "level": ci.level, "method": ci.method}
            if ci is not None and finite_ci
            else None
        ),
        "n": metric.n,
    }


def sign_gateway_log(export: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """A gateway log export (``RequestLog.export``) in a DSSE envelope signed by ``key``."""
    payload = json.dumps(export, sort_keys=True, separators=(",", ":")).encode()
    return sign_envelope(payload, [key], payload_type=GATEWAY_LOG_PAYLOAD_TYPE)


def gateway_log_summary(envelope: Any, trusted: dict[str, Ed25519PublicKey]) -> dict[str, Any]:
    """Head and totals from a gateway log export (``assay gateway log export``), after
    checking its signature by a trusted gateway key."""
    try:
        payload, signers = verify_envelope(envelope, trusted, GATEWAY_LOG_PAYLOAD_TYPE)
        export = decode_json_payload(payload)
    except EnvelopeError as exc:
        raise AssayError(f"gateway log export: {exc}") from None
    chain, totals = export.get("chain"), export.get("totals")
    if not isinstance(chain, dict) or not isinstance(totals, dict) or chain.get("ok") is not True:
        raise AssayError("gateway log export: no intact chain with totals")
    return {
        "engagement": export.get("engagement"),
        "head": chain.get("head"),
        "entries": chain.get("entries"),
        "totals": totals,
        "export_digest": sha256_bytes(payload),
        "signers": signers,
    }


def audit_predicate(
    report: Report, out: Path, *, gateway_log: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What was measured and decided; ``out`` must hold the samples file already."""
    tree = samples_tree(out / SAMPLES_FILE)
    if report.samples_digest and report.samples_digest != tree.digest:
        raise AssayError("report.json's samples_digest does not match samples.jsonl")
    return {
        "schema_version": PREDICATE_SCHEMA_VERSION,
        "assay_version": report.environment.assay_version,
        "run": {
            "run_id": report.run_id,
            "config_digest": report.config_digest,
            "created_at": report.created_at,
            "completed_at": report.completed_at,
            "complete": report.complete,
        },
        "target": {
            "spec": report.target.spec,
            "kind": report.target.kind,
            "model": report.target.model,
            "base_url": report.target.base_url,
            "fingerprint": {
                "algorithm": report.target.fingerprint.algorithm,
                "digest": report.target.fingerprint.digest,
                "behaviour": report.target.fingerprint.behaviour,
            },
        },
        "tier": str(report.tier),
        "tier_requested": str(report.tier_requested),
        "techniques": [
            {
                "suite": s.id,
                "method": s.method,
                "tier": str(s.tier),
                "judge": (
                    None
                    if s.judge is None
                    else {
                        "judge": s.judge.judge,
                        "version": s.judge.version,
                        "dataset": s.judge.dataset,
                        "n": s.judge.n,
                    }
                ),
            }
            for s in report.suites
        ],
        "sampling": {
            "seed": report.seed,
            "params": {s.id: dict(s.params) for s in report.suites},
            "statistics": dict(getattr(report.plan, "statistics", {})),
        },
        "plan": {
            "name": report.plan.name,
            "digest": report.plan.digest,
            "suites": list(report.plan.suites),
            "thresholds": dict(report.plan.thresholds),
        },
        "results": [
            {
                "suite": s.id,
                "version": s.version,
                "risk_area": s.risk_area,
                "data_digest": s.data_digest,
                "n": s.n,
                "n_planned": s.n_planned,
                "n_errors": s.n_errors,
                "metrics": [_metric(m) for m in s.metrics],
                "decision": {
                    "outcome": s.decision.outcome,
                    "kind": s.decision.kind,
                    "threshold": _finite(s.decision.threshold),
                    "summary": s.decision.summary,
                    "reasons": list(s.decision.reasons),
                },
            }
            for s in report.suites
        ],
        "decision": {
            "action": report.decision.action,
            "actions": list(getattr(report.decision, "actions", [])),
            "summary": report.decision.summary,
            "reasons": list(report.decision.reasons),
        },
        "samples": tree.predicate(),
        "gateway_log": gateway_log,
    }


def expected_subjects(predicate: dict[str, Any]) -> dict[str, str | None]:
    """Subject name -> sha256 hex the predicate implies (None: not derivable from it)."""
    target = predicate["target"]
    subjects: dict[str, str | None] = {
        f"model:{target['model']}": subject_hex(target["fingerprint"]["digest"]),
        f"plan:{predicate['plan']['name']}": subject_hex(predicate["plan"]["digest"]),
        f"pkg:pypi/assay@{predicate['assay_version']}": None,
        REPORT_FILE: None,
        SAMPLES_FILE: subject_hex(predicate["samples"]["digest"]),
    }
    for result in predicate["results"]:
        subjects[f"suite:{result['suite']}@{result['version']}"] = subject_hex(
            result["data_digest"]
        )
    return subjects


def audit_statement(
    report: Report, out: Path, *, gateway_log: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The statement: what was tested (subjects) and what was found (predicate)."""
    predicate = audit_predicate(report, out, gateway_log=gateway_log)
    try:
        validate_predicate(predicate)
    except PredicateError as exc:
        raise AssayError(f"cannot attest this audit: {exc}") from None
    digests = expected_subjects(predicate)
    digests[f"pkg:pypi/assay@{predicate['assay_version']}"] = subject_hex(source_digest())
    digests[REPORT_FILE] = subject_hex(sha256_file(out / REPORT_FILE))
    annotations = {
        f"model:{report.target.model}": {"digest_of": report.target.fingerprint.algorithm},
        f"pkg:pypi/assay@{predicate['assay_version']}": {"digest_of": SOURCE_MANIFEST},
    }
    subjects = []
    for name, digest in digests.items():
        subject: dict[str, Any] = {"name": name, "digest": {"sha256": digest}}
        if name in annotations:
            subject["annotations"] = annotations[name]
        subjects.append(subject)
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def statement_bytes(statement: dict[str, Any]) -> bytes:
    """Canonical JSON, refusing NaN and infinities (they are not JSON)."""
    try:
        return json.dumps(
            statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode()
    except ValueError:
        raise AssayError("cannot attest a statement with NaN or infinite numbers") from None


def write_envelope(path: Path, envelope: dict[str, Any]) -> Path:
    return atomic_write_text(path, json.dumps(envelope, indent=2) + "\n")


def attest_audit(
    out: Path,
    report: Report,
    key_name: str = "tester",
    *,
    gateway_log: dict[str, Any] | None = None,
    cosigners: tuple[SigningKey, ...] = (),
) -> Path:
    """Sign the audit's statement with the tester key and write ``attestation.json``."""
    key = load_or_create_key(key_name)
    statement = audit_statement(report, out, gateway_log=gateway_log)
    envelope = sign_envelope(statement_bytes(statement), [key, *cosigners])
    return write_envelope(out / "attestation.json", envelope)
