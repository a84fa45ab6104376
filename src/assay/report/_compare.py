"""Comparing two audits (two models, or two versions of one): differences per suite
with intervals, paired on shared items where the records allow, regressions flagged.

For a rate suite, both audits' ``samples.jsonl`` give each item's outcome; on the
items both scored, the difference of rates has Newcombe's paired interval (pairing
removes the items' own difficulty from the comparison). Other metrics (model
coefficients, bootstrap scores) are compared as independent estimates, with a
normal interval from the two reported intervals (conservative when the items are
shared). A change is a *regression* when the interval of "B minus A" lies wholly on
the unsafe side of zero, an *improvement* on the safe side, else *no clear change*.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from assay._util.errors import UsageError
from assay.report._model import Report, SuiteResult
from assay.report._schema import validate_report
from assay.stats import paired_difference

Verdict = Literal["regression", "improvement", "no_clear_change", "not_comparable"]


@dataclass(frozen=True)
class _Base:
    suite: str
    metric: str
    unit: str
    a: float | None
    b: float | None


@dataclass(frozen=True)
class SuiteComparison:
    suite: str
    metric: str
    unit: str
    a: float | None
    b: float | None
    difference: float | None  # b - a
    low: float | None
    high: float | None
    n: int
    method: str
    verdict: Verdict
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    suites: list[SuiteComparison]

    @property
    def regressions(self) -> list[SuiteComparison]:
        return [s for s in self.suites if s.verdict == "regression"]


def load_report(path: Path) -> Report:
    """A report from ``report.json`` (or the folder holding it), schema-checked."""
    if path.is_dir():
        path = path / "report.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise UsageError(f"{path} is not JSON; give an audit's report.json") from None
    validate_report(data)
    if data.get("schema_version") == "1.2":  # 1.3 only added fields with defaults
        data = {**data, "schema_version": "1.3"}
    return Report.model_validate(data)


def sample_values(folder: Path) -> dict[tuple[str, str], float]:
    """Each scored item's value, keyed by (suite, sample id), from ``samples.jsonl`` in
    ``folder`` (empty when the file is not there)."""
    path = folder / "samples.jsonl"
    if not path.is_file():
        return {}
    values: dict[tuple[str, str], float] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record: dict[str, Any] = json.loads(line)
            values[(str(record["suite"]), str(record["sample_id"]))] = float(record["value"])
    return values


def _outcomes(values: dict[tuple[str, str], float], suite: str) -> dict[str, bool]:
    return {sample: value >= 0.5 for (s, sample), value in values.items() if s == suite}


def _verdict(low: float, high: float, direction: str) -> Verdict:
    if direction == "neutral":
        return "no_clear_change"
    worse_if_up = direction == "lower_is_safer"
    if low > 0:
        return "regression" if worse_if_up else "improvement"
    if high < 0:
        return "improvement" if worse_if_up else "regression"
    return "no_clear_change"


def _item_rate(result: SuiteResult) -> bool:
    """Whether the primary metric is a rate of per-item outcomes (a count, or a rate
    corrected for its judge beside the judge's own count)."""
    primary = result.metrics[0]
    observed = f"{primary.name}_judge_observed"
    return primary.successes is not None or any(
        m.name == observed and m.successes is not None for m in result.metrics
    )


def _not_comparable(base: _Base, note: str = "") -> SuiteComparison:
    return SuiteComparison(
        **base.__dict__,
        difference=None,
        low=None,
        high=None,
        n=0,
        method="-",
        verdict="not_comparable",
        note=note,
    )


def _compare_suite(
    a: SuiteResult,
    b: SuiteResult,
    values_a: dict[tuple[str, str], float],
    values_b: dict[tuple[str, str], float],
    level: float,
) -> SuiteComparison:
    from scipy.stats import norm

    ma, mb = a.metrics[0], b.metrics[0]
    base = _Base(suite=a.id, metric=ma.name, unit=ma.unit, a=ma.value, b=mb.value)
    if ma.name != mb.name or ma.unit != mb.unit or ma.value is None or mb.value is None:
        return _not_comparable(base, "different metrics or no data")
    note = "" if a.version == b.version else f"suite versions differ ({a.version} vs {b.version})"
    first, second = _outcomes(values_a, a.id), _outcomes(values_b, b.id)
    shared = sorted(set(first) & set(second))
    if _item_rate(a) and _item_rate(b) and shared:
        cells = [0, 0, 0, 0]  # both, only b, only a, neither (difference is b - a)
        for item in shared:
            cells[(0 if second[item] else 2) + (0 if first[item] else 1)] += 1
        diff = paired_difference(cells[0], cells[1], cells[2], cells[3], level=level)
        return SuiteComparison(
            **base.__dict__,
            difference=diff.difference,
            low=diff.low,
            high=diff.high,
            n=diff.n,
            method=f"{diff.method} on {diff.n} shared items",
            verdict=_verdict(diff.low, diff.high, ma.direction),
            note=note,
        )
    if ma.ci is None or mb.ci is None:
        return _not_comparable(base, "; ".join(filter(None, ["no interval to compare", note])))
    z = float(norm.ppf(0.5 + level / 2))
    se = math.hypot(
        (ma.ci.high - ma.ci.low) / (2 * float(norm.ppf(0.5 + ma.ci.level / 2))),
        (mb.ci.high - mb.ci.low) / (2 * float(norm.ppf(0.5 + mb.ci.level / 2))),
    )
    difference = mb.value - ma.value
    low, high = difference - z * se, difference + z * se
    return SuiteComparison(
        **base.__dict__,
        difference=difference,
        low=low,
        high=high,
        n=min(ma.n, mb.n),
        method="independent estimates (normal approximation from the two intervals)",
        verdict=_verdict(low, high, ma.direction),
        note=note,
    )


def compare_reports(path_a: Path, path_b: Path, level: float = 0.95) -> Comparison:
    """Suite-by-suite differences ``B - A`` for the suites both audits ran."""
    report_a, report_b = load_report(path_a), load_report(path_b)
    folder_a = path_a if path_a.is_dir() else path_a.parent
    folder_b = path_b if path_b.is_dir() else path_b.parent
    values_a, values_b = sample_values(folder_a), sample_values(folder_b)  # read each once
    by_id = {s.id: s for s in report_b.suites}
    shared = [s for s in report_a.suites if s.id in by_id]
    if not shared:
        raise UsageError("the two reports have no suite in common")
    return Comparison(
        a=f"{report_a.target.model} ({report_a.run_id[:8]})",
        b=f"{report_b.target.model} ({report_b.run_id[:8]})",
        suites=[_compare_suite(s, by_id[s.id], values_a, values_b, level) for s in shared],
    )


__all__ = ["Comparison", "SuiteComparison", "compare_reports", "load_report", "sample_values"]
