"""Holm and Benjamini-Hochberg against textbook examples and by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from assay.stats import benjamini_hochberg, holm

# Benjamini & Hochberg (1995), section 4.1: fifteen p-values from a clinical trial.
BH_1995 = [
    0.0001,
    0.0004,
    0.0019,
    0.0095,
    0.0201,
    0.0278,
    0.0298,
    0.0344,
    0.0459,
    0.3240,
    0.4262,
    0.5719,
    0.6528,
    0.7590,
    1.0000,
]


def test_benjamini_hochberg_1995_example() -> None:
    # BH rejects the four smallest at q = 0.05; Bonferroni-type control only three.
    bh = benjamini_hochberg(BH_1995, 0.05)
    assert bh.rejected == (True,) * 4 + (False,) * 11
    assert bh.rejections == 4 and bh.method == "benjamini-hochberg"
    fwer = holm(BH_1995, 0.05)
    assert fwer.rejected == (True,) * 3 + (False,) * 12


def test_holm_wikipedia_example() -> None:
    # Four hypotheses, alpha 0.05: 0.005 < 0.05/4, 0.01 < 0.05/3, 0.03 > 0.05/2: stop.
    result = holm([0.01, 0.04, 0.03, 0.005], 0.05)
    assert result.rejected == (True, False, False, True)
    # adjusted: max over the step-down sequence of (m - i + 1) * p_(i)
    assert result.adjusted == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert result.p_values == (0.01, 0.04, 0.03, 0.005)


def test_benjamini_hochberg_adjusted_values() -> None:
    # sorted: 0.005*4/1, 0.01*4/2, 0.03*4/3, 0.04*4/4 -> running minimum from the top
    result = benjamini_hochberg([0.01, 0.04, 0.03, 0.005], 0.05)
    assert result.adjusted == pytest.approx((0.02, 0.04, 0.04, 0.02))
    assert result.rejected == (True, True, True, True)
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005], 0.03).rejected == (
        True,
        False,
        False,
        True,
    )


def test_holm_is_never_less_strict_than_bh() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        p = rng.uniform(0, 0.2, size=int(rng.integers(1, 12)))
        h, b = holm(list(p)), benjamini_hochberg(list(p))
        assert all(a >= c - 1e-15 for a, c in zip(h.adjusted, b.adjusted, strict=True))
        assert h.rejections <= b.rejections
        assert all(a >= q for a, q in zip(h.adjusted, p, strict=True))


@pytest.mark.slow
def test_agrees_with_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(5)
    for size in (1, 2, 5, 13):
        p = np.concatenate([rng.uniform(0, 0.05, size), rng.uniform(size=size)])
        p[0] = p[1]  # a tie
        for ours, name in ((holm, "holm"), (benjamini_hochberg, "fdr_bh")):
            result = ours(list(p), 0.05)
            reject, adjusted, _, _ = multipletests(p, alpha=0.05, method=name)
            assert result.rejected == tuple(bool(r) for r in reject)
            assert result.adjusted == pytest.approx(tuple(adjusted), rel=1e-12)


def test_edge_cases_and_validation() -> None:
    assert holm([]).rejected == () and benjamini_hochberg([]).adjusted == ()
    single = holm([0.04])
    assert single.adjusted == (0.04,) and single.rejected == (True,)
    with pytest.raises(ValueError, match="p-values"):
        holm([0.1, 1.2])
    with pytest.raises(ValueError, match="p-values"):
        benjamini_hochberg([float("nan")])
    with pytest.raises(ValueError, match="alpha"):
        holm([0.1], alpha=0)


def test_error_rates_by_simulation() -> None:
    # 10 hypotheses, 7 true nulls (uniform p-values), 3 false nulls (small p-values).
    rng = np.random.default_rng(11)
    families, alpha = 3000, 0.1
    any_false_holm = 0
    fdp_bh = []
    for _ in range(families):
        nulls = rng.uniform(size=7)
        signals = rng.beta(0.1, 8, size=3)
        p = list(nulls) + list(signals)
        h, b = holm(p, alpha), benjamini_hochberg(p, alpha)
        any_false_holm += any(h.rejected[:7])
        fdp_bh.append(sum(b.rejected[:7]) / max(b.rejections, 1))
    tolerance = 3 * np.sqrt(alpha * (1 - alpha) / families)
    assert any_false_holm / families <= alpha + tolerance
    # BH controls FDR at (7/10) * alpha for independent tests
    assert np.mean(fdp_bh) <= 0.7 * alpha + tolerance
