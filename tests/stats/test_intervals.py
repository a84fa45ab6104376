"""Wilson intervals: known values, edge cases and coverage by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from assay.stats import wilson


def test_known_value() -> None:
    # 8/10 at 95%: (0.4902, 0.9433), a textbook example
    p = wilson(8, 10)
    assert p.value == 0.8
    assert p.low == pytest.approx(0.4902, abs=1e-4)
    assert p.high == pytest.approx(0.9433, abs=1e-4)


def test_edges_are_exact() -> None:
    zero, full = wilson(0, 50), wilson(50, 50)
    assert zero.low == 0.0 and 0 < zero.high < 0.1
    assert full.high == 1.0 and 0.9 < full.low < 1
    empty = wilson(0, 0)
    assert (empty.low, empty.high) == (0.0, 1.0) and np.isnan(empty.value)


def test_invalid_input() -> None:
    with pytest.raises(ValueError):
        wilson(5, 3)
    with pytest.raises(ValueError):
        wilson(1, 3, level=1.5)


@pytest.mark.parametrize(("p", "n"), [(0.05, 40), (0.3, 100), (0.5, 25), (0.9, 200)])
def test_coverage_is_near_nominal(p: float, n: int) -> None:
    rng = np.random.default_rng(12345)
    draws = rng.binomial(n, p, size=4000)
    covered = np.mean([wilson(int(k), n).low <= p <= wilson(int(k), n).high for k in draws])
    # Wilson is close to nominal; allow simulation error and its known small deviations
    assert 0.92 <= covered <= 0.99, covered
