"""``assay registry ...``: serve a registry, bootstrap it, and use one as a client.

Bootstrapping (``org``, ``user``, ``token``) works on the database directly and is
for the registry's operator; everything else goes through the HTTP API with
``--registry URL`` (or ``$ASSAY_REGISTRY_URL``) and a token in ``$ASSAY_REGISTRY_TOKEN``.
``serve`` and ``worker`` are here; each group of sub-commands has its own module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from assay.cli._registry_catalog import keys_app, models_app, services_app
from assay.cli._registry_common import DB as _DB
from assay.cli._registry_engagements import cosign, engagements_app, show, submit
from assay.cli._registry_findings import findings_app, webhooks_app
from assay.cli._registry_operator import org_app, token_app, user_app

registry_app = typer.Typer(
    help="The registry: organisations, models, testing services, engagements, audits, "
    "a transparency log.",
    no_args_is_help=True,
)


# ---- serving and bootstrapping ---------------------------------------------------------


_CONFIG = typer.Option(
    None,
    "--config",
    help="Registry settings (TOML): embargo and grace days, authorities by jurisdiction "
    "and risk area, webhooks, public URL. See docs/registry.md.",
)


def _config(db: str | None, config_file: Path | None, **extra: Any) -> Any:
    from assay._util.db import database_url
    from assay.registry import RegistryConfig, load_settings

    config = RegistryConfig(**extra)
    if db:
        config.database_url = database_url(db)
    if config_file is not None:
        config.settings = load_settings(config_file)
    return config


@registry_app.command("serve")
def serve(
    db: str | None = _DB,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8100, "--port", min=0, max=65535, help="Port."),
    log_key: Path | None = typer.Option(
        None,
        "--log-key",
        help="The log's Ed25519 private key (PEM); default $ASSAY_HOME/keys/registry-log.key.",
    ),
    origin: str = typer.Option("assay.registry/log", "--origin", help="The log's name."),
    config_file: Path | None = _CONFIG,
    worker_interval: float = typer.Option(
        5.0,
        "--worker-interval",
        min=0,
        help="Seconds between publishing due findings and sending due notifications "
        "(0: no worker in this process; run `assay registry worker`).",
    ),
) -> None:
    """Serve the registry's API and web pages (put TLS in front of it; see
    docs/registry.md), publishing due findings and sending notifications meanwhile."""
    from assay.registry import serve_registry

    config = _config(db, config_file, log_origin=origin, log_key=log_key)
    typer.echo(f"registry on http://{host}:{port}/ (API under /v1)", err=True)
    serve_registry(config, host=host, port=port, worker_interval=worker_interval or None)


@registry_app.command("worker")
def worker(
    db: str | None = _DB,
    config_file: Path | None = _CONFIG,
    log_key: Path | None = typer.Option(None, "--log-key", help="As for serve."),
    origin: str = typer.Option("assay.registry/log", "--origin", help="As for serve."),
    once: bool = typer.Option(False, "--once", help="One round, then exit (for cron)."),
    interval: float = typer.Option(5.0, "--interval", min=0.1, help="Seconds between rounds."),
) -> None:
    """Publish the findings whose deadline passed and send due notifications, beside
    (or instead of) the worker of `serve`; any number may run at once."""
    import time

    from assay.registry import build_state, run_once

    reg = build_state(_config(db, config_file, log_origin=origin, log_key=log_key))
    while True:
        done = run_once(reg)
        if done.published or done.delivered or once:
            published = ", ".join(str(i) for i in done.published) or "none"
            typer.echo(f"published findings: {published}; notifications sent: {done.delivered}")
        if once:
            return
        time.sleep(interval)


registry_app.command("submit")(submit)
registry_app.command("cosign")(cosign)
registry_app.command("show")(show)
for _name, _sub in (
    ("org", org_app),
    ("user", user_app),
    ("token", token_app),
    ("keys", keys_app),
    ("models", models_app),
    ("services", services_app),
    ("engagements", engagements_app),
    ("findings", findings_app),
    ("webhooks", webhooks_app),
):
    registry_app.add_typer(_sub, name=_name)
