"""Sequential against fixed-size testing on real suites: queries used and decisions.

Runs the whole `standard` plan twice on the same target, once with every planned
sample (``--fixed``) and once with the plan's sequential design, then compares the
wall time, CPU time, model requests and tokens each spent (from the gateway log's
totals in the report) and the findings each reached; only the rate suites can stop
early, so the per-suite comparison is theirs. Because one sequential run is one
random order, it also replays the stopping rule (:class:`assay.stats.SequentialMonitor`,
the one the audit runner uses, through :func:`assay.stats.stopping_point`) on the fixed
run's own per-item outcomes over many random orders, giving the expected saving and how
often the decisions agree.

    python bench/sequential_savings.py                     # builtin:smollm2, ~75 min
    python bench/sequential_savings.py --target hf:/path --replays 500

Both audits resume when rerun with the same --work directory. Results are appended
to bench/results/sequential_savings.jsonl.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _provenance import git_commit, timed_run
from assay.audit import CONFIDENCE, load_plan
from assay.gateway import Tier
from assay.report import (
    RateCounts,
    SuiteRunInfo,
    ThresholdSpec,
    can_settle,
    rate_estimate_from_counts,
)
from assay.stats import Design, SequentialMonitor, stopping_point
from assay.suites import get_suite

RESULTS = Path(__file__).parent / "results" / "sequential_savings.jsonl"


def rate_suites(plan_name: str) -> list[str]:
    plan = load_plan(plan_name)
    with_rate_threshold = {
        t.suite
        for t in plan.thresholds
        if t.unit == "proportion" and t.metric == get_suite(t.suite).primary_metric.name
    }
    return [
        e.id for e in plan.suites if e.id in with_rate_threshold and get_suite(e.id).per_sample_rate
    ]


def run_audit(target: str, plan: str, out: Path, sequential: bool) -> dict[str, float]:
    """Wall and CPU seconds of one audit subprocess (CPU time is what other load on the
    machine does not inflate)."""
    command = [
        sys.executable,
        "-m",
        "assay",
        "audit",
        "--target",
        target,
        "--plan",
        plan,
        "--out",
        str(out),
        "--quiet",
        "--sequential" if sequential else "--fixed",
    ]
    spent = timed_run(command)
    return {
        "wall_seconds": round(spent["wall"], 1),
        "cpu_seconds": round(spent["user"] + spent["sys"], 1),
        "load_average_after": round(spent["load"], 2),
    }


def spending(out: Path) -> dict[str, Any]:
    """Requests and tokens the audit's engagement spent (the gateway log's totals), items
    scored, and the wall time from the report's creation to its completion."""
    report = json.loads((out / "report.json").read_text())
    totals = report["gateway_log"]["totals"]
    wall = datetime.fromisoformat(report["completed_at"]) - datetime.fromisoformat(
        report["created_at"]
    )
    return {k: int(totals[k]) for k in ("requests", "prompt_tokens", "completion_tokens")} | {
        "scored_items": sum(int(s["n"]) for s in report["suites"]),
        "report_wall_seconds": round(wall.total_seconds(), 1),
    }


def findings(out: Path) -> dict[str, dict[str, Any]]:
    report = json.loads((out / "report.json").read_text())
    return {
        s["id"]: {"n": s["n"], "n_planned": s["n_planned"], "outcome": s["decision"]["outcome"]}
        for s in report["suites"]
    }


def outcomes_by_suite(out: Path) -> dict[str, list[bool]]:
    found: dict[str, list[bool]] = {}
    for line in (out / "samples.jsonl").read_text().splitlines():
        record = json.loads(line)
        found.setdefault(record["suite"], []).append(float(record["value"]) >= 0.5)
    return found


def replay(
    suite: str,
    outcomes: list[bool],
    threshold: float,
    design: Design,
    alpha: float,
    rng: random.Random,
) -> tuple[int, str]:
    """The audit runner's stopping rule on one random order of already-measured outcomes:
    the plan's design, stopping at ``alpha`` (the level its multiple-comparison control
    demands), the suite's own estimate (judge-corrected for refusal suites). A suite whose
    whole sample could not settle at that level runs every item, as in audits."""
    info = SuiteRunInfo(
        spec=get_suite(suite),
        tier=Tier.BLACK,
        method="-",
        params={},
        n_planned=len(outcomes),
        design=design,
        thresholds=[ThresholdSpec(get_suite(suite).primary_metric.name, threshold)],
    )
    if not can_settle(info, design, threshold, alpha):
        return len(outcomes), "fixed"
    order = outcomes[:]
    rng.shuffle(order)
    monitor = SequentialMonitor(design, threshold, alpha)

    def estimate_at(n: int):  # type: ignore[no-untyped-def]
        successes = sum(order[:n])
        return rate_estimate_from_counts(info, RateCounts(successes, n, 0))

    n = stopping_point(monitor, estimate_at)
    if not monitor.settled(estimate_at(n), n):
        return n, "undecided"
    return n, "above" if sum(order[:n]) / n > threshold else "below"


def fixed_side(ci: dict[str, float] | None, threshold: float) -> str:
    if ci is None:  # no interval (e.g. agent suites without a rate estimate)
        return "undecided"
    return "above" if ci["low"] > threshold else "below" if ci["high"] < threshold else "undecided"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="builtin:smollm2")
    parser.add_argument("--plan", default="standard")
    parser.add_argument("--work", type=Path, default=Path("bench-work/sequential"))
    parser.add_argument("--replays", type=int, default=200)
    parser.add_argument(
        "--skip-fixed",
        action="store_true",
        help="reuse the fixed-size audit already in --work/fixed (it is the slow half)",
    )
    parser.add_argument(
        "--analyse-only",
        action="store_true",
        help="run neither audit: compare the two already in --work (no CPU times then)",
    )
    args = parser.parse_args()
    commit = git_commit()

    plan = load_plan(args.plan)
    suites = rate_suites(args.plan)
    thresholds = {t.suite: t.value for t in plan.thresholds if t.unit == "proportion"}
    tested = {t.suite for t in plan.thresholds}
    m = len([e for e in plan.suites if e.id in tested])
    alpha = (1 - CONFIDENCE) / (m if plan.statistics.multiple_comparisons != "none" else 1)
    fixed_out, seq_out = args.work / "fixed", args.work / "sequential"
    skip_fixed = args.skip_fixed or args.analyse_only
    fixed_time = (
        {} if skip_fixed else run_audit(args.target, args.plan, fixed_out, sequential=False)
    )
    seq_time = (
        {} if args.analyse_only else run_audit(args.target, args.plan, seq_out, sequential=True)
    )
    fixed, seq = findings(fixed_out), findings(seq_out)

    rng = random.Random(0)
    per_suite = {}
    measured = outcomes_by_suite(fixed_out)
    fixed_report = {
        s["id"]: s for s in json.loads((fixed_out / "report.json").read_text())["suites"]
    }
    for suite in suites:
        outcomes = measured[suite]
        ci = fixed_report[suite]["metrics"][0]["ci"]
        side = fixed_side(ci, thresholds[suite])
        n = len(outcomes)
        design = (
            Design.confidence_sequence(n, plan.statistics.batch_for(n))
            if plan.statistics.design_kind == "confidence-sequence"
            else Design.group_sequential(n, plan.statistics.looks, plan.statistics.spending)
        )
        runs = [
            replay(suite, outcomes, thresholds[suite], design, alpha, rng)
            for _ in range(args.replays)
        ]
        per_suite[suite] = {
            "threshold": thresholds[suite],
            "rate": sum(outcomes) / len(outcomes),
            "fixed_n": fixed[suite]["n"],
            "fixed_outcome": fixed[suite]["outcome"],
            "sequential_n": seq[suite]["n"],
            "sequential_outcome": seq[suite]["outcome"],
            "replay_mean_n": sum(n for n, _ in runs) / len(runs),
            "replay_same_side": sum(1 for _, s in runs if s in (side, "fixed")) / len(runs),
        }
    fixed_total = sum(v["fixed_n"] for v in per_suite.values())
    seq_total = sum(v["sequential_n"] for v in per_suite.values())
    replay_total = sum(v["replay_mean_n"] for v in per_suite.values())
    same = all(v["fixed_outcome"] == v["sequential_outcome"] for v in per_suite.values())
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "target": args.target,
        "plan": args.plan,
        "suites": per_suite,
        "queries_fixed": fixed_total,
        "queries_sequential": seq_total,
        "saving": 1 - seq_total / fixed_total,
        "replay_saving": 1 - replay_total / fixed_total,
        "same_decisions": same,
        "whole_plan": {
            "fixed": fixed_time | spending(fixed_out),
            "sequential": seq_time | spending(seq_out),
        },
        "commit": commit,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as handle:
        handle.write(json.dumps(result) + "\n")
    print(
        f"{'suite':<22} {'thr':>5} {'rate':>6} {'fixed n':>8} {'seq n':>6} {'replay n':>9}  decisions"
    )
    for suite, v in per_suite.items():
        print(
            f"{suite:<22} {v['threshold']:>5.2f} {v['rate']:>6.3f} {v['fixed_n']:>8} "
            f"{v['sequential_n']:>6} {v['replay_mean_n']:>9.1f}  {v['fixed_outcome']} / "
            f"{v['sequential_outcome']} (replays on the fixed side: {v['replay_same_side']:.0%})"
        )
    print(
        f"queries: fixed {fixed_total}, sequential {seq_total} (saving {result['saving']:.0%}; "
        f"over {args.replays} replayed orders {result['replay_saving']:.0%}); "
        f"same decisions: {same}"
    )
    for half, spent in result["whole_plan"].items():
        print(f"whole plan, {half}: " + ", ".join(f"{k} {v}" for k, v in spent.items()))


if __name__ == "__main__":
    main()
