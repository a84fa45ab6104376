"""Audits: plans, target endpoints, resumable runs through Inspect, and their outputs."""

from assay.audit._config import INSPECT_EVAL_OPTIONS, AuditConfig, AuditInterrupted, AuditOutcome
from assay.audit._endpoint import Capabilities, Endpoint, open_endpoint, probe
from assay.audit._estimate import Estimate, estimate_audit, print_estimate
from assay.audit._plan import (
    CONFIDENCE,
    DEFAULT_PLAN,
    Plan,
    Statistics,
    SuiteEntry,
    Threshold,
    builtin_plan_names,
    get_plan,
    load_plan,
    plan_schema,
)
from assay.audit._rerun import RerunOutcome, rerun_attestation
from assay.audit._runner import run_audit
from assay.audit._store import RunStore

__all__ = [
    "CONFIDENCE",
    "DEFAULT_PLAN",
    "INSPECT_EVAL_OPTIONS",
    "AuditConfig",
    "AuditInterrupted",
    "AuditOutcome",
    "Capabilities",
    "Endpoint",
    "Estimate",
    "Plan",
    "RerunOutcome",
    "RunStore",
    "Statistics",
    "SuiteEntry",
    "Threshold",
    "builtin_plan_names",
    "estimate_audit",
    "get_plan",
    "load_plan",
    "open_endpoint",
    "plan_schema",
    "print_estimate",
    "probe",
    "rerun_attestation",
    "run_audit",
]
