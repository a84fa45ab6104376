"""Metrics as they appear in reports: a point estimate, its interval, its n."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.stats._intervals import Proportion


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


def metric_from_proportion(
    name: str,
    proportion: Proportion,
    *,
    direction: Literal["higher_is_safer", "lower_is_safer", "neutral"] = "neutral",
    description: str = "",
) -> Metric:
    """A rate metric with its interval."""
    return Metric(
        name=name,
        value=proportion.value if proportion.n else None,
        ci=Interval(
            low=proportion.low,
            high=proportion.high,
            level=proportion.level,
            method=proportion.method,
        )
        if proportion.n
        else None,
        n=proportion.n,
        successes=proportion.successes,
        direction=direction,
        description=description,
    )


def format_value(value: float | None, unit: str = "proportion", digits: int = 1) -> str:
    """A value as people read it: proportions as percentages, logits signed."""
    if value is None:
        return "n/a"
    if unit == "proportion":
        return f"{100 * value:.{digits}f}%"
    if unit in ("logit", "score", "log ratio"):
        return f"{value:+.2f}"
    return f"{value:.3g}"
