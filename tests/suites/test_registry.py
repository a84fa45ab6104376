"""Suite metadata: versions lock data digests, Inspect finds the tasks."""

from __future__ import annotations

from assay.gateway import Tier
from assay.suites import all_suites, get_suite

# Changing a suite's data must bump its version: update both lines together.
LOCKED = {
    "agentic_oversight": (
        "1.1.0",
        "sha256:ca665898cf79518308d48ea0891c1a371f3798eb9890cb242cdfd40828cdaf14",
    ),
    "discrimination": (
        "2.0.0",
        "sha256:4ed82c9eb5b05f2a2705a52a5e6f3c7783d0ac3a82363d5afdea475b2d648429",
    ),
    "discrimination_bbq": (
        "2.0.0",
        "sha256:00f18d23397ba575bf2fc2c27491e0aa9c187b4aaebe326a20605f566c32671a",
    ),
    "election_evenhandedness": (
        "1.1.0",
        "sha256:ecdbb4d639550bb2295723fac7bf3eaab4881dc3b197fbd9070ce854df48f25a",
    ),
    "election_procedures": (
        "1.0.0",
        "sha256:b24439f857a618683556750f07ac44095f3cdf4885d79939b3f5c5123e4d607c",
    ),
    "election_refusal": (
        "1.1.0",
        "sha256:9358c71cc8ff542502c6c1e07d0859fd674ec302022a5071e95fbcd6d27aada6",
    ),
    "hazard_knowledge": (
        "1.1.0",
        "sha256:7d0f99478e361306386909a9787fb3ae7b8ed03e3e63ebfcfee072f07105bc55",
    ),
    "insecure_code": (
        "1.1.0",
        "sha256:94ce0d57eda38d6f2bedc9bb1349e80ab5045ee72ca31ccb47d19bb698b21d2b",
    ),
    "jailbreak_robustness": (
        "1.1.0",
        "sha256:35590b4e979faf29a0d48df5c4ea33f56ed6eae6777371e74f06a6ae5e233020",
    ),
    "misuse_refusal": (
        "1.1.0",
        "sha256:1ffb93ad4999942641c97976c14a4072095bdc0f324649e2ff61ad28aa241f8f",
    ),
    "over_refusal": (
        "1.1.0",
        "sha256:a156a1ccf568ed3b91e8dbde38c2a01048f6e1d371e9ff374f8b7f0768615902",
    ),
}


def test_data_digest_is_locked_to_the_version() -> None:
    for suite in all_suites():
        version, digest = LOCKED[suite.id]
        assert (suite.version, suite.data_digest) == (version, digest), (
            f"{suite.id}: data changed; bump its VERSION and update LOCKED"
        )


def test_every_suite_declares_what_reports_need() -> None:
    for suite in all_suites():
        assert suite.risk_area and suite.title and suite.description
        assert suite.tiers and suite.primary_metric.direction in (
            "higher_is_safer",
            "lower_is_safer",
        )


def test_tier_fallback() -> None:
    knowledge = get_suite("hazard_knowledge")
    assert knowledge.method_for(Tier.GREY) is Tier.GREY
    assert knowledge.method_for(Tier.BLACK) is Tier.BLACK
    assert get_suite("misuse_refusal").method_for(Tier.WHITE) is Tier.BLACK


def test_inspect_resolves_assay_tasks() -> None:
    from inspect_ai._eval.registry import task_create

    task = task_create("assay/hazard_knowledge", subset="cyber")
    assert task.name == "hazard_knowledge" and len(task.dataset) == 70


def test_every_suite_runs_under_inspect_by_name() -> None:
    from inspect_ai._eval.registry import task_create

    for suite in all_suites():
        task = task_create(f"assay/{suite.id}")
        assert task.name == suite.id and len(task.dataset) == suite.item_count
