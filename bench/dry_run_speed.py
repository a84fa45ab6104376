"""How long ``assay audit --dry-run`` takes, against an older source tree side by side.

Runs each dry run (default plan without calibration, default plan and ``standard``
plan with the calibration cached) as a fresh process, interleaving the current code
and, with ``--baseline-src``, an older checkout's ``src`` (put first on PYTHONPATH),
over rounds. Reports wall, user and system seconds; medians in docs/benchmarks.md.

    git archive <commit> src | tar -x -C /tmp/old
    python bench/dry_run_speed.py --baseline-src /tmp/old/src --rounds 3

Results are appended to bench/results/dry_run_speed.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from _provenance import git_commit, timed_run

RUNS = {
    "default, --no-calibrate": ["--no-calibrate"],
    "default, calibration cached": [],
    "standard, calibration cached": ["--plan", "standard"],
}


def timed(args: list[str], pythonpath: str | None) -> dict[str, float]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    spent = timed_run(
        [sys.executable, "-m", "assay", "audit", "--dry-run", "--json", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return {k: round(v, 2) for k, v in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", type=Path, help="an older checkout's src folder")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    contenders: dict[str, str | None] = {"current": None}
    if args.baseline_src:
        contenders = {"baseline": str(args.baseline_src.resolve()), **contenders}
    timed(RUNS["standard, calibration cached"], None)  # fills the caches if they are empty
    raw: list[dict[str, object]] = []
    for round_ in range(args.rounds):
        for contender, pythonpath in contenders.items():
            for name, extra in RUNS.items():
                raw.append(
                    {
                        "round": round_,
                        "contender": contender,
                        "run": name,
                        **timed(extra, pythonpath),
                    }
                )
    commit = git_commit()
    print(f"| dry run | {' | '.join(f'{c} wall / user s (median)' for c in contenders)} |")
    for name in RUNS:
        cells = []
        for contender in contenders:
            rows = [r for r in raw if r["run"] == name and r["contender"] == contender]
            wall = statistics.median(float(str(r["wall"])) for r in rows)
            user = statistics.median(float(str(r["user"])) for r in rows)
            cells.append(f"{wall:.1f} / {user:.1f}")
        print(f"| {name} | {' | '.join(cells)} |")
    out = Path(__file__).parent / "results" / "dry_run_speed.jsonl"
    record = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "baseline_src": str(args.baseline_src) if args.baseline_src else None,
        "cpus": os.cpu_count(),
        "raw": raw,
    }
    with out.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
