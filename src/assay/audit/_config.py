"""What an audit is asked to do (:class:`AuditConfig`), what it hands back, and the
names of the files it keeps in its output folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from assay._util.errors import AssayError
from assay.audit._plan import DEFAULT_PLAN
from assay.models import DEFAULT_TARGET
from assay.tiers import Tier

if TYPE_CHECKING:
    from assay.report import Report

GATEWAY_DB = "gateway.sqlite"  # an in-process gateway's tokens and request log
GATEWAY_LOG_FILE = "gateway-log.json"
RECEIPTS_FILE = "gateway-receipts.jsonl"  # signed checkpoints of the gateway's request log
JUDGE_VALIDATION_FILE = "judge-validation.json"


class AuditConfig(BaseModel):
    """Everything that determines an audit's results, plus where they go."""

    target: str = DEFAULT_TARGET
    tier: Tier = Tier.GREY
    tier_explicit: bool = False
    plan: str = DEFAULT_PLAN
    suites: list[str] | None = None
    limit: int | None = Field(default=None, ge=1)
    seed: int = 0
    model: str | None = None
    api_key_env: str | None = None
    out: Path = Path("assay-out")
    fresh: bool = False
    max_connections: int = Field(default=32, ge=1)
    full: bool = False
    sequential: bool | None = Field(
        default=None, description="stop rate suites early when settled (default: the plan's choice)"
    )
    only_samples: dict[str, list[str]] | None = Field(
        default=None, description="score exactly these sample ids per suite (a rerun)"
    )
    show_progress: bool = True


# How audits call Inspect. Every scored sample is already committed to the run store
# by the recorder, so Inspect's own live buffer (for watching a run in its viewer)
# is off and its log file is written in large chunks: both cost time per sample.
INSPECT_EVAL_OPTIONS: dict[str, Any] = {
    "display": "none",
    "log_level": "error",
    "log_realtime": False,
    "log_buffer": 100,
    "score_display": False,
}


class AuditInterrupted(AssayError):
    """The audit stopped early; finished samples are saved."""

    exit_code = 130


@dataclass
class AuditOutcome:
    report: Report
    out: Path
    resumed: bool
    samples_run: int
    files: dict[str, Path] = field(default_factory=dict)
