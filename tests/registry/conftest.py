"""Registry fixtures: every test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``$ASSAY_TEST_POSTGRES_URL`` (``.ci/run`` starts a throwaway
cluster and sets it) or, when unset, from a cluster this session starts itself with
``scripts/throwaway-postgres``. The tests are skipped only when PostgreSQL is not
installed at all; installed but failing to start is an error, never a skip.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.registry import ManualClock, OrgKind, RegistryConfig, Role, build_state, create_app
from assay.registry._app import RegistryState
from assay.registry._auth import add_user, create_org, issue_token

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_ENV = "ASSAY_TEST_POSTGRES_URL"


def _throwaway() -> ModuleType:
    from importlib.machinery import SourceFileLoader

    loader = SourceFileLoader("throwaway_postgres", str(ROOT / "scripts" / "throwaway-postgres"))
    spec = importlib.util.spec_from_loader("throwaway_postgres", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        yield url
        return
    pg = _throwaway()
    if pg.binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed, and CI must run the PostgreSQL tests")
        pytest.skip("PostgreSQL is not installed here (initdb/pg_ctl not found)")
    folder = Path(tempfile.mkdtemp(prefix="assay-pg-"))
    try:
        yield pg.start(folder)
    finally:
        pg.stop(folder)


def fresh_postgres_database(server_url: str) -> tuple[str, str]:
    """Create an empty database; returns (its URL, its name)."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(
        server_url.replace("postgresql+psycopg", "postgresql"), autocommit=True
    ) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name, name


def drop_postgres_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(
        server_url.replace("postgresql+psycopg", "postgresql"), autocommit=True
    ) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh registry database URL, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite'}"
        return
    server = request.getfixturevalue("postgres_server")
    url, name = fresh_postgres_database(server)
    try:
        yield url
    finally:
        drop_postgres_database(server, name)


@dataclass
class Party:
    org: str
    kind: OrgKind
    token: str  # admin user's token with every scope
    member_token: str  # a member's token (read, submit)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    """A registry with a developer, two testers, an authority, and their tokens."""

    state: RegistryState
    client: TestClient
    clock: ManualClock
    parties: dict[str, Party]
    revoked: str
    expired: str

    def as_(self, who: str) -> dict[str, str]:
        """Headers for a role name used by the tests."""
        if who == "public":
            return {}
        if who == "revoked":
            return {"Authorization": f"Bearer {self.revoked}"}
        if who == "expired":
            return {"Authorization": f"Bearer {self.expired}"}
        return self.parties[who].headers

    def call(self, who: str, method: str, path: str, body: Any = None) -> Any:
        kwargs: dict[str, Any] = {"headers": self.as_(who)}
        if body is not None:
            kwargs["json"] = body
        return self.client.request(method, path, **kwargs)

    def ok(self, who: str, method: str, path: str, body: Any = None) -> Any:
        response = self.call(who, method, path, body)
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json()


ROLES = {
    "developer": ("acme", OrgKind.DEVELOPER),
    "tester": ("lab", OrgKind.TESTER),
    "other_tester": ("lab2", OrgKind.TESTER),
    "authority": ("aisi", OrgKind.AUTHORITY),
}


def build_world(db_url: str, tmp_path: Path) -> World:
    clock = ManualClock()
    state = build_state(RegistryConfig(database_url=db_url, clock=clock))
    parties: dict[str, Party] = {}
    with state.sessions() as session:
        now = clock.now()
        for who, (slug, kind) in ROLES.items():
            create_org(session, slug, kind=kind, name=None, jurisdiction="EU", now=now)
            admin = add_user(session, slug, f"admin@{slug}", role=Role.ADMIN, now=now)
            member = add_user(session, slug, f"member@{slug}", role=Role.MEMBER, now=now)
            full = issue_token(
                session,
                admin,
                scopes=["read", "submit", "admin"],
                expires_in=None,
                label=None,
                now=now,
            )
            some = issue_token(
                session, member, scopes=["read", "submit"], expires_in=None, label=None, now=now
            )
            parties[who] = Party(slug, kind, full.secret, some.secret)
        dev_admin = add_user(session, "acme", "revoked@acme", role=Role.ADMIN, now=now)
        revoked = issue_token(
            session,
            dev_admin,
            scopes=["read", "submit", "admin"],
            expires_in=None,
            label=None,
            now=now,
        )
        expired = issue_token(
            session,
            dev_admin,
            scopes=["read", "submit", "admin"],
            expires_in=timedelta(hours=1),
            label=None,
            now=now,
        )
        session.commit()
    client = TestClient(create_app(state))
    world = World(state, client, clock, parties, revoked.secret, expired.secret)
    world.ok("developer", "POST", f"/v1/tokens/{revoked.id}/revoke")
    clock.advance(timedelta(hours=2))
    return world


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    w = build_world(db_url, tmp_path)
    try:
        yield w
    finally:
        w.client.close()
        w.state.log.close()
        w.state.engine.dispose()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the registry's tests (Debian's, driven through
    Playwright). Not session-wide: while Playwright's sync API is open, its event loop
    counts as running in the main thread, and every later ``asyncio.run`` (Inspect's
    evals, another Playwright) in the session would fail."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must have /usr/bin/chromium (.ci/run installs it)")
        pytest.skip("needs Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
