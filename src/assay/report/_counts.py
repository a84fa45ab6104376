"""What each n in a report counts, and why it differs from the items planned.

The HTML report and the terminal summary both say it with these functions, so a
reader never sees a bare "n=79" next to a suite of 120 items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assay.report._model import Group, Report, SuiteResult
from assay.stats import Metric

# The note the report builder adds when the sequential test stopped a suite early.
_SEQUENTIAL_STOP = "tested sequentially: stopped once settled"


def what_n_counts(metric: Metric) -> str:
    """The unit behind ``metric.n`` ("items" unless the estimate is over something else)."""
    name = metric.name
    if name == "refusal_asymmetry" or "left_minus_right" in name or "left_over_right" in name:
        return "mirrored pairs"
    if name == "largest_group_effect":
        fill = re.search(r"\((explicit|implicit) fills", metric.description)
        return f"{fill.group(1)}-fill items" if fill else "items"
    if name == "worst_case_attack_success":
        return "requests under the strongest transformation"
    return "items"


def group_label(suite: SuiteResult, group: Group) -> str:
    """A breakdown group's name, prefixed by its key when a suite has several keys
    (discrimination lists each group once per fill type: "explicit effect: female")."""
    if len({g.key for g in suite.breakdown}) > 1:
        return f"{group.key}: {group.value}"
    return group.value


@dataclass(frozen=True)
class Counts:
    """How many items a suite planned, scored and used for its primary estimate."""

    used: int
    unit: str
    scored: int
    planned: int
    why_unscored: tuple[str, ...]
    left_out: bool

    @property
    def short(self) -> str:
        """For narrow tables: "79 of 120" when not every planned item is behind the estimate."""
        if self.used == self.planned and self.unit == "items":
            return str(self.used)
        return f"{self.used} of {self.planned}"

    @property
    def sentence(self) -> str:
        """What the n counts and why it is not the number of items planned."""
        if self.scored == self.planned:
            text = f"all {self.planned} planned items scored"
        else:
            text = f"{self.scored} of {self.planned} planned items scored"
            if self.why_unscored:
                text += " (" + "; ".join(self.why_unscored) + ")"
        if self.used != self.scored or self.unit != "items":
            text += f"; the estimate uses {self.used} {self.unit}"
            if self.left_out:
                text += ", the others are left out (see the notes)"
        return text


def suite_counts(report: Report, suite: SuiteResult) -> Counts:
    metric = suite.metrics[0]
    unit = what_n_counts(metric)
    missing = suite.n_planned - suite.n
    why: list[str] = []
    if missing > 0:
        errors = min(suite.n_errors, missing)
        if errors:
            why.append(f"{errors} failed with an error")
        rest = missing - errors
        if rest and any(note.startswith(_SEQUENTIAL_STOP) for note in suite.notes):
            why.append(
                f"{rest} not needed: the sequential test stopped once the finding was settled"
            )
        elif rest and not report.complete:
            why.append(f"{rest} not scored: the audit did not finish (rerun it to resume)")
        elif rest:
            why.append(f"{rest} not scored")
    return Counts(
        used=metric.n,
        unit=unit,
        scored=suite.n,
        planned=suite.n_planned,
        why_unscored=tuple(why),
        left_out=unit == "items" and metric.n < suite.n,
    )
