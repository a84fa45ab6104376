"""Rates measured through an imperfect judge, corrected for the judge's errors.

An automatic judge (a classifier deciding "refused", "harmful", ...) labels each reply.
If the true rate is ``p``, the judge's sensitivity ``se`` and specificity ``sp``, the
judge reports positives at the rate ``q = p·se + (1 - p)·(1 - sp)``. Inverting gives the
Rogan-Gladen (1978) estimate ``p = (q + sp - 1) / (se + sp - 1)``. Because ``se`` and
``sp`` are themselves estimated on a labelled validation set, their uncertainty must
widen the interval: we use the adjusted Wald interval of Lang & Reiczigel (2014).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from assay.stats._metric import Interval, Metric


@dataclass(frozen=True)
class CorrectedRate:
    """A rate corrected for judge error, with a confidence interval that carries the
    uncertainty of the observed rate and of the judge's sensitivity and specificity."""

    value: float
    low: float
    high: float
    observed: float
    positives: int
    n: int
    sensitivity: float
    specificity: float
    sensitivity_n: int
    specificity_n: int
    level: float = 0.95
    method: str = "lang-reiczigel"
    fits: bool = True
    """False when the judge's rate here contradicts its validated error rates (the
    whole interval falls outside [0, 1], e.g. far fewer positives than its false-positive
    rate alone would produce): the judge behaves differently than on its validation set,
    so the interval is widened to [0, 1] and no decision can be read from it."""
    centre: float = math.nan
    """Centre of the adjusted Wald interval before clipping (bias-shifted)."""
    half_width: float = math.nan
    """Half its width before clipping: ``z`` times the delta-method standard error."""


def _check_pair(name: str, counts: tuple[int, int]) -> tuple[int, int]:
    if len(counts) != 2:
        raise ValueError(f"{name} must be (correct, total), got {counts!r}")
    correct, total = int(counts[0]), int(counts[1])
    if total < 1 or not 0 <= correct <= total:
        raise ValueError(
            f"{name} must be (correct, total) with 0 <= correct <= total and total >= 1, "
            f"got {counts!r}"
        )
    return correct, total


def _clip(x: float) -> float:
    return min(1.0, max(0.0, x))


def corrected_rate(
    positives: int,
    n: int,
    sensitivity_counts: tuple[int, int],
    specificity_counts: tuple[int, int],
    level: float = 0.95,
) -> CorrectedRate:
    """The true rate behind ``positives`` judge-positive items out of ``n``.

    ``sensitivity_counts`` is ``(true positives, labelled positives)`` and
    ``specificity_counts`` is ``(true negatives, labelled negatives)`` from the judge's
    validation set. The point estimate is Rogan-Gladen, clipped to [0, 1]; the interval
    is the adjusted Wald interval of Lang & Reiczigel (2014, Prev. Vet. Med. 113:13-22):
    Agresti-Coull-style additions to all three proportions, the delta-method variance
    over the three independent binomials, and their bias-correcting shift. When the
    data contradict the judge's validation (see :attr:`CorrectedRate.fits`) the
    interval is [0, 1]. Raises
    ``ValueError`` when the judge is no better than chance (sensitivity + specificity
    <= 1), since the rate is then not identifiable.
    """
    from scipy.stats import norm

    if n < 1 or not 0 <= positives <= n:
        raise ValueError(f"need 0 <= positives <= n and n >= 1, got {positives} of {n}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    k_se, n_se = _check_pair("sensitivity_counts", sensitivity_counts)
    k_sp, n_sp = _check_pair("specificity_counts", specificity_counts)
    observed, se, sp = positives / n, k_se / n_se, k_sp / n_sp
    if se + sp <= 1:
        raise ValueError(
            f"the judge is no better than chance (sensitivity {se:.3f} + specificity "
            f"{sp:.3f} <= 1): its labels carry no information about the true rate"
        )
    value = _clip((observed + sp - 1) / (se + sp - 1))

    z = float(norm.ppf(0.5 + level / 2))
    # Adjusted proportions: +z²/2 of z² for the rate, +1 of 2 for sensitivity/specificity.
    n_q, n_se2, n_sp2 = n + z * z, n_se + 2, n_sp + 2
    q2 = (positives + z * z / 2) / n_q
    se2 = (k_se + 1) / n_se2
    sp2 = (k_sp + 1) / n_sp2
    youden = se2 + sp2 - 1
    if youden <= 0:
        raise ValueError(
            "the validation set is too small to tell the judge from chance "
            f"(adjusted sensitivity {se2:.3f} + specificity {sp2:.3f} <= 1)"
        )
    p2 = (q2 + sp2 - 1) / youden
    var_se = se2 * (1 - se2) / n_se2
    var_sp = sp2 * (1 - sp2) / n_sp2
    std = math.sqrt(q2 * (1 - q2) / n_q + p2 * p2 * var_se + (1 - p2) * (1 - p2) * var_sp) / youden
    shift = 2 * z * z * (p2 * var_se - (1 - p2) * var_sp)
    centre = p2 + shift
    low, high = centre - z * std, centre + z * std
    fits = high >= 0 and low <= 1
    return CorrectedRate(
        value=value,
        low=_clip(low) if fits else 0.0,
        high=_clip(high) if fits else 1.0,
        observed=observed,
        positives=positives,
        n=n,
        sensitivity=se,
        specificity=sp,
        sensitivity_n=n_se,
        specificity_n=n_sp,
        level=level,
        fits=fits,
        centre=centre,
        half_width=z * std,
    )


def metric_from_corrected(
    name: str,
    rate: CorrectedRate,
    *,
    direction: Literal["higher_is_safer", "lower_is_safer", "neutral"] = "neutral",
    description: str = "",
) -> Metric:
    """A report metric for a judge-corrected rate (``successes`` is left empty: the
    corrected value is not a count)."""
    note = (
        ("" if rate.fits else "judge inconsistent with its validation set, interval void; ")
        + f"corrected for judge error (sensitivity {rate.sensitivity:.3f} on "
        f"{rate.sensitivity_n}, specificity {rate.specificity:.3f} on {rate.specificity_n}; "
        f"judge-observed rate {rate.observed:.3f})"
    )
    return Metric(
        name=name,
        value=rate.value,
        ci=Interval(low=rate.low, high=rate.high, level=rate.level, method=rate.method),
        n=rate.n,
        successes=None,
        direction=direction,
        description=f"{description}; {note}" if description else note,
    )
