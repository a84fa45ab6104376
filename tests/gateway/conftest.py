"""PostgreSQL for the gateway's tests: ``ASSAY_TEST_POSTGRES_URL`` names a server the
tests may create schemas in (``.ci/run`` starts a throwaway one with
``scripts/throwaway-postgres``); without it the PostgreSQL tests skip, saying so."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

POSTGRES_ENV = "ASSAY_TEST_POSTGRES_URL"

needs_postgres = pytest.mark.skipif(
    not os.environ.get(POSTGRES_ENV),
    reason=f"no PostgreSQL server: set {POSTGRES_ENV} to run the PostgreSQL tests",
)


@pytest.fixture
def schema_url() -> Iterator[str]:
    """The server's URL with a fresh schema first on the search path (dropped after)."""
    url = os.environ[POSTGRES_ENV]
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
