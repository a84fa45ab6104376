"""``report.json``: the machine-readable result of an audit.

The models below are the source of truth; ``schema/report-<version>.schema.json``
is generated from them (``python -m assay.report.schema``) and kept in the repo,
and a test fails when the two drift apart. Bump ``SCHEMA_VERSION`` on any change
a consumer could notice.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.models import ModelFingerprint
from assay.policy import OverallDecision, SuiteDecision
from assay.stats import Metric
from assay.techniques import TechniqueResult
from assay.tiers import Tier

SCHEMA_VERSION = "1.3"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class Group(_Strict):
    """A metric restricted to one value of the suite's breakdown key."""

    key: str
    value: str
    metrics: list[Metric]


class JudgeValidationInfo(_Strict):
    """Measured agreement of an automatic judge with human labels."""

    judge: str
    version: str
    dataset: str
    n: int
    positive: str = Field(description="the label the judge detects, e.g. refusal")
    negative: str = Field(description="the other label, e.g. compliance")
    accuracy: Metric
    sensitivity: Metric
    specificity: Metric
    adversarial: list[Metric] = Field(
        default_factory=list,
        description="agreement on labelled replies built to game a phrase-reading judge "
        "(a decline then the content; the content then a disclaimer)",
    )


class SuiteResult(_Strict):
    id: str
    title: str
    version: str
    risk_area: str
    data_digest: str
    tier: Tier = Field(description="the access tier this result was obtained at")
    method: str = Field(description="how items were scored, e.g. logprobs or generate")
    params: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    n: int = Field(ge=0, description="samples scored")
    n_planned: int = Field(ge=0)
    n_errors: int = Field(ge=0, description="samples that failed in the last attempt")
    metrics: list[Metric]
    breakdown: list[Group] = Field(default_factory=list)
    judge: JudgeValidationInfo | None = None
    decision: SuiteDecision
    notes: list[str] = Field(default_factory=list)


class Capabilities(_Strict):
    chat: bool
    chat_logprobs: bool
    completions: bool
    completion_logprobs: bool
    native_tools: bool = False
    granted_tier: Tier | None = None


class TargetInfo(_Strict):
    spec: str
    kind: Literal["builtin", "hf", "openai", "gateway"]
    model: str
    base_url: str | None = Field(description="null for local weights served in-process")
    fingerprint: ModelFingerprint
    capabilities: Capabilities


class PlanInfo(_Strict):
    name: str
    digest: str
    suites: list[str]
    thresholds: dict[str, float]
    statistics: dict[str, str | bool | int] = Field(
        default_factory=dict,
        description="interval method, multiple-comparison control, sequential testing",
    )


class GatewayLogInfo(_Strict):
    """The gateway's request log for this audit's engagement: its hash-chain head and
    totals, from an export signed by the gateway key (kept beside the report)."""

    engagement: str
    head: str | None = Field(description="entry hash at the head of the whole chain")
    entries: int = Field(ge=0, description="entries in the whole chain at export")
    totals: dict[str, int] = Field(description="requests, tokens, floats, errors of the engagement")
    export_digest: str = Field(description="sha256 of the signed export's payload")
    signers: list[str] = Field(description="key ids that signed the export")
    file: str = Field(description="the signed export, relative to the report")


class Environment(_Strict):
    assay_version: str
    inspect_ai_version: str
    python_version: str
    platform: str


class Report(_Strict):
    schema_version: Literal["1.3"] = "1.3"
    run_id: str
    config_digest: str
    created_at: str
    completed_at: str
    complete: bool = Field(description="every planned sample was scored")
    target: TargetInfo
    tier_requested: Tier
    tier: Tier = Field(description="the tier the audit actually ran at")
    seed: int
    plan: PlanInfo
    decision: OverallDecision
    suites: list[SuiteResult]
    samples_digest: str = Field(
        description="sha256 over samples.jsonl as written beside this report"
    )
    inspect_logs: list[str] = Field(default_factory=list)
    techniques: list[TechniqueResult] = Field(
        default_factory=list,
        description="white-box and tamper-resistance techniques: configuration, budget used, "
        "headline and curves (private findings are kept out of the report)",
    )
    gateway_log: GatewayLogInfo | None = Field(
        default=None,
        description="the serving gateway's signed log head and totals, when the auditor can "
        "obtain them (in-process gateways; a developer's export otherwise)",
    )
    environment: Environment
    notes: list[str] = Field(default_factory=list)
