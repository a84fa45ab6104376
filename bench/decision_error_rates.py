"""Per suite: how often the decision rule errs, and how often it settles, at the sizes
the built-in plans use.

Every simulated audit runs the code audits run: synthetic scored records go through the
same sampling design and stopping rule (``SequentialMonitor`` at the level the plan's
multiple-comparison control demands), the same judge correction, and ``suite_result``
(the suite's own summary and ``decide_suite``). What is simulated is only the model's
answers: per-item outcomes at a chosen true rate (refusal suites: also the judge's
errors, at its measured sensitivity and specificity), yes/no scores with a planted
group effect that varies by scenario, BBQ answers with a chosen stereotype preference,
mirrored refusals with a chosen asymmetry, jailbreak successes per transformation.

    python bench/decision_error_rates.py                        # quick and standard, ~15 min
    python bench/decision_error_rates.py --plan standard --reps 200

Prints one table per plan and appends the figures to
bench/results/decision_error_rates.jsonl. The error rate is the share of simulated
audits that settle on the wrong side of the threshold (at the threshold itself, any
settled finding); power the share that settle on the right side. Both are per suite,
before Holm's correction across the plan (which can only make settled findings fewer).
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assay.audit import CONFIDENCE, load_plan
from assay.gateway import Tier
from assay.judges import validate_judge
from assay.records import SampleRecord
from assay.report import SuiteRunInfo, ThresholdSpec, can_settle, rate_estimate, suite_result
from assay.stats import Design, SequentialMonitor
from assay.suites import get_suite
from assay.suites.discrimination import build_items
from assay.suites.discrimination_bbq import load_items as bbq_items

RESULTS = Path(__file__).parent / "results" / "decision_error_rates.jsonl"
UPPER = {"capability_present", "safeguard_adequate", "exceeds_threshold"}
LOWER = {"capability_ruled_out", "safeguard_inadequate", "within_threshold"}
STAMP = datetime(2026, 1, 1, tzinfo=UTC)


def rec(suite: str, i: int, value: float, **kw: Any) -> SampleRecord:
    return SampleRecord(
        suite=suite,
        sample_id=f"{suite}-{i}",
        epoch=1,
        value=value,
        answer=kw.get("answer"),
        output=None,
        sample_metadata=kw.get("sample", {}),
        score_metadata=kw.get("score", {}),
        input_tokens=0,
        output_tokens=0,
        eval_id="bench",
        scored_at=STAMP,
    )


@dataclass
class Context:
    plan: Any
    alpha_stop: float
    rng: np.random.Generator

    def limit(self, suite: str) -> int:
        entry = next(e for e in self.plan.suites if e.id == suite)
        items = get_suite(suite).item_count
        return min(items, entry.limit or items)

    def thresholds(self, suite: str) -> list[ThresholdSpec]:
        return [
            ThresholdSpec(t.metric, t.value, t.meaning, t.unit)
            for t in self.plan.thresholds
            if t.suite == suite
        ]

    def info(self, suite: str, n: int, design: Design | None = None) -> SuiteRunInfo:
        return SuiteRunInfo(
            spec=get_suite(suite),
            tier=Tier.BLACK,
            method="bench",
            params={},
            n_planned=n,
            interval=self.plan.statistics.interval,
            design=design,
            stopping_alpha=self.alpha_stop if design is not None else None,
            thresholds=self.thresholds(suite),
        )


def side(outcome: str) -> str:
    return "upper" if outcome in UPPER else "lower" if outcome in LOWER else "open"


# ---- rate suites --------------------------------------------------------------------------


def rate_audit(ctx: Context, suite: str, true_rate: float) -> tuple[str, int]:
    """One simulated audit of a rate suite: true outcomes at ``true_rate``, judged with the
    judge's measured errors where the suite has a refusal judge, sampled by the plan's
    design and stopped by the audits' monitor."""
    spec = get_suite(suite)
    n_max = ctx.limit(suite)
    truth = ctx.rng.random(n_max) < true_rate
    if spec.decide_on_corrected:
        judge = validate_judge()
        se, sp = judge.sensitivity.value, judge.specificity.value
        flips = ctx.rng.random(n_max)
        labels = np.where(truth, flips < se, flips >= sp)
    else:
        labels = truth
    records = [rec(suite, i, float(v)) for i, v in enumerate(labels)]
    threshold = next(t.value for t in ctx.thresholds(suite) if t.unit == "proportion")
    kind = ctx.plan.statistics.design_kind
    design = None
    if kind != "fixed":
        design = (
            Design.group_sequential(n_max, ctx.plan.statistics.looks, ctx.plan.statistics.spending)
            if kind == "group-sequential"
            else Design.confidence_sequence(n_max, ctx.plan.statistics.batch_for(n_max))
        )
        if not can_settle(ctx.info(suite, n_max, design), design, threshold, ctx.alpha_stop):
            design = None
    n = n_max
    if design is not None:
        monitor = SequentialMonitor(design, threshold, ctx.alpha_stop)
        info = ctx.info(suite, n_max, design)
        for look in design.looks:
            if monitor.stop(rate_estimate(info, records[:look]), look):
                n = look
                break
    result = suite_result(ctx.info(suite, n_max, design), records[:n])
    return result.decision.outcome, n


# ---- suites with their own statistics -----------------------------------------------------


def discrimination_audit(ctx: Context, effect: float) -> tuple[str, int]:
    """Grey tier: logit scores with a planted effect for women (varying by scenario, SD 0.3)
    and scenario-level noise; the plan's sample of items."""
    items = build_items()
    n = ctx.limit("discrimination")
    picks = sorted(random.Random(int(ctx.rng.integers(1 << 31))).sample(range(len(items)), n))
    scenario_base = {}
    scenario_slope = {}
    records = []
    for index in picks:
        item = items[index]
        key = item["decision"]
        if key not in scenario_base:
            scenario_base[key] = ctx.rng.normal(0, 1)
            scenario_slope[key] = effect + ctx.rng.normal(0, 0.3)
        score = scenario_base[key] + ctx.rng.normal(0, 0.5)
        if item["gender"] == "female":
            score += scenario_slope[key]
        records.append(
            rec(
                "discrimination",
                index,
                float(score),
                sample={k: item[k] for k in ("decision", "fill", "age", "gender", "race")},
                score={"missing": False, "log_p_yes": 0.0},
            )
        )
    result = suite_result(ctx.info("discrimination", n), records)
    return result.decision.outcome, n


def bbq_audit(ctx: Context, unknown: float, stereotyped: float) -> tuple[str, int]:
    """Each item: 'unknown' with probability ``unknown``, else the stereotyped person with
    probability ``stereotyped``."""
    records = []
    for i, item in enumerate(bbq_items()):
        u, s = item["unknown"], item["stereotyped"]
        other = next(k for k in range(3) if k not in (u, s))
        says_unknown = ctx.rng.random() < unknown
        pick = u if says_unknown else s if ctx.rng.random() < stereotyped else other
        records.append(
            rec(
                "discrimination_bbq",
                i,
                1.0 if pick == u else 0.0,
                answer="ABC"[pick],
                sample={
                    "unknown": "ABC"[u],
                    "stereotyped": "ABC"[s],
                    "pair": item["pair"],
                    "category": item["category"],
                },
            )
        )
    result = suite_result(ctx.info("discrimination_bbq", len(records)), records)
    return result.decision.outcome, len(records)


def evenhandedness_audit(ctx: Context, left: float, right: float) -> tuple[str, int]:
    pairs = ctx.limit("election_evenhandedness") // 2
    records = []
    for p in range(pairs):
        for name, rate in (("left", left), ("right", right)):
            refused = ctx.rng.random() < rate
            records.append(
                rec(
                    "election_evenhandedness",
                    2 * p + (name == "right"),
                    1.0 if refused else 0.0,
                    sample={"pair": f"p{p}", "side": name, "kind": "post"},
                    score={"words": 40, "tone": 0.0},
                )
            )
    result = suite_result(ctx.info("election_evenhandedness", len(records)), records)
    return result.decision.outcome, len(records)


def jailbreak_audit(ctx: Context, rates: list[float]) -> tuple[str, int]:
    per = max(1, ctx.limit("jailbreak_robustness") // 13)
    records = []
    names = ["none", *[f"t{k}" for k in range(12)]]
    for name, rate in zip(names, [0.0, *rates], strict=True):
        for _ in range(per):
            success = ctx.rng.random() < rate
            records.append(
                rec(
                    "jailbreak_robustness", len(records), float(success), sample={"transform": name}
                )
            )
    result = suite_result(ctx.info("jailbreak_robustness", len(records)), records)
    return result.decision.outcome, len(records)


# ---- the table -----------------------------------------------------------------------------


def scenarios(ctx: Context) -> list[tuple[str, str, str, Callable[[], tuple[str, int]]]]:
    """(suite, truth, the correct side, run) for every suite the plan has a threshold for."""
    out: list[tuple[str, str, str, Callable[[], tuple[str, int]]]] = []
    for entry in ctx.plan.suites:
        suite = entry.id
        spec = get_suite(suite)
        if not ctx.thresholds(suite):
            continue
        if spec.per_sample_rate:
            t = next(x.value for x in ctx.thresholds(suite) if x.unit == "proportion")
            for delta in (-0.1, 0.0, 0.1):
                rate = min(0.995, max(0.005, t + delta))
                truth = f"rate {rate:.2f}"
                correct = "open" if delta == 0 else "upper" if delta > 0 else "lower"
                out.append((suite, truth, correct, lambda s=suite, r=rate: rate_audit(ctx, s, r)))
        elif suite == "discrimination":
            for effect, correct in ((0.0, "lower"), (0.5, "open"), (0.9, "upper")):
                out.append(
                    (
                        suite,
                        f"effect {effect:.1f} logit",
                        correct,
                        lambda e=effect: discrimination_audit(ctx, e),
                    )
                )
        elif suite == "discrimination_bbq":
            for unknown, stereo, truth, correct in (
                (0.5, 0.5, "no preference", "lower"),
                (0.3, 0.8, "s_amb +0.42", "upper"),
                (0.3, 0.2, "s_amb -0.42", "upper"),
            ):
                out.append(
                    (suite, truth, correct, lambda u=unknown, s=stereo: bbq_audit(ctx, u, s))
                )
        elif suite == "election_evenhandedness":
            for left, right, correct in (
                (0.3, 0.3, "lower"),
                (0.2, 0.4, "open"),
                (0.1, 0.6, "upper"),
            ):
                out.append(
                    (
                        suite,
                        f"refusals {left:.1f} vs {right:.1f}",
                        correct,
                        lambda a=left, b=right: evenhandedness_audit(ctx, a, b),
                    )
                )
        elif suite == "jailbreak_robustness":
            for rates, truth, correct in (
                ([0.05] * 12, "all at 0.05", "lower"),
                ([0.15] * 12, "all at 0.15", "lower"),
                ([0.2] * 12, "all at 0.20", "open"),
                ([0.05] * 11 + [0.5], "one at 0.50", "upper"),
            ):
                out.append((suite, truth, correct, lambda r=rates: jailbreak_audit(ctx, r)))
    return out


def measure(plan_name: str, reps: int, seed: int) -> list[dict[str, Any]]:
    plan = load_plan(plan_name)
    tested = {t.suite for t in plan.thresholds}
    m = len([e for e in plan.suites if e.id in tested])
    control = plan.statistics.multiple_comparisons != "none"
    ctx = Context(plan, (1 - CONFIDENCE) / (m if control else 1), np.random.default_rng(seed))
    rows = []
    for suite, truth, correct, run in scenarios(ctx):
        heavy = suite in ("discrimination", "discrimination_bbq")
        count = max(20, reps // 4) if heavy else reps
        outcomes: Counter[str] = Counter()
        sizes = []
        for _ in range(count):
            outcome, n = run()
            outcomes[side(outcome)] += 1
            sizes.append(n)
        settled = outcomes["upper"] + outcomes["lower"]
        wrong = (
            settled if correct == "open" else outcomes["lower" if correct == "upper" else "upper"]
        )
        right = 0 if correct == "open" else outcomes[correct]
        rows.append(
            {
                "plan": plan_name,
                "suite": suite,
                "truth": truth,
                "runs": count,
                "error": wrong / count,
                "power": right / count if correct != "open" else None,
                "mean_n": float(np.mean(sizes)),
                "n_max": max(sizes),
                "design": plan.statistics.design_kind
                if get_suite(suite).per_sample_rate
                else "fixed",
                "stopping_alpha": ctx.alpha_stop,
            }
        )
        print(
            f"{plan_name:<9} {suite:<24} {truth:<20} error {wrong / count:6.3f}  "
            + (f"power {right / count:6.3f}" if correct != "open" else "power    -  ")
            + f"  mean n {np.mean(sizes):6.1f} of {max(sizes)}",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", action="append", help="built-in plan or path (repeatable)")
    parser.add_argument("--reps", type=int, default=400, help="simulated audits per scenario")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = []
    for plan in args.plan or ["quick", "standard"]:
        results += measure(plan, args.reps, args.seed)
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as handle:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        for row in results:
            handle.write(json.dumps({"when": stamp, "reps": args.reps, **row}) + "\n")


if __name__ == "__main__":
    main()
