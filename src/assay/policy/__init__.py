"""Policy: thresholds and intervals in, decisions with reasons out."""

from assay.policy._decide import decide_suite, finding_p_value
from assay.policy._levels import decide_plan, decide_risk_area
from assay.policy._model import (
    ACTION_SEVERITY,
    Action,
    Authority,
    Condition,
    Level,
    Outcome,
    OverallDecision,
    RiskArea,
    RiskAreaDecision,
    SuiteDecision,
)
from assay.policy._multiplicity import control_findings

__all__ = [
    "ACTION_SEVERITY",
    "Action",
    "Authority",
    "Condition",
    "Level",
    "Outcome",
    "OverallDecision",
    "RiskArea",
    "RiskAreaDecision",
    "SuiteDecision",
    "control_findings",
    "decide_plan",
    "decide_risk_area",
    "decide_suite",
    "finding_p_value",
]
