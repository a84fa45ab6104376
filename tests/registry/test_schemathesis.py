"""Property-based fuzzing of every registry operation from its OpenAPI document:
whatever the input, the registry answers below 500, with a JSON error body when it
refuses. Run with an admin token of a developer and of a tester, on SQLite and
PostgreSQL (a server error on PostgreSQL is often an input the database rejects,
such as an integer out of range, that SQLite lets through)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

from assay.registry import ManualClock, RegistryConfig, build_state, create_app
from tests.registry._flows import engagement_in
from tests.registry.conftest import World, build_world

schema = schemathesis.openapi.from_dict(
    create_app(build_state(RegistryConfig(database_url="sqlite://", clock=ManualClock()))).openapi()
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One world per backend for every case (the module's ASSAY_HOME is its own)."""
    import os

    from tests.registry.conftest import drop_postgres_database, fresh_postgres_database

    home = tmp_path_factory.mktemp("fuzz-home")
    previous = os.environ.get("ASSAY_HOME")
    os.environ["ASSAY_HOME"] = str(home)
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'registry.sqlite'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url, name = fresh_postgres_database(server)
    world = build_world(url, Path(home))
    engagement_in(world, "testing")
    try:
        yield world
    finally:
        world.client.close()
        world.state.engine.dispose()
        if name is not None:
            drop_postgres_database(server, name)
        if previous is None:
            os.environ.pop("ASSAY_HOME", None)
        else:
            os.environ["ASSAY_HOME"] = previous


@pytest.mark.slow
@schema.parametrize()
@hypothesis.settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
)
def test_no_input_makes_the_registry_fail(case: schemathesis.Case, fuzzed: World) -> None:
    for who in ("developer", "tester"):
        response = case.call(app=fuzzed.client.app, headers=fuzzed.as_(who))
        case.validate_response(response, checks=[not_a_server_error])
        if response.status_code >= 400:
            assert "error" in response.json(), response.text
