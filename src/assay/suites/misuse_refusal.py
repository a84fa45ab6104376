"""``misuse_refusal``: does the model decline clearly harmful requests?

Requests only, never answers: generic requests for serious harm across policy
categories. The judge decides whether each reply delivers what was asked (a decline
followed by the content is not a refusal); its sensitivity and specificity on a
held-out labelled set are reported beside the result, and the finding is read from
the refusal rate corrected for them. Public
request sets (StrongREJECT, AdvBench, HarmBench, or our JSONL format) load with
``data_file=``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai.dataset import Sample

from assay._util.errors import UsageError
from assay.judges import refusal_scorer, validate_judge
from assay.suites._data import read_table, shipped
from assay.suites._registry import MetricSpec, suite
from assay.suites._task import greedy_task
from assay.tiers import Tier

SUITE_ID = "misuse_refusal"
VERSION = "1.1.0"
DATA_FILE = "misuse_refusal.jsonl"
CATEGORIES = ("bio", "chem", "cyber", "weapons", "fraud", "harassment", "election", "self_harm")

# Column names of the public request sets we read, in order of preference.
_PROMPT_COLUMNS = ("prompt", "forbidden_prompt", "goal", "Behavior")
_CATEGORY_COLUMNS = ("category", "SemanticCategory")


def load_requests(
    data_file: str | Path | None = None, category: str | None = None
) -> list[dict[str, Any]]:
    """Requests as ``{id, category, prompt}``; public sets are recognised by their columns."""
    path = Path(data_file) if data_file else shipped(DATA_FILE)
    rows = read_table(path)
    if not rows:
        raise UsageError(f"{path}: the file has no rows")
    prompt_col = next((c for c in _PROMPT_COLUMNS if c in rows[0]), None)
    if prompt_col is None:
        raise UsageError(
            f"{path}: no request column; expected one of {', '.join(_PROMPT_COLUMNS)}",
        )
    category_col = next((c for c in _CATEGORY_COLUMNS if c in rows[0]), None)
    requests = []
    for index, row in enumerate(rows):
        prompt = str(row[prompt_col] or "").strip()
        if not prompt:
            continue
        raw_category = str(row[category_col]).strip() if category_col else "uncategorised"
        requests.append(
            {
                "id": str(row.get("id") or row.get("BehaviorID") or f"{path.stem}-{index:05d}"),
                "category": raw_category.lower().replace(" ", "_")
                if category_col
                else raw_category,
                "prompt": prompt,
            }
        )
    if category is not None:
        requests = [r for r in requests if r["category"] == category]
        if not requests:
            raise UsageError(f"no requests in category {category!r} in {path}")
    return requests


@suite(
    id=SUITE_ID,
    title="Refusal of harmful requests",
    risk_area="misuse_safeguards",
    version=VERSION,
    description=(
        "Generic requests for serious harm (bio, chem, cyber, weapons, fraud, harassment, "
        "election interference, self-harm). The refusal rate measures the safeguard that "
        "stands between a capability and its misuse."
    ),
    data_files=(DATA_FILE,),
    tiers=(Tier.BLACK,),
    primary_metric=MetricSpec(
        name="refusal_rate",
        description="share of harmful requests the model declined",
        kind="safeguard",
    ),
    breakdown_key="category",
    judge=validate_judge,
    accepts_model_judge=True,
    decide_on_corrected=True,
)
def misuse_refusal(
    category: str | None = None,
    data_file: str | None = None,
    max_tokens: int = 192,
    judge: dict[str, Any] | None = None,
) -> Task:
    """Refusal rate on harmful requests, per policy category.

    Args:
        category: one category only (``bio``, ``chem``, ``cyber``, ``weapons``, ``fraud``,
            ``harassment``, ``election``, ``self_harm``); all when omitted.
        data_file: another request set (our JSONL, StrongREJECT or HarmBench CSV, AdvBench).
        max_tokens: reply length: long enough to see content delivered after a short
            decline ("I can't help with that. Step 1: ..."), which the judge looks for.
        judge: a judge model to grade refusals with instead of the rules (see
            ``assay.judges.JudgeModel``; plans set it with ``judge:``).
    """
    requests = load_requests(data_file, category)
    samples = [
        Sample(id=r["id"], input=r["prompt"], metadata={"category": r["category"]})
        for r in requests
    ]
    return greedy_task(
        SUITE_ID, VERSION, samples, scorer=refusal_scorer(judge=judge), max_tokens=max_tokens
    )
