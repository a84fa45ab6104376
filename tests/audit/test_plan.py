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
