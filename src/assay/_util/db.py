"""SQLAlchemy engines for every assay store: SQLite files by default, any SQLAlchemy URL
(PostgreSQL through ``postgresql+psycopg://``) in deployment.

Every store declares its tables with SQLAlchemy 2. A service's database (the gateway's,
the registry's), which a deployment may put on PostgreSQL and keep for years, is brought
up to date by that service's Alembic migrations when it opens (:func:`migrate`). A local
file that belongs to one artefact (an audit folder's run store, a stand-alone
transparency log file) creates its tables when it opens and says in its docstring why
it needs no migrations."""

from __future__ import annotations

import threading
import weakref
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from assay._util.errors import UsageError

# The PostgreSQL advisory lock (a 64-bit key) that serialises migrations of assay's
# databases: the bytes of "assay".
MIGRATION_LOCK = int.from_bytes(b"assay", "big")

_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def database_url(text: str) -> str:
    """A SQLAlchemy URL from ``--db``: a URL as given, or a path to a SQLite file."""
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def open_engine(url: str, *, synchronous: Literal["FULL", "NORMAL"] = "FULL") -> Engine:
    """An engine for ``url`` (``sqlite://`` is one shared in-memory database). SQLite
    runs in WAL mode; ``synchronous="FULL"`` makes every commit survive a power loss,
    ``"NORMAL"`` (faster) only a crash or kill of the process."""
    try:
        if url in ("sqlite://", "sqlite:///:memory:"):
            engine = create_engine(
                "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        elif url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise UsageError(
            f"cannot use database URL {_redacted(url)}: {exc}",
            hint="use a SQLite path or postgresql+psycopg://USER@HOST/DB",
        ) from None
    if engine.dialect.name == "sqlite":

        def pragmas(dbapi_connection: Any, _record: Any) -> None:
            _sqlite_pragmas(dbapi_connection, synchronous)

        event.listen(engine, "connect", pragmas)
    return engine


def migrate(engine: Engine, script_location: Path) -> None:
    """Run the Alembic migrations in ``script_location`` up to head.

    On PostgreSQL the migration transaction first takes an advisory lock, so processes
    that open a new database at once (replicas of a service starting together) migrate
    it one after the other: the later ones find it at head. SQLite serialises writers
    by itself."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def serialized(engine: Engine) -> AbstractContextManager[Any]:
    """A lock around database work when the database is one shared in-memory
    connection (which threads must not use at the same time); a no-op otherwise."""
    if engine.url.database in (None, "", ":memory:") and engine.dialect.name == "sqlite":
        return _LOCKS.setdefault(engine, threading.RLock())
    return nullcontext()


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def _sqlite_pragmas(dbapi_connection: Any, synchronous: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
