"""Rate limits in the database (GCRA by the database's clock), on SQLite and PostgreSQL:
a burst of up to the rate, then one request per interval, and a ``Retry-After`` that
says when the next one is admitted."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assay.gateway import RateLimited, Tier, TokenStore
from tests.gateway.conftest import POSTGRES_ENV


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TokenStore]:
    if request.param == "sqlite":
        yield TokenStore.at_path(tmp_path / "gateway.sqlite")
        return
    if not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} to run the PostgreSQL tests")
    url = request.getfixturevalue("schema_url")
    tokens = TokenStore(url)
    yield tokens
    tokens.engine.dispose()


def _admitted(store: TokenStore, token_id: str) -> bool:
    try:
        store.take_rate(store.get(token_id))
    except RateLimited:
        return False
    return True


def test_a_burst_up_to_the_rate_then_refusals_with_retry_after(store: TokenStore) -> None:
    info, _ = store.issue(tier=Tier.BLACK, engagement="e", rate_per_minute=5)
    assert [_admitted(store, info.id) for _ in range(7)] == [True] * 5 + [False] * 2
    with pytest.raises(RateLimited) as refused:
        store.take_rate(info)
    # the next slot opens one interval (60/5 = 12 s) after the burst began
    assert 10.0 <= refused.value.retry_after <= 12.0 and refused.value.limit == 5


def test_one_more_request_per_interval_after_the_burst(store: TokenStore) -> None:
    info, _ = store.issue(tier=Tier.BLACK, engagement="e", rate_per_minute=20)  # every 3 s
    started, admitted = time.monotonic(), 0
    while _admitted(store, info.id):
        admitted += 1
    # the burst, and one more for each interval the burst itself took
    assert 20 <= admitted <= 20 + (time.monotonic() - started) / 3.0 + 1
    time.sleep(3.2)
    assert [_admitted(store, info.id) for _ in range(2)] == [True, False]


def test_concurrent_takes_never_admit_more_than_the_rate(store: TokenStore) -> None:
    info, _ = store.issue(tier=Tier.BLACK, engagement="e", rate_per_minute=20)
    with ThreadPoolExecutor(8) as pool:
        admitted = list(pool.map(lambda _: _admitted(store, info.id), range(60)))
    assert sum(admitted) == 20


def test_tokens_without_a_rate_and_other_tokens_are_not_limited(store: TokenStore) -> None:
    limited, _ = store.issue(tier=Tier.BLACK, engagement="e", rate_per_minute=1)
    free, _ = store.issue(tier=Tier.BLACK, engagement="e")
    assert [_admitted(store, limited.id) for _ in range(2)] == [True, False]
    assert all(_admitted(store, free.id) for _ in range(50))
    other, _ = store.issue(tier=Tier.BLACK, engagement="e", rate_per_minute=1)
    assert _admitted(store, other.id)
