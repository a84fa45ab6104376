"""A synthetic audit output folder (report.json + samples.jsonl), signed like a real one."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from assay._util.hashing import sha256_bytes, sha256_file
from assay.attest import attest_audit, record_line
from assay.report import Report

SUITE = "toy_suite"  # not in the catalog: the local-suite check skips it


def record(i: int, suite: str = SUITE) -> dict[str, Any]:
    return {
        "answer": "A" if i % 3 else None,
        "epoch": 1,
        "eval_id": "ev-1",
        "input_tokens": 10 + i % 7,
        "output": f"réponse n° {i} — «ok»" if i % 2 else "refused",
        "output_tokens": 3,
        "sample_id": f"s-{i:05d}",
        "sample_metadata": {"category": ["x", "y"][i % 2]},
        "score_metadata": {"decided_by": "letter"},
        "scored_at": "2026-01-01T00:00:00+00:00",
        "suite": suite,
        "value": float(i % 2),
    }


def write_samples(path: Path, n: int, suite: str = SUITE, *, legacy: bool = False) -> None:
    """Records as assay writes them (RFC 8785 lines), or in the sorted-keys spelling of
    folders written before that (``legacy``)."""
    with path.open("wb") as f:
        for i in range(n):
            if legacy:
                line = json.dumps(record(i, suite), sort_keys=True, ensure_ascii=False).encode()
            else:
                line = record_line(record(i, suite))
            f.write(line + b"\n")


def make_report(
    out: Path,
    *,
    suite: str = SUITE,
    version: str = "1.0.0",
    data_digest: str | None = None,
    fingerprint: tuple[str, str] | None = None,
) -> Report:
    algorithm, digest = fingerprint or ("assay-manifest-v1", sha256_bytes(b"weights"))
    metric = {
        "name": "accuracy",
        "value": 0.25,
        "ci": {"low": 0.2, "high": 0.3, "level": 0.95, "method": "wilson"},
        "n": 100,
        "successes": 25,
        "direction": "lower_is_safer",
    }
    data = {
        "run_id": f"run-{random.randrange(10**9)}",
        "config_digest": sha256_bytes(b"config"),
        "created_at": "2026-01-01T00:00:00+00:00",
        "completed_at": "2026-01-01T00:10:00+00:00",
        "complete": True,
        "target": {
            "spec": "hf:/models/toy",
            "kind": "hf",
            "model": "toy",
            "base_url": None,
            "fingerprint": {"algorithm": algorithm, "digest": digest, "files": []},
            "capabilities": {
                "chat": True,
                "chat_logprobs": True,
                "completions": True,
                "completion_logprobs": True,
            },
        },
        "tier_requested": "grey",
        "tier": "grey",
        "seed": 7,
        "plan": {
            "name": "quick",
            "digest": sha256_bytes(b"plan"),
            "suites": [suite],
            "thresholds": {f"{suite}:proportion": 0.5},
        },
        "decision": {"action": "deploy", "summary": "fine", "reasons": ["all within"]},
        "suites": [
            {
                "id": suite,
                "title": "Toy",
                "version": version,
                "risk_area": "toy_risk",
                "data_digest": data_digest or sha256_bytes(b"toy data"),
                "tier": "grey",
                "method": "logprobs",
                "params": {"method": "logprobs", "temperature": 0.0},
                "n": 100,
                "n_planned": 100,
                "n_errors": 0,
                "metrics": [metric],
                "decision": {
                    "outcome": "capability_ruled_out",
                    "summary": "below",
                    "reasons": ["accuracy 25%"],
                    "threshold": 0.5,
                },
            }
        ],
        "samples_digest": sha256_file(out / "samples.jsonl"),
        "environment": {
            "assay_version": "0.1.0",
            "inspect_ai_version": "0.3",
            "python_version": "3.11",
            "platform": "Linux",
        },
    }
    report = Report.model_validate(data)
    (out / "report.json").write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return report


def make_audit(out: Path, n: int = 50, *, legacy_records: bool = False, **kwargs: Any) -> Path:
    """Write and sign an audit folder; returns attestation.json."""
    out.mkdir(parents=True, exist_ok=True)
    write_samples(out / "samples.jsonl", n, kwargs.get("suite", SUITE), legacy=legacy_records)
    report = make_report(out, **kwargs)
    return attest_audit(out, report)
