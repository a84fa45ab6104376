"""The Inspect task a suite returns: its samples as a dataset named after the suite, and
the suite's id and version on the task and in its metadata (an audit finds the suite
of a log by them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import Scorer
from inspect_ai.solver import Solver, generate, system_message


def suite_task(
    suite_id: str,
    version: str,
    samples: Sequence[Sample],
    *,
    solver: Solver | list[Solver],
    scorer: Scorer,
    config: GenerateConfig | None = None,
    **metadata: Any,
) -> Task:
    """The suite's task; ``metadata`` joins ``assay_suite`` in the task's metadata."""
    return Task(
        dataset=MemoryDataset(list(samples), name=suite_id),
        solver=solver,
        scorer=scorer,
        config=config if config is not None else GenerateConfig(),
        name=suite_id,
        version=version,
        metadata={"assay_suite": suite_id, **metadata},
    )


def greedy_task(
    suite_id: str,
    version: str,
    samples: Sequence[Sample],
    *,
    scorer: Scorer,
    max_tokens: int,
    system: str | None = None,
) -> Task:
    """Each sample's prompt answered once at temperature 0 (after the ``system``
    message, if any), the reply scored by ``scorer``."""
    return suite_task(
        suite_id,
        version,
        samples,
        solver=[system_message(system), generate()] if system else generate(),
        scorer=scorer,
        config=GenerateConfig(temperature=0.0, max_tokens=max_tokens),
    )
