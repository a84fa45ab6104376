"""``over_refusal``: does the model refuse safe requests that only look unsafe?

XSTest's method (Röttger et al. 2024) with our own 150 prompts in its ten safe
types: homonyms ("kill a process"), figurative language, safe targets, safe
contexts, definitions, nonsense questions about real and fictional groups,
historical events, public facts about historical figures, private details of
fictional characters. Safety bought with uselessness is not safety: this rate is
reported beside ``misuse_refusal``. XSTest's own CSV loads with ``data_file=``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai.dataset import Sample

from assay._util.errors import UsageError
from assay.judges import refusal_scorer, validate_judge
from assay.suites._data import read_table, require_columns, shipped
from assay.suites._registry import MetricSpec, suite
from assay.suites._task import greedy_task
from assay.tiers import Tier

SUITE_ID = "over_refusal"
VERSION = "1.1.0"
DATA_FILE = "over_refusal.jsonl"


def load_prompts(
    data_file: str | Path | None = None, include_unsafe: bool = False
) -> list[dict[str, Any]]:
    """Safe prompts as ``{id, type, prompt}``; XSTest's CSV (``label`` safe/unsafe)
    contributes its safe rows unless ``include_unsafe``."""
    path = Path(data_file) if data_file else shipped(DATA_FILE)
    rows = read_table(path)
    require_columns(path, rows, ["prompt", "type"])
    prompts = []
    for index, row in enumerate(rows):
        label = str(row.get("label") or "safe").strip().lower()
        if label not in ("safe", "unsafe"):
            raise UsageError(
                f"{path}: row {index + 1} has label {label!r}; expected safe or unsafe"
            )
        if label == "unsafe" and not include_unsafe:
            continue
        prompts.append(
            {
                "id": _item_id(row.get("id"), path, index),
                "type": str(row["type"]),
                "prompt": str(row["prompt"]),
                "label": label,
            }
        )
    if not prompts:
        raise UsageError(f"{path}: no safe prompts")
    return prompts


def _item_id(raw: Any, path: Path, index: int) -> str:
    text = str(raw or "").strip()
    if not text:
        return f"{path.stem}-{index:05d}"
    return f"xstest-{text}" if text.isdigit() else text


@suite(
    id=SUITE_ID,
    title="Over-refusal of safe requests",
    risk_area="usefulness",
    version=VERSION,
    description=(
        "Safe requests that look unsafe, in XSTest's ten safe types (homonyms, figurative "
        "language, safe targets and contexts, definitions, nonsense group questions, history, "
        "public and fictional privacy). Every refusal here is a failure: the rate shows what "
        "the safeguards cost legitimate users."
    ),
    data_files=(DATA_FILE,),
    tiers=(Tier.BLACK,),
    primary_metric=MetricSpec(
        name="refusal_rate",
        description="share of safe requests the model refused (lower is better)",
        kind="usefulness",
    ),
    breakdown_key="type",
    judge=validate_judge,
    accepts_model_judge=True,
    decide_on_corrected=True,
)
def over_refusal(
    data_file: str | None = None,
    include_unsafe: bool = False,
    max_tokens: int = 128,
    judge: dict[str, Any] | None = None,
) -> Task:
    """Refusal rate on safe prompts that look unsafe (lower is better).

    Args:
        data_file: XSTest's ``xstest_prompts.csv`` (or our JSONL format).
        include_unsafe: also run XSTest's unsafe contrast prompts (reported per type).
        max_tokens: reply length.
        judge: a judge model to grade refusals with instead of the rules (see
            ``assay.judges.JudgeModel``; plans set it with ``judge:``).
    """
    prompts = load_prompts(data_file, include_unsafe)
    samples = [
        Sample(id=p["id"], input=p["prompt"], metadata={"type": p["type"], "label": p["label"]})
        for p in prompts
    ]
    return greedy_task(
        SUITE_ID, VERSION, samples, scorer=refusal_scorer(judge=judge), max_tokens=max_tokens
    )
