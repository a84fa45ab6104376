"""Regression estimators for group effects: closed-form, deterministic, robust.

* :func:`ols_cluster_robust`: least squares with cluster-robust (CR1) standard errors,
  Student's t with ``G - 1`` degrees of freedom for ``G`` clusters. Errors that differ
  by cluster in level *and in the effects themselves* (a group effect that varies by
  scenario) are accounted for, so the interval covers the average effect; a model
  with a random intercept only does not (Cameron & Miller 2015).
* :func:`firth_logistic`: logistic regression with Firth's (1993) bias-reducing
  penalty, ``l(b) + log|I(b)| / 2``. Its estimates stay finite when the outcomes are
  separated (a group that always or never gets a "yes"), where maximum likelihood
  diverges (Heinze & Schemper 2002).

Both are plain linear algebra (a fixed number of Newton steps with step-halving for
Firth), so the same data give the same result on every machine, up to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LinearFit:
    """Coefficients and their cluster-robust covariance."""

    names: tuple[str, ...]
    coefficients: FloatArray
    covariance: FloatArray
    residuals: FloatArray
    clusters: int
    df: int

    def coefficient(self, name: str) -> tuple[float, float]:
        """Estimate and standard error of one coefficient."""
        i = self.names.index(name)
        return float(self.coefficients[i]), float(math.sqrt(max(self.covariance[i, i], 0.0)))


def _check(y: FloatArray, x: FloatArray) -> None:
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"need y of shape (n,) and X of shape (n, k), got {y.shape}, {x.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("the data contain NaN or infinite values")


def ols_cluster_robust(
    y: Sequence[float] | FloatArray,
    x: Sequence[Sequence[float]] | FloatArray,
    clusters: Sequence[object],
    names: Sequence[str],
) -> LinearFit:
    """Least squares of ``y`` on the columns of ``x`` with CR1 cluster-robust covariance
    (the small-sample factor ``G/(G-1) * (N-1)/(N-K)``, as Stata and statsmodels use).
    Raises ``ValueError`` when the design is rank-deficient or has fewer than two
    clusters."""
    y_arr = np.asarray(y, dtype=np.float64)
    x_arr = np.asarray(x, dtype=np.float64)
    _check(y_arr, x_arr)
    n, k = x_arr.shape
    labels = list(clusters)
    if len(labels) != n:
        raise ValueError("one cluster label per observation")
    groups: dict[object, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    g = len(groups)
    if g < 2:
        raise ValueError("cluster-robust errors need at least two clusters")
    if np.linalg.matrix_rank(x_arr) < k or n <= k:
        raise ValueError("the design matrix is rank-deficient")
    q, r = np.linalg.qr(x_arr)
    beta = np.linalg.solve(r, q.T @ y_arr)
    residuals = y_arr - x_arr @ beta
    r_inv = np.linalg.inv(r)
    bread = r_inv @ r_inv.T  # (X'X)^-1
    meat = np.zeros((k, k))
    for rows in groups.values():
        score = x_arr[rows].T @ residuals[rows]
        meat += np.outer(score, score)
    factor = g / (g - 1) * (n - 1) / (n - k)
    covariance = factor * bread @ meat @ bread
    return LinearFit(
        names=tuple(names),
        coefficients=beta,
        covariance=covariance,
        residuals=residuals,
        clusters=g,
        df=g - 1,
    )


@dataclass(frozen=True)
class LogisticFit:
    """Penalised maximum-likelihood logistic regression."""

    names: tuple[str, ...]
    coefficients: FloatArray
    covariance: FloatArray
    """The inverse Fisher information at the estimate."""
    converged: bool
    iterations: int
    penalised_log_likelihood: float


def _logistic(eta: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (1 + np.tanh(0.5 * eta)), dtype=np.float64)


def _penalised(
    x: FloatArray, y: FloatArray, beta: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    eta = x @ beta
    p = _logistic(eta)
    # log-likelihood written to stay finite for large |eta|
    log_likelihood = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    w = p * (1 - p)
    information = x.T @ (x * w[:, None])
    sign, log_det = np.linalg.slogdet(information)
    if sign <= 0:
        return -math.inf, p, information
    return log_likelihood + 0.5 * float(log_det), p, information


def firth_logistic(
    y: Sequence[float] | FloatArray,
    x: Sequence[Sequence[float]] | FloatArray,
    names: Sequence[str],
    *,
    max_iterations: int = 200,
    tolerance: float = 1e-10,
) -> LogisticFit:
    """Firth-penalised logistic regression of 0/1 ``y`` on ``x`` (include an intercept
    column), by Newton-Raphson on the modified score ``X'(y - p + h (1/2 - p))`` with
    step-halving on the penalised log-likelihood (Heinze & Schemper 2002)."""
    y_arr = np.asarray(y, dtype=np.float64)
    x_arr = np.asarray(x, dtype=np.float64)
    _check(y_arr, x_arr)
    if not np.all((y_arr == 0) | (y_arr == 1)):
        raise ValueError("logistic regression needs 0/1 outcomes")
    k = x_arr.shape[1]
    if np.linalg.matrix_rank(x_arr) < k:
        raise ValueError("the design matrix is rank-deficient")
    beta = np.zeros(k)
    current, p, information = _penalised(x_arr, y_arr, beta)
    converged = False
    iteration = 0
    for iteration in range(1, max_iterations + 1):  # noqa: B007 (reported below)
        w = p * (1 - p)
        covariance = np.linalg.inv(information)
        root_w = np.sqrt(w)
        xw = x_arr * root_w[:, None]
        hat = np.einsum("ij,jk,ik->i", xw, covariance, xw)
        score = x_arr.T @ (y_arr - p + hat * (0.5 - p))
        step = covariance @ score
        scale = 1.0
        while True:
            candidate = beta + scale * step
            value, p_new, information_new = _penalised(x_arr, y_arr, candidate)
            if value >= current - 1e-12 or scale < 1e-8:
                break
            scale /= 2
        beta, current, p, information = candidate, value, p_new, information_new
        if float(np.max(np.abs(scale * step))) < tolerance:
            converged = True
            break
    return LogisticFit(
        names=tuple(names),
        coefficients=beta,
        covariance=np.asarray(np.linalg.inv(information), dtype=np.float64),
        converged=converged,
        iterations=iteration,
        penalised_log_likelihood=current,
    )


def average_marginal_effect(
    fit: LogisticFit, x: FloatArray, column: int, baseline_columns: Sequence[int] = ()
) -> tuple[float, float]:
    """The average change in the predicted probability when indicator ``column`` is
    switched on (and ``baseline_columns``, the other levels of its factor, switched
    off) for every row of ``x``, against the same rows with all of them off; with its
    delta-method standard error."""
    off = x.copy()
    off[:, [column, *baseline_columns]] = 0.0
    on = off.copy()
    on[:, column] = 1.0
    p_on = _logistic(on @ fit.coefficients)
    p_off = _logistic(off @ fit.coefficients)
    effect = float(np.mean(p_on - p_off))
    gradient = (on * (p_on * (1 - p_on))[:, None] - off * (p_off * (1 - p_off))[:, None]).mean(
        axis=0
    )
    variance = float(gradient @ fit.covariance @ gradient)
    return effect, math.sqrt(max(variance, 0.0))


__all__ = [
    "LinearFit",
    "LogisticFit",
    "average_marginal_effect",
    "firth_logistic",
    "ols_cluster_robust",
]
