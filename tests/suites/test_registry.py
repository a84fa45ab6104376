"""Suite metadata: versions lock data digests, Inspect finds the tasks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from assay.gateway import Tier
from assay.suites import MetricSpec, all_suites, get_suite, suite
from assay.suites import _registry as suite_registry

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
    for spec in all_suites():
        version, digest = LOCKED[spec.id]
        assert (spec.version, spec.data_digest) == (version, digest), (
            f"{spec.id}: data changed; bump its VERSION and update LOCKED"
        )


def test_every_suite_declares_what_reports_need() -> None:
    for spec in all_suites():
        assert spec.risk_area and spec.title and spec.description
        assert spec.tiers and spec.primary_metric.direction in (
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

    for spec in all_suites():
        task = task_create(f"assay/{spec.id}")
        assert task.name == spec.id and len(task.dataset) == spec.item_count


def test_a_suite_is_an_inspect_task_and_a_registered_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    from inspect_ai import Task
    from inspect_ai._util.registry import registry_lookup
    from inspect_ai.dataset import MemoryDataset, Sample

    builtin = [s.id for s in all_suites()]
    # declared into a copy of the registry, dropped after the test
    monkeypatch.setattr(suite_registry, "_SUITES", dict(suite_registry._SUITES))
    declaration = suite(
        id="test_toy_suite",
        title="A toy",
        risk_area="none",
        version="0.0.1",
        description="two items",
        data_files=(),
        tiers=(Tier.BLACK,),
        primary_metric=MetricSpec(name="rate", description="share", kind="harm"),
        breakdown_key="kind",
    )

    @declaration
    def toy(n: int = 2) -> Task:
        """Toy task."""
        return Task(dataset=MemoryDataset([Sample(input=str(i)) for i in range(n)]))

    spec = get_suite("test_toy_suite")
    assert spec.build is toy and spec.breakdown_key == "kind" and spec.item_count == 2
    assert [s.id for s in all_suites()] == sorted([*builtin, "test_toy_suite"])
    assert registry_lookup("task", "test_toy_suite") is toy
    assert len(toy(n=3).dataset) == 3 and toy.__doc__ == "Toy task."
    with pytest.raises(ValueError, match="registered twice"):
        declaration(toy)


def test_a_suite_declared_with_an_unknown_field_fails_at_once() -> None:
    from inspect_ai import Task

    with pytest.raises(TypeError, match="titel"):

        @suite(id="test_misspelt_suite", titel="typo")
        def misspelt() -> Task:
            return Task()


def test_the_verifier_finds_assays_suite_catalogue_by_its_entry_point() -> None:
    from importlib.metadata import entry_points

    from assay.attest._verify import SUITE_CATALOGS

    assert get_suite in [entry.load() for entry in entry_points(group=SUITE_CATALOGS)]


@pytest.mark.slow
def test_importing_the_suite_types_loads_no_suite() -> None:
    # lookup loads the built-in suites on first use (report and planning code only
    # need the types)
    code = (
        "import sys, assay.suites\n"
        "loaded = [m for m in sys.modules if m.startswith('assay.suites.') and "
        "m.split('.')[-1][0] != '_']\n"
        "assert not loaded, loaded\n"
        "assay.suites.get_suite('hazard_knowledge')\n"
        "assert 'assay.suites.discrimination' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
