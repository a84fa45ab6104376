"""PostgreSQL for the gateway's tests: ``ASSAY_TEST_POSTGRES_URL`` names a server the
tests may create schemas in (``.ci/run`` starts a throwaway one with
``scripts/throwaway-postgres``); without it the PostgreSQL tests skip, saying so."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from assay.testing import postgres_schema

POSTGRES_ENV = "ASSAY_TEST_POSTGRES_URL"

needs_postgres = pytest.mark.skipif(
    not os.environ.get(POSTGRES_ENV),
    reason=f"no PostgreSQL server: set {POSTGRES_ENV} to run the PostgreSQL tests",
)


@pytest.fixture
def schema_url() -> Iterator[str]:
    """The server's URL with a fresh schema first on the search path (dropped after)."""
    with postgres_schema(os.environ[POSTGRES_ENV]) as url:
        yield url
