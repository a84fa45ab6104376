"""Audit plans: which suites run on how many samples, the thresholds that turn their
metrics into findings, the statistics used, and per risk area the capability levels
and the actions each level requires.

Plans are YAML files validated against a versioned JSON Schema
(``audit/schema/plan-1.schema.json``). The built-in ones live in ``audit/plans/``; a
plan may ``extends:`` another (built-in name or relative path) and replace any of its
top-level keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assay._util.errors import UsageError
from assay._util.hashing import sha256_json
from assay.judges import JudgeModel
from assay.policy import Authority, RiskArea

PLAN_SCHEMA_VERSION = 1
CONFIDENCE = 0.95  # every interval and sequential test in a v1 plan
PLANS_DIR = Path(__file__).parent / "plans"
SCHEMA_PATH = Path(__file__).parent / "schema" / f"plan-{PLAN_SCHEMA_VERSION}.schema.json"
SCHEMA_ID = f"https://assay.dev/schemas/plan-{PLAN_SCHEMA_VERSION}.schema.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SuiteEntry(_Strict):
    """One suite in a plan, with task parameters and an optional sample limit."""

    id: str
    params: dict[str, Any] = Field(default_factory=dict)
    limit: int | None = Field(default=None, ge=1, description="at most this many items")


class Threshold(_Strict):
    """The value of a suite's primary metric at which its finding changes. A suite whose
    metric can come in different units (a logit at grey tier, a proportion at black
    tier) may have one threshold per unit."""

    suite: str
    metric: str
    value: float
    meaning: str
    unit: str = "proportion"


class TechniqueEntry(_Strict):
    """A white-box or tamper-resistance technique in a plan: ``reduced`` (sized for a
    small model on a laptop), ``full`` (real hardware), or explicit settings."""

    id: str
    config: Literal["reduced", "full"] | dict[str, Any] = "reduced"


DesignKind = Literal["fixed", "group-sequential", "confidence-sequence"]


class Statistics(_Strict):
    """How intervals are computed, how rate suites are sampled, and how findings are
    controlled across the plan."""

    interval: Literal["wilson", "clopper-pearson"] = Field(
        default="wilson", description="interval for rates with a fixed sample size"
    )
    multiple_comparisons: Literal["holm", "benjamini-hochberg", "none"] = Field(
        default="holm",
        description="control across the plan's findings: Holm (family-wise error) or "
        "Benjamini-Hochberg (false discovery rate)",
    )
    design: DesignKind | None = Field(
        default=None,
        description="how rate suites are sampled: fixed (the planned sample), group-sequential "
        "(a few planned looks with error spending; stops early when settled, loses little "
        "power) or confidence-sequence (a look after every batch; anytime-valid). Default: "
        "confidence-sequence when `sequential` is true, else fixed",
    )
    sequential: bool = Field(
        default=False,
        description="older spelling: true is design confidence-sequence (unless design is set)",
    )
    looks: int = Field(
        default=4,
        ge=2,
        le=20,
        description="group-sequential: equally spaced looks, the last at the planned sample",
    )
    spending: Literal["obrien-fleming", "pocock"] = Field(
        default="obrien-fleming",
        description="group-sequential: the error-spending function (Lan-DeMets)",
    )
    batch: int = Field(
        default=32,
        ge=1,
        description="confidence-sequence: most samples per step (a suite of n items steps by "
        "min(batch, max(8, n / 6)))",
    )

    @property
    def design_kind(self) -> DesignKind:
        if self.design is not None:
            return self.design
        return "confidence-sequence" if self.sequential else "fixed"

    def batch_for(self, n: int) -> int:
        """The sequential step for a suite of ``n`` items: small suites look more often,
        so a settled finding stops them sooner."""
        return min(self.batch, max(8, n // 6))


class Plan(_Strict):
    """An audit plan (see the module docstring and docs/plans.md)."""

    schema_version: Literal[1] = 1
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str
    statistics: Statistics = Field(default_factory=Statistics)
    tier: Literal["black", "grey", "white"] | None = Field(
        default=None, description="the access tier to audit at unless --tier says otherwise"
    )
    suites: list[SuiteEntry] = Field(min_length=1)
    techniques: list[TechniqueEntry] = Field(
        default_factory=list, description="white-box and tamper-resistance techniques (white tier)"
    )
    thresholds: list[Threshold] = Field(default_factory=list)
    risk_areas: list[RiskArea] = Field(default_factory=list)
    authorities: list[str | Authority] = Field(
        default_factory=list,
        description="who is notified when a level requires it; an entry marked "
        "`placeholder: true` is a template and is never shown as an addressee",
    )
    judge: JudgeModel | None = Field(
        default=None,
        description="a judge model (any OpenAI-compatible server) to grade refusals instead of "
        "the rule-based judge; measured on the labelled set before use",
    )

    @model_validator(mode="after")
    def _references_exist(self) -> Plan:
        ids = [e.id for e in self.suites]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"suites listed twice: {', '.join(duplicates)}")
        needs_authorities = any(
            "notify_authorities" in level.actions for a in self.risk_areas for level in a.levels
        )
        if needs_authorities and not self.authorities:
            raise ValueError(
                "a level requires notify_authorities but the plan names no authorities"
            )
        return self

    @property
    def digest(self) -> str:
        return sha256_json(self.model_dump(mode="json"))

    def thresholds_for(self, suite: str) -> list[Threshold]:
        return [t for t in self.thresholds if t.suite == suite]

    def only(self, suite_ids: list[str]) -> Plan:
        """This plan restricted to (or extended by) the named suites; risk areas keep
        their full ladders and are decided on what ran."""
        entries = {e.id: e for e in self.suites}
        chosen = [entries.get(s, SuiteEntry(id=s)) for s in suite_ids]
        return self.model_construct(
            **{**self.__dict__, "suites": chosen},
        )


def plan_schema() -> dict[str, Any]:
    """The JSON Schema of plan files, as the models define it."""
    schema = Plan.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def write_plan_schema() -> Path:
    """Regenerate the committed plan schema (run after changing the models)."""
    SCHEMA_PATH.parent.mkdir(exist_ok=True)
    SCHEMA_PATH.write_text(json.dumps(plan_schema(), indent=2, sort_keys=True) + "\n")
    return SCHEMA_PATH


def builtin_plan_names() -> list[str]:
    return sorted(p.stem for p in PLANS_DIR.glob("*.yaml"))


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise UsageError(f"plan {path} extends itself (through {' -> '.join(map(str, seen))})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read plan {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UsageError(
            f"plan {path} is not valid YAML{where}", hint="check indentation and quoting"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"plan {path} must be a YAML mapping (name:, suites:, ...)")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise UsageError(f"plan {path}: extends must be a plan name or a relative path")
    base = _read_yaml(_locate(parent, path.parent), (*seen, path))
    return {**base, **data}


def _locate(name_or_path: str, relative_to: Path | None = None) -> Path:
    candidate = Path(name_or_path)
    if relative_to is not None and not candidate.is_absolute():
        candidate = relative_to / candidate
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        if not candidate.is_file():
            raise UsageError(f"no plan file {candidate}")
        return candidate
    builtin = PLANS_DIR / f"{name_or_path}.yaml"
    if builtin.is_file():
        return builtin
    raise UsageError(
        f"unknown plan {name_or_path!r}",
        hint=f"built-in plans: {', '.join(builtin_plan_names())}; or give a path to a .yaml file",
    )


def _first_schema_error(data: dict[str, Any]) -> str | None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if not errors:
        return None
    error = errors[0]
    where = "/".join(str(p) for p in error.path) or "(top level)"
    return f"{where}: {error.message}"


def load_plan(name_or_path: str) -> Plan:
    """A built-in plan by name, or a plan file by path, validated against the schema and
    against the suites assay knows."""
    path = _locate(name_or_path)
    data = _read_yaml(path)
    problem = _first_schema_error(data)
    if problem is not None:
        raise UsageError(
            f"plan {path} does not match the plan schema at {problem}",
            hint=f"see {SCHEMA_ID} (assay plan show quick prints a valid plan)",
        )
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "/".join(str(p) for p in first["loc"]) or "(top level)"
        raise UsageError(f"plan {path} is invalid at {where}: {first['msg']}") from None
    from assay.suites import get_suite

    # clear errors naming the known suites; thresholds and levels may name suites this
    # plan does not run (a plan that extends another may run fewer)
    for suite_id in (
        [e.id for e in plan.suites]
        + [t.suite for t in plan.thresholds]
        + [s for a in plan.risk_areas for s in a.suites]
    ):
        get_suite(suite_id)
    problem = threshold_problem(plan)
    if problem is not None:
        raise UsageError(f"plan {path}: {problem}", hint="see docs/plans.md, Thresholds")
    if plan.techniques:
        from assay.techniques import TECHNIQUES

        for technique in plan.techniques:
            spec = TECHNIQUES.get(technique.id)
            if spec is None:
                raise UsageError(
                    f"plan {path}: unknown technique {technique.id!r}",
                    hint=f"known techniques: {', '.join(sorted(TECHNIQUES))}",
                )
            spec.parse_config(technique.config)  # a clear error naming each bad field
        if plan.tier not in (None, "white"):
            raise UsageError(f"plan {path}: techniques need tier white, the plan says {plan.tier}")
    return plan


def threshold_problem(plan: Plan) -> str | None:
    """What is wrong with the plan's thresholds, if anything: a threshold must name its
    suite's metric in a unit the metric comes in, once; and every suite a level reads
    needs a threshold for its metric in every unit it can come in (a level that reads a
    finding no threshold decides would never be settled)."""
    from assay.suites import get_suite

    seen: set[tuple[str, str, str]] = set()
    for t in plan.thresholds:
        metric = get_suite(t.suite).primary_metric
        if t.metric != metric.name:
            return (
                f"the threshold for {t.suite} names metric {t.metric!r}, but the suite's "
                f"finding is read from {metric.name!r}"
            )
        if t.unit not in metric.units:
            return (
                f"the threshold for {t.suite} is in {t.unit!r}; {metric.name} comes in "
                f"{', '.join(metric.units)}"
            )
        key = (t.suite, t.metric, t.unit)
        if key in seen:
            return f"two thresholds for {t.suite} {t.metric} in {t.unit}"
        seen.add(key)
    for area in plan.risk_areas:
        for suite_id in area.suites:
            metric = get_suite(suite_id).primary_metric
            missing = [u for u in metric.units if (suite_id, metric.name, u) not in seen]
            if missing:
                return (
                    f"risk area {area.id!r} reads {suite_id}, but the plan sets no threshold for "
                    f"{metric.name} in {', '.join(missing)}: add one (suite: {suite_id}, metric: "
                    f"{metric.name}, unit: {missing[0]})"
                )
    return None


DEFAULT_PLAN = "quick"


def get_plan(name: str) -> Plan:
    """Alias of :func:`load_plan` (names or paths)."""
    return load_plan(name)


__all__ = [
    "CONFIDENCE",
    "DEFAULT_PLAN",
    "PLAN_SCHEMA_VERSION",
    "DesignKind",
    "Plan",
    "Statistics",
    "SuiteEntry",
    "TechniqueEntry",
    "Threshold",
    "builtin_plan_names",
    "get_plan",
    "load_plan",
    "plan_schema",
    "threshold_problem",
    "write_plan_schema",
]
