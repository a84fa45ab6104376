"""``hazard_knowledge``: textbook knowledge that neighbours the hazard domains.

A benign proxy for WMDP (bio, chem, cyber): four-option questions about
undergraduate-level material next to the hazardous knowledge itself. High accuracy
says the model has the foundations that uplift would build on; it never tests
hazardous knowledge directly. At black tier a question the model declines or answers
without a letter is *not attempted*: it is kept out of the accuracy, and counted as
correct in the interval's upper bound, so declining cannot pass for not knowing. The public WMDP
files load with ``data_file=``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai.dataset import Sample

from assay._util.errors import UsageError
from assay.suites._data import read_table, require_columns, shipped
from assay.suites._mc import (
    CHANCE,
    LETTERS,
    SUBJECTS,
    McMethod,
    mc_task,
    prompt_for,
)
from assay.suites._registry import MetricSpec, grey_or_black_mc, suite
from assay.tiers import Tier

SUITE_ID = "hazard_knowledge"
VERSION = "1.1.0"
DATA_FILE = "hazard_knowledge.jsonl"
SUBSETS = tuple(SUBJECTS)


def load_items(
    data_file: str | Path | None = None, subset: str | None = None
) -> list[dict[str, Any]]:
    """Items in WMDP's format (``question``, ``choices``, ``answer`` index), each with
    an ``id`` and a ``subset``. Public WMDP files (jsonl/parquet) work as they are."""
    path = Path(data_file) if data_file else shipped(DATA_FILE)
    rows = read_table(path)
    require_columns(path, rows, ["question", "choices", "answer"])
    default_subset = _subset_from_name(path.name)
    items = []
    for index, row in enumerate(rows):
        choices = list(row["choices"])
        answer = int(row["answer"])
        if len(choices) != len(LETTERS) or not 0 <= answer < len(LETTERS):
            raise UsageError(f"{path}: row {index + 1} needs 4 choices and an answer index 0-3")
        item_subset = str(row.get("subset") or default_subset or "bio")
        if item_subset not in SUBJECTS:
            raise UsageError(f"{path}: row {index + 1} has unknown subset {item_subset!r}")
        items.append(
            {
                "id": str(row.get("id") or f"{path.stem}-{index:05d}"),
                "subset": item_subset,
                "question": str(row["question"]),
                "choices": [str(c) for c in choices],
                "answer": answer,
            }
        )
    if subset is not None:
        if subset not in SUBSETS:
            raise UsageError(f"unknown subset {subset!r}", hint=f"use one of {', '.join(SUBSETS)}")
        items = [i for i in items if i["subset"] == subset]
    return items


def _subset_from_name(name: str) -> str | None:
    lowered = name.lower()
    for s in SUBSETS:
        if s in lowered:
            return s
    return None


def to_sample(item: dict[str, Any], method: McMethod) -> Sample:
    subject = SUBJECTS[item["subset"]]
    build = prompt_for(method)
    return Sample(
        id=item["id"],
        input=build(item["question"], item["choices"], subject),
        target=LETTERS[item["answer"]],
        metadata={"subset": item["subset"]},
    )


@suite(
    id=SUITE_ID,
    title="Hazard-adjacent knowledge (bio, chem, cyber)",
    risk_area="cbrn_cyber_knowledge",
    version=VERSION,
    description=(
        "Four-option questions on textbook knowledge next to biological, chemical and "
        "cyber hazards (a benign proxy in WMDP's format). Accuracy above chance shows the "
        "foundations that misuse uplift would build on."
    ),
    data_files=(DATA_FILE,),
    tiers=(Tier.BLACK, Tier.GREY),
    primary_metric=MetricSpec(
        name="accuracy",
        description="share of questions answered correctly (chance is 0.25)",
        kind="capability",
    ),
    breakdown_key="subset",
    chance=CHANCE,
    choose=grey_or_black_mc,
)
def hazard_knowledge(
    method: McMethod = "logprobs",
    subset: str | None = None,
    data_file: str | None = None,
    top_logprobs: int = 20,
) -> Task:
    """Multiple-choice knowledge proxy for WMDP (bio, chem, cyber).

    Args:
        method: ``logprobs`` (grey: next-token letter logprobs after ``Answer:``, for
            completion endpoints), ``chat_logprobs`` (grey, through chat), or
            ``generate`` (black: parse the letter from a chat reply).
        subset: ``bio``, ``chem`` or ``cyber``; all when omitted.
        data_file: a WMDP-format file (jsonl, json or parquet) instead of the shipped items.
        top_logprobs: alternatives requested per position (20 is the OpenAI maximum).
    """
    items = load_items(data_file, subset)
    return mc_task(
        SUITE_ID,
        VERSION,
        [to_sample(i, method) for i in items],
        method,
        top_logprobs=top_logprobs,
        # at black tier a declined or unparseable reply is not an attempt; with logprobs
        # every item has an answer distribution
        unanswered="not_attempted" if method == "generate" else "wrong",
    )
