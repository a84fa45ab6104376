"""Audits: plans, target endpoints, resumable runs through Inspect, and their outputs."""

from assay.audit._endpoint import Capabilities, Endpoint, open_endpoint, probe
from assay.audit._plan import BUILTIN_PLANS, DEFAULT_PLAN, Plan, SuiteEntry, Threshold, get_plan
from assay.audit._runner import (
    INSPECT_EVAL_OPTIONS,
    AuditConfig,
    AuditInterrupted,
    AuditOutcome,
    run_audit,
)
from assay.audit._store import RunStore

__all__ = [
    "BUILTIN_PLANS",
    "DEFAULT_PLAN",
    "INSPECT_EVAL_OPTIONS",
    "AuditConfig",
    "AuditInterrupted",
    "AuditOutcome",
    "Capabilities",
    "Endpoint",
    "Plan",
    "RunStore",
    "SuiteEntry",
    "Threshold",
    "get_plan",
    "open_endpoint",
    "probe",
    "run_audit",
]
