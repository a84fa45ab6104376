"""The Merkle logs on PostgreSQL: the database refuses to change or remove entries, as
SQLite's triggers do, for a log alone and for the gateway's request log after its
migrations (also on a database migrated before PostgreSQL had the triggers).

Needs a PostgreSQL server: ``ASSAY_TEST_POSTGRES_URL`` (a SQLAlchemy URL of a database
the tests may create schemas in, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``).
Each test works in a schema of its own and drops it afterwards.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from assay.attest import TransparencyLog, create_tables, load_or_create_key
from assay.gateway import RequestLog, TokenStore
from assay.gateway._db import MIGRATIONS
from tests.gateway.conftest import needs_postgres

LOG_TABLES = ("tlog_leaves", "tlog_nodes")

pytestmark = needs_postgres


def _refused(engine: Engine, statement: str) -> bool:
    """Whether the database refuses ``statement`` (row triggers fire only when the
    tables have rows: callers log entries first)."""
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    except DBAPIError as exc:
        return "append-only" in str(exc)
    return False


def _assert_append_only(engine: Engine) -> None:
    for table in LOG_TABLES:
        assert _refused(engine, f"UPDATE {table} SET idx = idx + 1000")
        assert _refused(engine, f"DELETE FROM {table}")
        assert _refused(engine, f"TRUNCATE {table}")


def test_postgres_refuses_to_change_a_transparency_log(schema_url: str) -> None:
    engine = create_engine(schema_url)
    create_tables(engine)
    create_tables(engine)  # idempotent: services' migrations may run it again
    log = TransparencyLog(engine, name="t")
    log.append_many([f"entry {i}".encode() for i in range(5)])
    root = log.root()
    _assert_append_only(engine)
    assert log.size == 5 and log.root() == root and log.verify_integrity() == 5
    engine.dispose()


def test_postgres_request_log_is_append_only_after_the_gateway_migrations(
    schema_url: str,
) -> None:
    store = TokenStore(schema_url)
    log = RequestLog(store.engine, load_or_create_key("gateway"))
    index = log.begin(
        token_id="t",
        engagement="acme",
        tier="grey",
        method="GET",
        route="/v1/models",
        model="",
        commitment=None,
        commitment_over="jcs",
    )
    log.complete(index, engagement="acme", status=200)
    _assert_append_only(store.engine)
    assert log.verify().ok and log.size == 2
    store.engine.dispose()


def test_postgres_databases_migrated_before_the_triggers_get_them(schema_url: str) -> None:
    """A gateway database migrated to revision 0002 on PostgreSQL when only SQLite had
    the triggers gets them from revision 0003."""
    engine = create_engine(schema_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        for table in LOG_TABLES:  # what 0002 left on PostgreSQL before this revision
            connection.execute(text(f"DROP TRIGGER {table}_no_change ON {table}"))
            connection.execute(text(f"DROP TRIGGER {table}_no_truncate ON {table}"))
    TransparencyLog(engine, name="gateway").append_many([b"a", b"b", b"c"])
    assert not _refused(engine, "UPDATE tlog_leaves SET tag = tag")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    _assert_append_only(engine)
    engine.dispose()
