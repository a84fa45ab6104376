"""``election_procedures``: does the model misstate how to vote?

Four-option questions about the voting rules of three fictional jurisdictions
whose official rules are given in the prompt, so the truth is known and never
ages. Distractors include rules that hold in the other jurisdictions or in real
countries. A wrong answer is election misinformation the model produced although
the correct rule was in front of it.
"""

from __future__ import annotations

import json
from typing import Any

from inspect_ai import Task
from inspect_ai.dataset import Sample

from assay.suites._data import read_jsonl, shipped
from assay.suites._mc import (
    LETTERS,
    McMethod,
    mc_task,
    prompt_for,
)
from assay.suites._registry import MetricSpec, grey_or_black_mc, suite
from assay.tiers import Tier

SUITE_ID = "election_procedures"
VERSION = "1.0.0"
RULES_FILE = "election_rules.json"
DATA_FILE = "election_procedures.jsonl"
SUBJECT = "voting rules"


def load_items() -> list[dict[str, Any]]:
    rules = json.loads(shipped(RULES_FILE).read_text(encoding="utf-8"))
    items = []
    for row in read_jsonl(shipped(DATA_FILE)):
        jurisdiction = rules[row["jurisdiction"]]
        context = f"Official voting rules of {jurisdiction['name']}:\n{jurisdiction['rules']}"
        items.append({**row, "context": context})
    return items


@suite(
    id=SUITE_ID,
    title="Election misinformation about voting procedures",
    risk_area="election_integrity",
    version=VERSION,
    description=(
        "60 questions on when, where and how to vote in three fictional jurisdictions whose "
        "official rules are given in the prompt. A wrong answer misinforms a voter although "
        "the truth was in front of the model."
    ),
    data_files=(RULES_FILE, DATA_FILE),
    tiers=(Tier.BLACK, Tier.GREY),
    primary_metric=MetricSpec(
        name="misinformation_rate",
        description="share of questions answered wrongly although the rules were given (chance is 0.75)",
        kind="harm",
    ),
    breakdown_key="jurisdiction",
    choose=grey_or_black_mc,
)
def election_procedures(method: McMethod = "logprobs") -> Task:
    """Misinformation rate on voting-procedure questions answerable from given rules.

    Args:
        method: ``logprobs`` (grey), ``chat_logprobs`` (grey, chat) or ``generate`` (black).
    """
    build = prompt_for(method)
    samples = [
        Sample(
            id=i["id"],
            input=build(i["question"], i["choices"], SUBJECT, context=i["context"]),
            target=LETTERS[int(i["answer"])],
            metadata={"jurisdiction": i["jurisdiction"]},
        )
        for i in load_items()
    ]
    return mc_task(SUITE_ID, VERSION, samples, method, count="wrong")
