"""Reports: ``report.json`` (schema-versioned), ``report.html`` and the terminal summary."""

from assay.report._build import (
    RateCounts,
    SuiteRunInfo,
    ThresholdSpec,
    can_settle,
    rate_counts,
    rate_estimate,
    rate_estimate_from_counts,
    suite_result,
)
from assay.report._compare import (
    Comparison,
    SuiteComparison,
    compare_reports,
    load_report,
    sample_values,
)
from assay.report._html import render_html
from assay.report._model import (
    SCHEMA_VERSION,
    Capabilities,
    Environment,
    GatewayLogInfo,
    Group,
    JudgeValidationInfo,
    PlanInfo,
    Report,
    SuiteResult,
    TargetInfo,
)
from assay.report._schema import generate_schema, load_schema, schema_path, validate_report
from assay.report._summary import print_summary

__all__ = [
    "SCHEMA_VERSION",
    "Capabilities",
    "Comparison",
    "Environment",
    "GatewayLogInfo",
    "Group",
    "JudgeValidationInfo",
    "PlanInfo",
    "RateCounts",
    "Report",
    "SuiteComparison",
    "SuiteResult",
    "SuiteRunInfo",
    "TargetInfo",
    "ThresholdSpec",
    "can_settle",
    "compare_reports",
    "generate_schema",
    "load_report",
    "load_schema",
    "print_summary",
    "rate_counts",
    "rate_estimate",
    "rate_estimate_from_counts",
    "render_html",
    "sample_values",
    "schema_path",
    "suite_result",
    "validate_report",
]
