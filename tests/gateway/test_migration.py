"""Gateway databases written before the Merkle request log are migrated (revision 0002):
their hash-chained entries become the first leaves, in order, readable and covered by
every checkpoint signed after."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from assay.attest import load_or_create_key
from assay.gateway import RequestLog, TokenStore
from assay.gateway._db import MIGRATIONS


def test_an_old_hash_chained_log_is_carried_into_the_merkle_log(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        for seq in range(1, 6):
            connection.execute(
                text(
                    "INSERT INTO request_log VALUES (:seq, '2026-01-01T00:00:00', 't', 'acme',"
                    " '/v1/completions', 'm', 'grey', 200, :seq, 1, 0, 'sha256:' || :c,"
                    " 'sha256:prev', 'sha256:hash')"
                ),
                {"seq": seq, "c": "0" * 64},
            )
    engine.dispose()

    store = TokenStore.at_path(path)  # opens and migrates to the newest revision
    log = RequestLog(store.engine, load_or_create_key("gateway"))
    entries = list(log.entries("acme"))
    assert [e.prompt_tokens for e in entries] == [1, 2, 3, 4, 5]
    assert all(e.status == 200 and e.commitment_over == "jcs-legacy" for e in entries)
    assert log.verify().ok and log.size == 5
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
    assert index == 5
    with store.engine.connect() as connection:
        tables = {r[0] for r in connection.execute(text("select name from sqlite_master"))}
    assert "request_log" not in tables and "tlog_leaves" in tables
