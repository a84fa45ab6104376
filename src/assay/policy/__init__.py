"""Policy: thresholds and intervals in, decisions with reasons out."""

from assay.policy._decide import decide_overall, decide_suite
from assay.policy._model import Action, Outcome, OverallDecision, SuiteDecision

__all__ = [
    "Action",
    "Outcome",
    "OverallDecision",
    "SuiteDecision",
    "decide_overall",
    "decide_suite",
]
