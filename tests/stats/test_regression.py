"""Cluster-robust least squares and Firth's logistic regression, against independent
computations."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.optimize import minimize

from assay.stats import average_marginal_effect, firth_logistic, ols_cluster_robust


def test_cluster_robust_errors_match_statsmodels() -> None:
    rng = np.random.default_rng(5)
    n, groups = 360, rng.integers(0, 24, 360)
    x = np.column_stack([np.ones(n), rng.integers(0, 2, n), rng.normal(size=n)])
    y = x @ [0.2, 0.8, -0.4] + rng.normal(size=n) + rng.normal(size=24)[groups]
    ours = ols_cluster_robust(y, x, list(groups), ["const", "group", "age"])
    reference = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    assert ours.coefficients == pytest.approx(reference.params, abs=1e-10)
    assert ours.covariance == pytest.approx(reference.cov_params(), abs=1e-12)
    assert ours.df == 23


def test_firth_matches_the_closed_form_for_a_two_by_two_table() -> None:
    # one binary covariate: Firth's estimate is the log odds ratio with 1/2 added to
    # every cell, even with a zero cell (Heinze & Schemper 2002)
    a, b, c, d = 7, 0, 3, 9  # successes/failures with x = 1, then with x = 0
    y = [1] * a + [0] * b + [1] * c + [0] * d
    x = np.column_stack([np.ones(len(y)), [1] * (a + b) + [0] * (c + d)])
    fit = firth_logistic(y, x, ["const", "x"])
    expected = np.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))
    assert fit.converged and fit.coefficients[1] == pytest.approx(expected, abs=1e-8)


def test_firth_maximises_the_penalised_likelihood() -> None:
    rng = np.random.default_rng(2)
    x = np.column_stack([np.ones(80), rng.integers(0, 2, 80), rng.normal(size=80)])
    y = (x[:, 1] == 1).astype(float)  # completely separated by the second column
    fit = firth_logistic(y, x, ["const", "g", "z"])

    def penalised(beta: np.ndarray) -> float:
        eta = x @ beta
        p = 1 / (1 + np.exp(-eta))
        information = x.T @ (x * (p * (1 - p))[:, None])
        return -(np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * np.linalg.slogdet(information)[1])

    direct = minimize(
        penalised,
        np.zeros(3),
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000},
    )
    assert np.all(np.isfinite(fit.coefficients))
    assert fit.coefficients == pytest.approx(direct.x, abs=1e-3)
    effect, se = average_marginal_effect(fit, x, 1)
    assert 0.9 < effect < 1 and 0 < se < 0.1


@pytest.mark.slow
def test_cluster_robust_intervals_cover_an_effect_that_varies_by_scenario() -> None:
    """Issue 11.4: with the group effect varying across 36 scenarios (SD 0.5 logits), a
    random-intercept model's intervals covered the average effect only 71-92% of the
    time; scenario fixed effects with cluster-robust errors keep close to 95%."""
    rng = np.random.default_rng(13)
    scenarios, per = 36, 10
    covered = 0
    reps = 300
    for _ in range(reps):
        slopes = 0.4 + rng.normal(0, 0.5, scenarios)
        rows = []
        for s in range(scenarios):
            base = rng.normal(0, 1)
            for i in range(per):
                g = i % 2
                rows.append((s, g, base + slopes[s] * g + rng.normal(0, 0.3)))
        sid = np.array([r[0] for r in rows])
        g = np.array([r[1] for r in rows], dtype=float)
        y = np.array([r[2] for r in rows])
        dummies = (sid[:, None] == np.arange(1, scenarios)[None, :]).astype(float)
        x = np.column_stack([np.ones(len(rows)), g, dummies])
        fit = ols_cluster_robust(
            y, x, list(sid), ["const", "g"] + [f"s{k}" for k in range(1, scenarios)]
        )
        estimate, se = fit.coefficient("g")
        half = 2.03 * se  # t(35) quantile
        covered += abs(estimate - 0.4) <= half  # the average effect over scenarios
    assert covered / reps >= 0.92
