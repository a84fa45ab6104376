"""Verifying an attested audit of 100,000 per-sample records.

Builds an audit folder with ``--records`` synthetic records (about 600 bytes each,
like real ones), a report and a signed attestation, then times, in one process:

  root       the RFC 9162 Merkle root over samples.jsonl (read, split, hash)
  verify     ``verify_attestation``: signature, statement, predicate schema,
             subjects, report.json digest and consistency, samples.jsonl digest,
             and the Merkle root recomputed from the file against the signed root
  floor      the practical limit: reading the file and one SHA-256 pass over it
  cli        ``assay verify`` as a fresh process (imports included), for reference;
             loading the suite catalog for the installed-suite check costs seconds,
             so it is also timed with ``--no-suite-check``

Each figure is the median of ``--repeats`` runs (after one warm-up), with min-max.

Run:  /tmp/probe/bin/python bench/verify_records.py [--records 100000] [--repeats 3]
Writes bench/results/verify_records.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def record(i: int) -> dict[str, Any]:
    return {
        "answer": "ABCD"[i % 4],
        "epoch": 1,
        "eval_id": "CAaSM9EAQnUgYxpSR6L7Ed",
        "input_tokens": 120 + i % 50,
        "output": f"Answer {i}: the model's completion text, long enough to look real. " * 5,
        "output_tokens": 60,
        "sample_id": f"item-{i:06d}",
        "sample_metadata": {"category": ["bio", "chem", "cyber"][i % 3], "source": "proxy"},
        "score_metadata": {"decided_by": "letter", "target": "ABCD"[(i + 1) % 4]},
        "scored_at": "2026-01-01T00:00:00+00:00",
        "suite": "bench_suite",
        "value": float(i % 2),
    }


def build(out: Path, n: int) -> Path:
    from assay._util.hashing import sha256_bytes, sha256_file
    from assay.attest import attest_audit
    from assay.report import Report

    with (out / "samples.jsonl").open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps(record(i), sort_keys=True, ensure_ascii=False) + "\n")
    metric = {
        "name": "accuracy",
        "value": 0.5,
        "ci": {"low": 0.49, "high": 0.51, "level": 0.95, "method": "wilson"},
        "n": n,
    }
    report = Report.model_validate(
        {
            "run_id": "bench",
            "config_digest": sha256_bytes(b"config"),
            "created_at": "2026-01-01T00:00:00+00:00",
            "completed_at": "2026-01-01T01:00:00+00:00",
            "complete": True,
            "target": {
                "spec": "hf:/models/bench",
                "kind": "hf",
                "model": "bench",
                "base_url": None,
                "fingerprint": {"algorithm": "assay-manifest-v1", "digest": sha256_bytes(b"w")},
                "capabilities": {
                    "chat": True,
                    "chat_logprobs": True,
                    "completions": True,
                    "completion_logprobs": True,
                },
            },
            "tier_requested": "grey",
            "tier": "grey",
            "seed": 0,
            "plan": {
                "name": "bench",
                "digest": sha256_bytes(b"plan"),
                "suites": ["bench_suite"],
                "thresholds": {},
            },
            "decision": {"action": "deploy", "summary": "", "reasons": []},
            "suites": [
                {
                    "id": "bench_suite",
                    "title": "Bench",
                    "version": "1.0.0",
                    "risk_area": "bench",
                    "data_digest": sha256_bytes(b"data"),
                    "tier": "grey",
                    "method": "logprobs",
                    "n": n,
                    "n_planned": n,
                    "n_errors": 0,
                    "metrics": [metric],
                    "decision": {"outcome": "no_threshold", "summary": "", "reasons": []},
                }
            ],
            "samples_digest": sha256_file(out / "samples.jsonl"),
            "environment": {
                "assay_version": "0.1.0",
                "inspect_ai_version": "-",
                "python_version": platform.python_version(),
                "platform": platform.system(),
            },
        }
    )
    (out / "report.json").write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return attest_audit(out, report)


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm-up: imports, file cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def summary(times: list[float]) -> dict[str, float]:
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-cli", action="store_true", help="skip the fresh-process run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="assay-bench-verify-") as tmp:
        home = Path(tmp) / "home"
        os.environ["ASSAY_HOME"] = str(home)
        from assay.attest import load_or_create_key, merkle_root, split_records, verify_attestation

        out = Path(tmp) / "audit"
        out.mkdir()
        attestation = build(out, args.records)
        samples = out / "samples.jsonl"
        key = load_or_create_key("tester").public_key

        def verify() -> None:
            result = verify_attestation(attestation, [key])
            if not result.ok:
                raise SystemExit(f"verification failed: {result.first_failure}")
            root_check = next(c for c in result.checks if c.name == "samples root")
            assert f"{args.records} records" in root_check.detail

        results = {
            "root": summary(
                timed(lambda: merkle_root(split_records(samples.read_bytes())), args.repeats)
            ),
            "verify": summary(timed(verify, args.repeats)),
            "floor": summary(
                timed(lambda: hashlib.sha256(samples.read_bytes()).digest(), args.repeats)
            ),
        }
        if not args.no_cli:
            cmd = [sys.executable, "-m", "assay", "verify", str(attestation)]
            for name, extra in (("cli", []), ("cli_no_suites", ["--no-suite-check"])):
                results[name] = summary(
                    timed(
                        lambda extra=extra: subprocess.run(
                            [*cmd, *extra], check=True, capture_output=True
                        ),
                        args.repeats,
                    )
                )
        size_mb = samples.stat().st_size / 1e6

    report = {
        "records": args.records,
        "samples_mb": round(size_mb, 1),
        "repeats": args.repeats,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "load_average": os.getloadavg()[0],
        "seconds": results,
        "verify_over_floor": results["verify"]["median"] / results["floor"]["median"],
    }
    target = Path(__file__).parent / "results" / "verify_records.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(report, indent=2) + "\n")

    print(
        f"{args.records:,} records, samples.jsonl {size_mb:.1f} MB; median of {args.repeats} (min-max)\n"
    )
    print("| step | seconds |")
    print("|---|---|")
    labels = {
        "root": "Merkle root over samples.jsonl",
        "verify": "verify_attestation (everything, root recomputed)",
        "floor": "floor: read + one SHA-256 pass",
        "cli": "`assay verify` in a fresh process",
        "cli_no_suites": "`assay verify --no-suite-check` in a fresh process",
    }
    for name, t in results.items():
        print(f"| {labels[name]} | {t['median']:.3f} ({t['min']:.3f}-{t['max']:.3f}) |")
    print(
        f"\nverify / floor = {report['verify_over_floor']:.1f}x; load average {report['load_average']:.2f}"
    )


if __name__ == "__main__":
    main()
