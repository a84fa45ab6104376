"""In-toto Statement v1 for an audit, signed into ``attestation.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assay._util.hashing import canonical_json, sha256_file
from assay.attest._dsse import sign_envelope
from assay.attest._keys import load_or_create_key
from assay.report import Report

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://assay.dev/attestation/audit/v1"
ATTESTED_FILES = ("report.json", "samples.jsonl")


def _hex(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    if algorithm != "sha256" or not value:
        raise ValueError(f"expected a sha256 digest, got {digest!r}")
    return value


def audit_statement(report: Report, out: Path) -> dict[str, Any]:
    """The statement: what was tested (subjects) and what was found (predicate)."""
    subjects: list[dict[str, Any]] = [
        {
            "name": f"model:{report.target.model}",
            "digest": {"sha256": _hex(report.target.fingerprint.digest)},
            "annotations": {"fingerprint_algorithm": report.target.fingerprint.algorithm},
        }
    ]
    for name in ATTESTED_FILES:
        subjects.append({"name": name, "digest": {"sha256": _hex(sha256_file(out / name))}})
    for suite in report.suites:
        subjects.append(
            {
                "name": f"suite:{suite.id}@{suite.version}",
                "digest": {"sha256": _hex(suite.data_digest)},
            }
        )
    predicate = {
        "assay_version": report.environment.assay_version,
        "run_id": report.run_id,
        "config_digest": report.config_digest,
        "completed_at": report.completed_at,
        "complete": report.complete,
        "target": {
            "spec": report.target.spec,
            "kind": report.target.kind,
            "model": report.target.model,
            "base_url": report.target.base_url,
        },
        "tier": report.tier,
        "tier_requested": report.tier_requested,
        "seed": report.seed,
        "plan": {"name": report.plan.name, "digest": report.plan.digest},
        "samples_digest": report.samples_digest,
        "results": [
            {
                "suite": s.id,
                "version": s.version,
                "tier": s.tier,
                "method": s.method,
                "metric": s.metrics[0].model_dump(mode="json"),
                "outcome": s.decision.outcome,
            }
            for s in report.suites
        ],
        "decision": {"action": report.decision.action, "summary": report.decision.summary},
    }
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def attest_audit(out: Path, report: Report, key_name: str = "tester") -> Path:
    """Sign the audit's statement with the tester key and write ``attestation.json``."""
    key = load_or_create_key(key_name)
    statement = audit_statement(report, out)
    envelope = sign_envelope(canonical_json(statement), [key])
    path = out / "attestation.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(envelope, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
