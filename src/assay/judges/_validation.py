"""How well a judge agrees with human labels: one confusion matrix, one record."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from assay.stats import Proportion, wilson

DATA_DIR = Path(__file__).parent / "data"
LABELLED_FILE = "refusal_judge.jsonl"
HELD_OUT = "held_out"
# Kinds of labelled reply built to game a judge that looks for decline phrases.
ADVERSARIAL_KINDS = ("decline_then_comply", "comply_then_disclaim")


@dataclass(frozen=True)
class Confusion:
    """Counts of a binary judge against labels (positive: the label the judge detects)."""

    true_positives: int
    false_negatives: int
    true_negatives: int
    false_positives: int

    @property
    def n(self) -> int:
        return (
            self.true_positives + self.false_negatives + self.true_negatives + self.false_positives
        )

    @property
    def accuracy(self) -> Proportion:
        return wilson(self.true_positives + self.true_negatives, self.n)

    @property
    def sensitivity(self) -> Proportion:
        """Labelled positives the judge recognised."""
        return wilson(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def specificity(self) -> Proportion:
        """Labelled negatives the judge recognised."""
        return wilson(self.true_negatives, self.true_negatives + self.false_positives)


def confusion_matrix(predicted: Iterable[bool], actual: Iterable[bool]) -> Confusion:
    """The confusion matrix of ``predicted`` against ``actual`` (True = positive)."""
    tp = fn = tn = fp = 0
    for said, truth in zip(predicted, actual, strict=True):
        if truth:
            tp, fn = (tp + 1, fn) if said else (tp, fn + 1)
        else:
            tn, fp = (tn, fp + 1) if said else (tn + 1, fp)
    return Confusion(tp, fn, tn, fp)


@dataclass(frozen=True)
class KindAccuracy:
    """A judge's agreement with the labels on one kind of labelled reply."""

    kind: str
    accuracy: Proportion


@dataclass(frozen=True)
class JudgeValidation:
    """How well a judge agrees with human labels on a labelled set."""

    judge: str
    version: str
    dataset: str
    n: int
    accuracy: Proportion
    sensitivity: Proportion  # positives recognised as positives
    specificity: Proportion  # negatives recognised as negatives
    positive: str = "refusal"
    negative: str = "compliance"
    by_kind: tuple[KindAccuracy, ...] = field(default_factory=tuple)
    """Agreement on the adversarial kinds (a decline then the content, the content then a
    disclaimer), where a judge that reads phrases instead of substance fails."""

    def as_json(self) -> dict[str, Any]:
        def proportion(p: Proportion) -> dict[str, Any]:
            return {"successes": p.successes, "n": p.n}

        return {
            "judge": self.judge,
            "version": self.version,
            "dataset": self.dataset,
            "positive": self.positive,
            "negative": self.negative,
            "accuracy": proportion(self.accuracy),
            "sensitivity": proportion(self.sensitivity),
            "specificity": proportion(self.specificity),
            "by_kind": [{"kind": k.kind, **proportion(k.accuracy)} for k in self.by_kind],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JudgeValidation:
        def proportion(d: dict[str, Any]) -> Proportion:
            return wilson(int(d["successes"]), int(d["n"]))

        accuracy = proportion(data["accuracy"])
        return cls(
            judge=str(data["judge"]),
            version=str(data["version"]),
            dataset=str(data["dataset"]),
            n=accuracy.n,
            accuracy=accuracy,
            sensitivity=proportion(data["sensitivity"]),
            specificity=proportion(data["specificity"]),
            positive=str(data.get("positive", "refusal")),
            negative=str(data.get("negative", "compliance")),
            by_kind=tuple(
                KindAccuracy(str(k["kind"]), proportion(k)) for k in data.get("by_kind", [])
            ),
        )


def validation_record(
    judge: str,
    version: str,
    dataset: str,
    predicted: Sequence[bool],
    actual: Sequence[bool],
    *,
    kinds: Sequence[str] | None = None,
    positive: str = "refusal",
    negative: str = "compliance",
) -> JudgeValidation:
    """A judge's validation record from its verdicts on a labelled set; ``kinds`` adds its
    agreement on the adversarial kinds."""
    counts = confusion_matrix(predicted, actual)
    by_kind: list[KindAccuracy] = []
    if kinds is not None:
        for kind in ADVERSARIAL_KINDS:
            hits = [p == a for p, a, k in zip(predicted, actual, kinds, strict=True) if k == kind]
            if hits:
                by_kind.append(KindAccuracy(kind, wilson(sum(hits), len(hits))))
    return JudgeValidation(
        judge=judge,
        version=version,
        dataset=dataset,
        n=counts.n,
        accuracy=counts.accuracy,
        sensitivity=counts.sensitivity,
        specificity=counts.specificity,
        positive=positive,
        negative=negative,
        by_kind=tuple(by_kind),
    )


@cache
def labelled_replies(split: str = HELD_OUT) -> tuple[dict[str, Any], ...]:
    """The labelled replies of one part (``tuning`` or ``held_out``) of the judge's set."""
    rows = []
    for line in (DATA_DIR / LABELLED_FILE).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["split"] == split:
                rows.append(row)
    if not rows:
        raise ValueError(f"no labelled replies in part {split!r} of {LABELLED_FILE}")
    return tuple(rows)


__all__ = [
    "ADVERSARIAL_KINDS",
    "HELD_OUT",
    "LABELLED_FILE",
    "Confusion",
    "JudgeValidation",
    "KindAccuracy",
    "confusion_matrix",
    "labelled_replies",
    "validation_record",
]
