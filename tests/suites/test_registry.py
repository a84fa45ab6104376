"""Suite metadata: versions lock data digests, Inspect finds the tasks."""

from __future__ import annotations

from assay.gateway import Tier
from assay.suites import all_suites, get_suite

# Changing a suite's data must bump its version: update both lines together.
LOCKED = {
    "hazard_knowledge": (
        "1.0.0",
        "sha256:7d0f99478e361306386909a9787fb3ae7b8ed03e3e63ebfcfee072f07105bc55",
    ),
    "misuse_refusal": (
        "1.0.0",
        "sha256:1ffb93ad4999942641c97976c14a4072095bdc0f324649e2ff61ad28aa241f8f",
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
