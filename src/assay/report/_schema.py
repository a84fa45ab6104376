"""The versioned JSON Schema of ``report.json`` and validation against it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from assay._util.errors import AssayError
from assay.report._model import SCHEMA_VERSION, Report

SCHEMA_DIR = Path(__file__).parent / "schema"
SCHEMA_ID = f"https://assay.dev/schemas/report-{SCHEMA_VERSION}.schema.json"


def schema_path(version: str = SCHEMA_VERSION) -> Path:
    return SCHEMA_DIR / f"report-{version}.schema.json"


def generate_schema() -> dict[str, Any]:
    """The schema as the pydantic models define it."""
    schema = Report.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def load_schema(version: str = SCHEMA_VERSION) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(schema_path(version).read_text(encoding="utf-8"))
    return data


def validate_report(data: dict[str, Any]) -> None:
    """Raise :class:`AssayError` naming the first violation of the committed schema."""
    version = str(data.get("schema_version", SCHEMA_VERSION))
    if not schema_path(version).is_file():
        raise AssayError(f"unknown report schema version {version!r}")
    validator = jsonschema.Draft202012Validator(load_schema(version))
    error = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.path) or "(root)"
        raise AssayError(f"report.json does not match schema {version} at {where}: {error.message}")


def write_schema() -> Path:
    """Regenerate the committed schema file (run after changing the models)."""
    path = schema_path()
    path.write_text(
        json.dumps(generate_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return path
