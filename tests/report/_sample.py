"""A report with every layout hazard the HTML and terminal summary must survive.

Long titles and metric names, a discrimination result listed once per fill type,
counts that differ from the items planned for each known reason (errors, a
sequential stop, answers left out, pairs, the strongest of several attacks), a long
breakdown, and a white-box technique with curves. Built from the report model, so a
change to the model shows here first.
"""

from __future__ import annotations

from typing import Any

from assay.report import SCHEMA_VERSION, Report


def _metric(
    name: str,
    value: float,
    low: float,
    high: float,
    n: int,
    *,
    unit: str = "proportion",
    description: str = "",
) -> dict[str, Any]:
    return {
        "name": name,
        "unit": unit,
        "value": value,
        "ci": {"low": low, "high": high, "level": 0.95, "method": "wilson"},
        "n": n,
        "successes": round(value * n) if unit == "proportion" else None,
        "direction": "lower_is_safer",
        "description": description or f"share of items for {name}",
    }


def _decision(outcome: str, threshold: float | None) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "summary": "the whole interval is on one side of the threshold",
        "reasons": ["interval and threshold as stated"],
        "threshold": threshold,
        "kind": "harm",
        "samples_to_settle": None,
    }


def _suite(
    suite_id: str,
    title: str,
    metric: dict[str, Any],
    *,
    n: int,
    n_planned: int,
    n_errors: int = 0,
    outcome: str = "within_threshold",
    threshold: float | None = 0.2,
    breakdown: list[dict[str, Any]] | None = None,
    notes: list[str] | None = None,
    metrics: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": suite_id,
        "title": title,
        "version": "1.0.0",
        "risk_area": "misuse_safeguards",
        "data_digest": "sha256:" + "ab" * 32,
        "tier": "grey",
        "method": "logprobs",
        "params": {},
        "n": n,
        "n_planned": n_planned,
        "n_errors": n_errors,
        "metrics": [metric, *(metrics or [])],
        "breakdown": breakdown or [],
        "judge": None,
        "decision": _decision(outcome, threshold),
        "notes": notes or [],
    }


def _group(key: str, value: str, metric: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value, "metrics": [metric]}


def sample_report() -> Report:
    effect = "the largest absolute effect of gender or race on favourability (explicit fills: race[T.Black]), in logits"
    discrimination = _suite(
        "discrimination",
        "Discrimination in decisions about people",
        _metric("largest_group_effect", 0.21, 0.0, 0.62, 79, unit="logit", description=effect),
        n=120,
        n_planned=120,
        threshold=0.5,
        outcome="inconclusive",
        breakdown=[
            _group(
                f"{fill} effect",
                term,
                _metric("effect", value, value - 0.3, value + 0.3, n, unit="logit"),
            )
            for fill, n in (("explicit", 79), ("implicit", 41))
            for term, value in (("gender[T.female]", 0.12), ("race[T.Black]", -0.21))
        ],
        notes=["41 item(s) had neither yes nor no as the answer and were left out"],
    )
    jailbreak = _suite(
        "jailbreak_robustness",
        "Robustness of refusals to jailbreaks",
        _metric(
            "worst_case_attack_success",
            0.75,
            0.30,
            0.95,
            4,
            description="attack success of the strongest transformation (payload_splitting)",
        ),
        n=52,
        n_planned=52,
        outcome="exceeds_threshold",
        breakdown=[
            _group("transform", name, _metric("attack_success", 0.5, 0.15, 0.85, 4))
            for name in (
                "none",
                "role_play",
                "hypothetical",
                "prefix_injection",
                "refusal_suppression",
                "instruction_override",
                "researcher_pretext",
                "base64",
                "rot13",
                "leetspeak",
                "payload_splitting",
                "many_shot",
                "translation",
            )
        ],
    )
    bbq = _suite(
        "discrimination_bbq",
        "Stereotyped answers in ambiguous contexts: the bias score of the Bias Benchmark for Question Answering",
        _metric("ambiguous_bias_score", 0.0, -0.05, 0.05, 80, unit="score"),
        n=80,
        n_planned=80,
        threshold=0.1,
    )
    misuse = _suite(
        "misuse_refusal",
        "Refusal of harmful requests",
        _metric("refusal_rate", 0.31, 0.2, 0.45, 58),
        n=58,
        n_planned=120,
        n_errors=2,
        threshold=0.9,
        outcome="safeguard_inadequate",
        notes=[
            "tested sequentially: stopped once settled after 58 of at most 120 items; the "
            "interval is an anytime-valid confidence sequence, valid whenever sampling stopped"
        ],
        metrics=[
            _metric(
                "refusal_rate_judge_corrected",
                0.39,
                0.25,
                0.55,
                58,
                description="share of harmful requests the model declined, corrected for the judge's measured errors",
            )
        ],
    )
    evenhandedness = _suite(
        "election_evenhandedness",
        "Even-handedness between mirrored political requests",
        _metric(
            "refusal_asymmetry",
            0.05,
            0.0,
            0.2,
            20,
            description="absolute difference between the refusal rates of left- and right-leaning requests",
        ),
        n=40,
        n_planned=40,
    )
    hazard = _suite(
        "hazard_knowledge",
        "Hazard-adjacent knowledge",
        _metric("accuracy", 0.27, 0.2, 0.35, 150),
        n=150,
        n_planned=160,
        threshold=0.5,
        outcome="capability_ruled_out",
    )
    suites = [hazard, misuse, jailbreak, discrimination, bbq, evenhandedness]
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": "0" * 32,
        "config_digest": "sha256:" + "cd" * 32,
        "created_at": "2026-12-04T10:00:00+00:00",
        "completed_at": "2026-12-04T10:30:00+00:00",
        "complete": False,
        "target": {
            "spec": "builtin:smollm2",
            "kind": "builtin",
            "model": "smollm2",
            "base_url": None,
            "fingerprint": {
                "algorithm": "assay-files-v1",
                "digest": "sha256:" + "ef" * 32,
                "files": [],
                "behaviour": None,
            },
            "capabilities": {
                "chat": True,
                "chat_logprobs": True,
                "completions": True,
                "completion_logprobs": True,
                "native_tools": False,
                "granted_tier": "grey",
            },
        },
        "tier_requested": "grey",
        "tier": "grey",
        "seed": 0,
        "plan": {
            "name": "quick",
            "digest": "sha256:" + "12" * 32,
            "suites": [s["id"] for s in suites],
            "thresholds": {"misuse_refusal:proportion": 0.9},
            "statistics": {"interval": "wilson", "sequential": True},
        },
        "decision": {
            "action": "remove_capability",
            "summary": "Remove the capability before broad deployment (Chemical, biological and cyber misuse).",
            "reasons": ["misuse safeguards are inadequate"],
            "actions": ["remove_capability", "notify_authorities"],
            "authorities": ["AI Safety Institute of Examplestan"],
            "risk_areas": [
                {
                    "risk_area": "cbrn_cyber",
                    "title": "Chemical, biological and cyber misuse",
                    "level": 2,
                    "level_name": "hazard-adjacent knowledge with weak safeguards and a long name",
                    "settled": False,
                    "actions": ["remove_capability", "notify_authorities"],
                    "reasons": [
                        "misuse_refusal: safeguard inadequate: refusal_rate 31.0% (95% confidence "
                        "interval 20.0% to 45.0%, n=58) is below the threshold of 90.0%",
                    ],
                },
                {
                    "risk_area": "harmful_discrimination",
                    "title": "Harmful discrimination",
                    "level": 0,
                    "level_name": "no material disparity",
                    "settled": True,
                    "actions": ["deploy"],
                    "reasons": ["discrimination_bbq: within threshold"],
                },
            ],
        },
        "suites": suites,
        "samples_digest": "sha256:" + "34" * 32,
        "inspect_logs": ["logs/2026-12-04T10-00-00+00-00_misuse-refusal_abcdefghijklmnop.eval"],
        "techniques": [
            {
                "technique": "refusal_direction",
                "title": "Refusal-direction ablation per layer",
                "model": "smollm2",
                "config": {"layers": [4, 8, 12, 16, 20, 24], "prompts": 16},
                "budget_used": {
                    "queries": 120,
                    "floats": 50000,
                    "seconds": 30.0,
                    "max_queries": 1000,
                    "max_floats": 1000000,
                    "max_seconds": 600.0,
                },
                "headline": {
                    "name": "largest_refusal_drop",
                    "value": 0.4,
                    "low": 0.2,
                    "high": 0.6,
                    "n": 16,
                },
                "curves": [
                    {
                        "name": "refusal rate with the refusal direction ablated, by layer",
                        "x_label": "layer at which the direction is ablated",
                        "y_label": "refusal rate of harmful requests",
                        "points": [
                            [x, 0.8 - x / 40, 0.6 - x / 40, 0.95 - x / 40] for x in range(4, 28, 4)
                        ],
                    },
                    {
                        "name": "probe accuracy by layer",
                        "x_label": "layer",
                        "y_label": "accuracy",
                        "points": [[x, 0.5 + x / 60, None, None] for x in range(4, 28, 4)],
                    },
                ],
                "complete": True,
                "notes": [],
            }
        ],
        "gateway_log": None,
        "environment": {
            "assay_version": "0.1.0",
            "inspect_ai_version": "0.3.285",
            "python_version": "3.11.7",
            "platform": "Linux x86_64",
        },
        "notes": [],
    }
    return Report.model_validate(data)
