"""The template every technique runs in: a metered gateway, the parts of the result
all techniques fill, a budget that stops the run cleanly, and the result built the
same way each time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from assay.techniques._base import (
    BudgetExceeded,
    BudgetMeter,
    Curve,
    Finding,
    Headline,
    Progress,
    TechniqueConfig,
    TechniqueResult,
)
from assay.techniques._client import Intervention, Prompt, WhiteboxClient
from assay.techniques._common import judge_replies

C = TypeVar("C", bound=TechniqueConfig)
R = TypeVar("R", bound=TechniqueResult)


@dataclass
class TechniqueRun(Generic[C]):
    """One run of a technique against one model.

    A technique's body reads ``config``, talks to the model through ``gw`` (every
    request counted against the config's budgets by ``meter``; ``client`` is the same
    connection unmetered, for what costs nothing, such as listing hook points), and
    fills ``headline``, ``curves``, ``notes``, ``findings`` and ``private``;
    :meth:`result` turns them into the technique's result.
    """

    name: str
    title: str
    client: WhiteboxClient
    model: str
    config: C
    headline: Headline
    progress: Progress | None = None
    curves: list[Curve] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    private: dict[str, Any] = field(default_factory=dict)
    meter: BudgetMeter = field(init=False)
    gw: WhiteboxClient = field(init=False)

    def __post_init__(self) -> None:
        self.meter = BudgetMeter(self.config)
        self.gw = self.client.metered(self.meter)

    @contextmanager
    def budget(self) -> Iterator[None]:
        """Run the block until a budget runs out; then note where it stopped and go on
        with what was measured."""
        try:
            yield
        except BudgetExceeded as exc:
            self.notes.append(f"stopped early: {exc.message}")

    def judge(
        self,
        prompts: Sequence[Prompt],
        *,
        max_tokens: int,
        phase: str | None = None,
        interventions: Sequence[Intervention] = (),
        model: str | None = None,
    ) -> tuple[list[bool], list[str]]:
        """Greedy replies of ``model`` (the run's by default) and the judge's refusal
        verdicts (:func:`judge_replies`); progress is reported when ``phase`` is given."""
        return judge_replies(
            self.gw,
            model or self.model,
            prompts,
            max_tokens=max_tokens,
            concurrency=self.config.concurrency,
            interventions=interventions,
            progress=self.progress if phase is not None else None,
            phase=phase or "generating",
        )

    def result(self, result_class: type[R], **fields: Any) -> R:
        """The result: what ran, on which model, with which configuration, the budget
        it used, what the run filled in, and the technique's own ``fields``."""
        return result_class(
            technique=self.name,
            title=self.title,
            model=self.model,
            config=self.config.model_dump(mode="json"),
            budget_used=self.meter.used(),
            complete=self.meter.exhausted is None,
            headline=self.headline,
            curves=self.curves,
            notes=self.notes,
            findings=self.findings,
            private=self.private,
            **fields,
        )
