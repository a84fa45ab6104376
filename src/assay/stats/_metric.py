"""Metrics as they appear in reports: a point estimate, its interval, its n; and the
contract of the estimate a metric may carry (its interval family and the tests it
inverts; the families themselves are in :mod:`._estimates`)."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

Direction = Literal["higher_is_safer", "lower_is_safer", "neutral"]


@runtime_checkable
class Estimate(Protocol):
    """A point estimate with a family of nested intervals and the tests they invert."""

    @property
    def value(self) -> float | None: ...

    @property
    def method(self) -> str: ...

    def interval(self, alpha: float) -> tuple[float, float]:
        """The two-sided ``1 - alpha`` interval."""
        ...

    def p_above(self, threshold: float) -> float:
        """Smallest ``alpha`` whose interval lies wholly above ``threshold``."""
        ...

    def p_below(self, threshold: float) -> float:
        """Smallest ``alpha`` whose interval lies wholly below ``threshold``."""
        ...


def p_value(estimate: Estimate, threshold: float) -> float:
    """The two-sided p-value of "the estimand equals ``threshold``": the smallest
    ``alpha`` at which the estimate's interval excludes it."""
    return min(estimate.p_above(threshold), estimate.p_below(threshold))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class Interval(_Strict):
    low: float
    high: float
    level: float = Field(description="confidence level, e.g. 0.95")
    method: str = Field(description="how the interval was computed, e.g. wilson")


class Metric(_Strict):
    name: str
    unit: str = Field(
        default="proportion", description="proportion (0-1), logit, or another unit named here"
    )
    value: float | None = Field(description="point estimate; null when n is 0")
    ci: Interval | None
    n: int = Field(ge=0, description="number of samples behind the estimate")
    successes: int | None = Field(default=None, ge=0)
    direction: Literal["higher_is_safer", "lower_is_safer", "neutral"] = "neutral"
    description: str = ""
    _estimate: Any = PrivateAttr(default=None)

    @property
    def estimate(self) -> Estimate | None:
        """The estimate behind the interval, with the tests it inverts (not serialised:
        a metric read back from a report has none)."""
        estimate: Estimate | None = self._estimate
        return estimate

    def p_value(self, threshold: float) -> float | None:
        """The p-value of "the metric equals ``threshold``" that matches its interval: at
        most 0.05 exactly when the 95% interval excludes the threshold. ``None`` when
        the metric carries no estimate."""
        return None if self._estimate is None else p_value(self._estimate, threshold)


def metric_from_estimate(
    name: str,
    estimate: Estimate,
    *,
    n: int,
    alpha: float = 0.05,
    unit: str = "proportion",
    successes: int | None = None,
    direction: Direction = "neutral",
    description: str = "",
) -> Metric:
    """A metric whose interval and tests come from ``estimate`` (``1 - alpha`` interval)."""
    value = estimate.value
    ci = None
    if value is not None and n > 0:
        low, high = estimate.interval(alpha)
        ci = Interval(low=low, high=high, level=1 - alpha, method=estimate.method)
    metric = Metric(
        name=name,
        unit=unit,
        value=value if n > 0 else None,
        ci=ci,
        n=n,
        successes=successes,
        direction=direction,
        description=description,
    )
    metric._estimate = estimate
    return metric


def format_value(value: float | None, unit: str = "proportion", digits: int = 1) -> str:
    """A value as people read it: proportions as percentages, logits signed."""
    if value is None:
        return "n/a"
    if unit == "proportion":
        return f"{100 * value:.{digits}f}%"
    if unit in ("logit", "score", "log ratio"):
        return f"{value:+.2f}"
    return f"{value:.3g}"
