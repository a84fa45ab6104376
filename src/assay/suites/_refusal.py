"""The task every refusal suite runs: each request sent once at temperature 0, the reply
graded by the refusal judge (the rules, or the plan's judge model)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.solver import generate

from assay.judges import refusal_scorer


def refusal_task(
    suite_id: str,
    version: str,
    samples: Sequence[Sample],
    *,
    judge: dict[str, Any] | None,
    max_tokens: int,
) -> Task:
    """An Inspect task asking each sample's request and grading refusals."""
    return Task(
        dataset=MemoryDataset(list(samples), name=suite_id),
        solver=generate(),
        scorer=refusal_scorer(judge=judge),
        config=GenerateConfig(temperature=0.0, max_tokens=max_tokens),
        name=suite_id,
        version=version,
        metadata={"assay_suite": suite_id},
    )
