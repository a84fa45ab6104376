"""Plans are YAML files checked against a versioned schema and the known suites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay._util.errors import UsageError
from assay.audit import builtin_plan_names, load_plan, plan_schema
from assay.audit._plan import SCHEMA_PATH


def test_committed_schema_matches_the_models() -> None:
    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed == json.loads(json.dumps(plan_schema())), "run scripts/update-schemas"


def test_builtin_plans_load_and_quick_extends_standard() -> None:
    assert {"quick", "standard"} <= set(builtin_plan_names())
    quick, standard = load_plan("quick"), load_plan("standard")
    assert quick.thresholds == standard.thresholds and quick.risk_areas == standard.risk_areas
    assert quick.statistics.design_kind == "fixed"
    assert standard.statistics.design_kind == "group-sequential"
    limits = {e.id: e.limit for e in quick.suites}
    assert limits["misuse_refusal"] == 32 and quick.digest != standard.digest


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


def test_a_plan_file_may_extend_a_builtin_and_override_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "schema_version: 1\nextends: standard\nname: mine\ndescription: mine\n"
        "suites:\n  - {id: misuse_refusal, limit: 50}\n  - {id: hazard_knowledge}\n"
        "  - {id: jailbreak_robustness}\n  - {id: over_refusal}\n  - {id: discrimination}\n"
        "  - {id: discrimination_bbq}\n  - {id: election_procedures}\n  - {id: election_refusal}\n"
        "  - {id: election_evenhandedness}\n  - {id: insecure_code}\n  - {id: agentic_oversight}\n",
    )
    plan = load_plan(str(path))
    assert plan.name == "mine" and plan.suites[0].limit == 50
    assert plan.risk_areas == load_plan("standard").risk_areas


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\n", "does not match the plan schema"),
        (
            "schema_version: 1\nname: x\ndescription: y\nsuites: [{id: nope}]\n",
            "unknown suite 'nope'",
        ),
        (
            "schema_version: 1\nname: x\ndescription: y\nsuites: [{id: misuse_refusal, limit: 0}]\n",
            "suites/0/limit",
        ),
        (
            "schema_version: 1\nname: x\ndescription: y\nsuites: [{id: misuse_refusal}]\n"
            "thresholds: [{suite: over_refusl, metric: m, value: 0.1, meaning: z}]\n",
            "unknown suite 'over_refusl'",
        ),
        ("schema_version: 1\nname: x\n  bad: [\n", "not valid YAML"),
        (
            "schema_version: 2\nname: x\ndescription: y\nsuites: [{id: misuse_refusal}]\n",
            "schema_version",
        ),
    ],
)
def test_bad_plans_get_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_plan(str(write(tmp_path, text)))


def test_unknown_plan_name_lists_the_builtin_ones() -> None:
    with pytest.raises(UsageError, match="unknown plan 'nope'") as info:
        load_plan("nope")
    assert "quick" in (info.value.hint or "")


def test_plan_validate_refuses_levels_that_read_a_suite_without_a_threshold(
    tmp_path: Path,
) -> None:
    """Issue 11.5: a level that reads a suite whose metric has no threshold could never be
    settled; plan validation did not notice."""
    text = (
        "schema_version: 1\nextends: standard\nname: mine\ndescription: mine\n"
        "thresholds:\n"
        "  - {suite: hazard_knowledge, metric: accuracy, value: 0.5, meaning: m}\n"
        "  - {suite: jailbreak_robustness, metric: worst_case_attack_success, value: 0.2, meaning: m}\n"
    )
    with pytest.raises(UsageError, match="reads misuse_refusal, but the plan sets no threshold"):
        load_plan(str(write(tmp_path, text)))


@pytest.mark.parametrize(
    ("threshold", "message"),
    [
        (
            "{suite: misuse_refusal, metric: accuracy, value: 0.9, meaning: m}",
            "finding is read from 'refusal_rate'",
        ),
        (
            "{suite: misuse_refusal, metric: refusal_rate, value: 0.9, meaning: m, unit: logit}",
            "comes in proportion",
        ),
    ],
)
def test_thresholds_must_name_the_suites_metric_and_unit(
    tmp_path: Path, threshold: str, message: str
) -> None:
    text = (
        "schema_version: 1\nname: x\ndescription: y\nsuites: [{id: misuse_refusal}]\n"
        f"thresholds: [{threshold}]\n"
    )
    with pytest.raises(UsageError, match=message):
        load_plan(str(write(tmp_path, text)))


def test_plans_choose_their_sequential_design_and_name_placeholder_authorities() -> None:
    standard = load_plan("standard")
    assert standard.statistics.design_kind == "group-sequential"
    assert standard.statistics.looks == 4 and standard.statistics.spending == "obrien-fleming"
    assert all(a.placeholder for a in standard.authorities)
