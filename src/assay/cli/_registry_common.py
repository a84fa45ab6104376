"""What the ``assay registry`` sub-commands share: the ``--db`` and ``--registry``
options, a session on the registry's database, an API client, JSON output."""

from __future__ import annotations

import json
from typing import Any

import typer

DB = typer.Option(
    None, "--db", help="Database URL or SQLite path (default $ASSAY_HOME/registry/registry.sqlite)."
)
REGISTRY = typer.Option(
    None, "--registry", "-r", help="Registry URL (default $ASSAY_REGISTRY_URL)."
)


def sessions(db: str | None) -> Any:
    from assay._util.db import database_url
    from assay.registry._app import default_database_url
    from assay.registry._db import open_database, session_factory

    return session_factory(open_database(database_url(db) if db else default_database_url()))


def now() -> Any:
    from assay.registry import SystemClock

    return SystemClock().now()


def client(registry: str | None) -> Any:
    from assay.registry._client import RegistryClient

    return RegistryClient(registry)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
