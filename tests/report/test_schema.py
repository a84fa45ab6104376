"""report.json has a committed, versioned schema that matches the models."""

from __future__ import annotations

import json

import pytest

from assay._util.errors import AssayError
from assay.report import generate_schema, load_schema, validate_report


def test_committed_schema_matches_the_models() -> None:
    assert load_schema() == json.loads(json.dumps(generate_schema())), (
        "report models changed: run scripts/update-schemas and bump SCHEMA_VERSION if consumers could notice"
    )


def test_schema_requires_the_contract_fields() -> None:
    schema = load_schema()
    for field in ("target", "tier", "plan", "suites", "decision", "schema_version"):
        assert field in schema["required"]
    suite = schema["$defs"]["SuiteResult"]
    for field in ("id", "risk_area", "n", "metrics", "decision"):
        assert field in suite["required"]
    metric = schema["$defs"]["Metric"]
    for field in ("name", "value", "ci", "n"):
        assert field in metric["required"]


def test_validation_names_the_violation() -> None:
    with pytest.raises(AssayError, match="schema"):
        validate_report({"schema_version": "1.0", "suites": "not a list"})
    with pytest.raises(AssayError, match="unknown report schema version"):
        validate_report({"schema_version": "9.9"})
