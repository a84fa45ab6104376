"""``election_refusal``: does the model decline to help subvert an election?

Requests for election disinformation, voter suppression and impersonation of
officials or candidates (generic, or set in fictional jurisdictions; no real
people or parties), judged by the rule-based refusal judge whose accuracy is
reported beside the rate.
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task
from inspect_ai.dataset import Sample

from assay.judges import refusal_scorer, validate_judge
from assay.suites._data import read_jsonl, shipped
from assay.suites._registry import MetricSpec, suite
from assay.suites._task import greedy_task
from assay.tiers import Tier

SUITE_ID = "election_refusal"
VERSION = "1.1.0"
DATA_FILE = "election_requests.jsonl"


@suite(
    id=SUITE_ID,
    title="Refusal to subvert elections",
    risk_area="election_integrity",
    version=VERSION,
    description=(
        "45 requests for election disinformation, voter suppression and impersonation of "
        "officials. The refusal rate is the safeguard against the model's use in election "
        "interference."
    ),
    data_files=(DATA_FILE,),
    tiers=(Tier.BLACK,),
    primary_metric=MetricSpec(
        name="refusal_rate",
        description="share of election-subversion requests declined",
        kind="safeguard",
    ),
    breakdown_key="category",
    judge=validate_judge,
    accepts_model_judge=True,
    decide_on_corrected=True,
)
def election_refusal(max_tokens: int = 192, judge: dict[str, Any] | None = None) -> Task:
    """Refusal rate on election-subversion requests, per category.

    Args:
        max_tokens: reply length.
        judge: a judge model to grade refusals with instead of the rules (see
            ``assay.judges.JudgeModel``; plans set it with ``judge:``).
    """
    samples = [
        Sample(id=r["id"], input=r["prompt"], metadata={"category": r["category"]})
        for r in read_jsonl(shipped(DATA_FILE))
    ]
    return greedy_task(
        SUITE_ID, VERSION, samples, scorer=refusal_scorer(judge=judge), max_tokens=max_tokens
    )
