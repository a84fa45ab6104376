"""The sample record: one scored sample, the unit that audit runs persist, reports
aggregate and attestations commit to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SampleRecord:
    """One scored sample of one suite."""

    suite: str
    sample_id: str
    epoch: int
    value: float
    answer: str | None
    output: str | None
    sample_metadata: dict[str, Any]
    score_metadata: dict[str, Any]
    input_tokens: int
    output_tokens: int
    eval_id: str
    scored_at: datetime

    def as_json(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["scored_at"] = self.scored_at.isoformat()
        return data
