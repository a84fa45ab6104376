"""Decision records: what was decided, and why, in words a reader can check."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


Outcome = Literal[
    "capability_present",
    "capability_ruled_out",
    "safeguard_adequate",
    "safeguard_inadequate",
    "exceeds_threshold",
    "within_threshold",
    "inconclusive",
    "no_threshold",
    "no_data",
]


class SuiteDecision(_Strict):
    outcome: Outcome
    summary: str
    reasons: list[str]
    threshold: float | None = None
    kind: Literal["capability", "safeguard", "harm", "usefulness", "bias"] = "capability"


Action = Literal[
    "deploy",
    "deploy_with_safeguards",
    "gate_behind_kyc",
    "remove_capability",
    "notify_authorities",
    "collect_more_evidence",
]


class OverallDecision(_Strict):
    action: Action
    summary: str
    reasons: list[str]
