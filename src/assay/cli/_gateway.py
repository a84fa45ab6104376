"""``assay gateway serve``, ``assay gateway token ...`` and ``assay gateway log ...``."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from assay._util.console import table_console
from assay._util.errors import AssayError, UsageError
from assay.gateway import ALL_MODELS, GatewayConfig, Tier, TokenStore

gateway_app = typer.Typer(
    help="Serve a model to testers at an agreed access tier.", no_args_is_help=True
)
token_app = typer.Typer(help="Issue, list and revoke tester tokens.", no_args_is_help=True)
log_app = typer.Typer(help="Check and export the hash-chained request log.", no_args_is_help=True)
gateway_app.add_typer(token_app, name="token")
gateway_app.add_typer(log_app, name="log")

_DB_HELP = "Gateway database URL or SQLite path (default: [storage] of --config, else $ASSAY_HOME/gateway/gateway.sqlite)."
_CONFIG_HELP = "Gateway configuration file (TOML; see docs/gateway.md)."


def _database_url(db: str | None, config: Path | None) -> str:
    if db:
        return db if "://" in db else f"sqlite:///{Path(db).expanduser().resolve()}"
    return GatewayConfig.load(config).storage.database_url()


def _store(db: str | None, config: Path | None = None) -> TokenStore:
    return TokenStore(_database_url(db, config))


def parse_duration(text: str) -> timedelta | None:
    """``30d``, ``12h``, ``45m``, ``90s`` or ``never``."""
    if text.strip().lower() in ("never", "none", "0"):
        return None
    match = re.fullmatch(r"\s*(\d+)\s*([dhms])\s*", text.lower())
    if not match:
        raise UsageError(f"invalid duration {text!r}", hint="use e.g. 30d, 12h, 45m, 90s or never")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(**{{"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[unit]: amount})


@gateway_app.command("serve")
def serve(
    config: Path | None = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
    target: str | None = typer.Option(
        None,
        "--target",
        "-t",
        help="Local model to serve: builtin:NAME or hf:PATH_OR_ID (overrides [model]).",
    ),
    host: str | None = typer.Option(None, "--host", help="Interface to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", min=0, max=65535, help="Port (default 8000)."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    max_batch_size: int | None = typer.Option(
        None, "--max-batch-size", min=1, help="Requests per forward pass (1 turns batching off)."
    ),
    batch_wait_ms: float | None = typer.Option(
        None, "--batch-wait-ms", min=0.0, help="How long a batch waits to fill."
    ),
) -> None:
    """Serve a model behind OpenAI-compatible and white-box routes, tier-scoped tokens,
    quotas and a hash-chained request log."""
    from assay.gateway import bind_port, build_gateway, serve_forever
    from assay.gateway._config import ModelConfig

    settings = GatewayConfig.load(config)
    if target is not None:
        settings = settings.model_copy(
            update={"model": ModelConfig(target=target), "upstream": None}
        )
    server = settings.server.model_copy(
        update={k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    )
    batching = settings.batching.model_copy(
        update={
            k: v
            for k, v in {"max_batch_size": max_batch_size, "max_wait_ms": batch_wait_ms}.items()
            if v is not None
        }
    )
    storage = settings.storage.model_copy(
        update={"database": _database_url(db, config)} if db else {}
    )
    settings = settings.model_copy(
        update={"server": server, "batching": batching, "storage": storage}
    )
    sock = bind_port(server.host, server.port)  # a port in use fails here, before loading
    gateway = build_gateway(settings)
    console = Console(stderr=True)
    scheme = "https" if server.tls_certfile else "http"
    port_bound = sock.getsockname()[1]
    console.print(f"serving {gateway.description} on {scheme}://{server.host}:{port_bound}/v1")
    if not gateway.tokens.list():
        console.print(
            "[yellow]no tokens yet:[/] issue one with `assay gateway token issue --engagement NAME --tier grey`"
        )
    serve_forever(
        gateway.app,
        host=server.host,
        port=server.port,
        log_level=server.log_level,
        tls_certfile=server.tls_certfile,
        tls_keyfile=server.tls_keyfile,
        sock=sock,
    )


@token_app.command("issue")
def issue(
    engagement: str = typer.Option(
        ..., "--engagement", "-e", help="The engagement (testing agreement) this token belongs to."
    ),
    tier: Tier = typer.Option(
        Tier.BLACK, "--tier", case_sensitive=False, help="Access tier granted."
    ),
    model: list[str] = typer.Option(
        [], "--model", "-m", help="Models the token may use (repeatable; default all)."
    ),
    expires_in: str = typer.Option(
        "30d", "--expires-in", help="Lifetime: 30d, 12h, 45m, 90s or never."
    ),
    max_requests: int | None = typer.Option(None, "--max-requests", min=1, help="Quota: requests."),
    max_tokens: int | None = typer.Option(
        None, "--max-tokens", min=1, help="Quota: prompt plus generated tokens."
    ),
    max_floats: int | None = typer.Option(
        None, "--max-floats", min=1, help="Quota: floats returned (logprobs, activations, ...)."
    ),
    rate: int | None = typer.Option(None, "--rate", min=1, help="Rate limit: requests per minute."),
    label: str | None = typer.Option(None, "--label", help="A note for the token list."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    config: Path | None = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
) -> None:
    """Issue a token; the secret is printed once, alone on the last line of stdout."""
    store = _store(db, config)
    info, secret = store.issue(
        tier=tier,
        engagement=engagement,
        models=model or [ALL_MODELS],
        expires_in=parse_duration(expires_in),
        label=label,
        max_requests=max_requests,
        max_tokens=max_tokens,
        max_floats=max_floats,
        rate_per_minute=rate,
    )
    expiry = info.expires_at.isoformat(timespec="seconds") if info.expires_at else "never"
    quotas = ", ".join(
        f"{name}={value}"
        for name, value in (
            ("max_requests", max_requests),
            ("max_tokens", max_tokens),
            ("max_floats", max_floats),
            ("rate", rate),
        )
        if value is not None
    )
    typer.echo(
        f"issued token {info.id}: tier={info.tier.value} engagement={info.engagement} "
        f"models={','.join(info.models)} expires={expiry}" + (f" {quotas}" if quotas else "")
    )
    typer.echo("the secret below is shown once; only its hash is stored")
    typer.echo(secret)


@token_app.command("list")
def list_tokens(
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    config: Path | None = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
) -> None:
    """List tokens (ids, grants and usage; never secrets)."""
    table = Table(
        "id",
        "tier",
        "engagement",
        "models",
        "status",
        "expires",
        "requests",
        "tokens",
        "floats",
        "label",
    )
    for t in _store(db, config).list():
        table.add_row(
            t.id,
            t.tier.value,
            t.engagement,
            ",".join(t.models),
            t.status(),
            t.expires_at.isoformat(timespec="seconds") if t.expires_at else "never",
            _used(t.used_requests, t.max_requests),
            _used(t.used_tokens, t.max_tokens),
            _used(t.used_floats, t.max_floats),
            t.label or "",
        )
    table_console().print(table)


def _used(used: int, limit: int | None) -> str:
    return f"{used}/{limit}" if limit is not None else str(used)


@token_app.command("revoke")
def revoke(
    token_id: str = typer.Argument(..., help="Token id (from `token list`)."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    config: Path | None = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
) -> None:
    """Revoke a token; the gateway refuses it from the next request on."""
    info = _store(db, config).revoke(token_id)
    typer.echo(f"revoked token {info.id} (engagement {info.engagement})")


@log_app.command("verify")
def log_verify(
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    config: Path | None = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
) -> None:
    """Walk the hash chain; exit 1 naming the first entry that was edited, deleted or moved."""
    from assay.gateway import RequestLog

    check = RequestLog(_store(db, config).engine).verify()
    if not check.ok:
        raise AssayError(f"request log broken at entry {check.first_bad_seq}: {check.problem}")
    typer.echo(f"request log intact: {check.entries} entries, head {check.head}")


@log_app.command("show")
def log_show(
    engagement: str | None = typer.Option(None, "--engagement", "-e", help="Only this engagement."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="Most recent N entries."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    config: Path | None = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
) -> None:
    """Show recent entries (commitments only: the log never holds request bodies)."""
    from assay.gateway import RequestLog

    entries = list(RequestLog(_store(db, config).engine).entries(engagement))[-limit:]
    table = Table(
        "seq",
        "at",
        "token",
        "engagement",
        "route",
        "model",
        "tier",
        "status",
        "in",
        "out",
        "floats",
    )
    for e in entries:
        table.add_row(
            str(e.seq),
            e.at[:19],
            e.token_id,
            e.engagement,
            e.route,
            e.model,
            e.tier,
            str(e.status),
            str(e.prompt_tokens),
            str(e.completion_tokens),
            str(e.floats),
        )
    table_console().print(table)


@log_app.command("export")
def log_export(
    engagement: str = typer.Option(..., "--engagement", "-e", help="The engagement to export."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here instead of stdout."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    config: Path | None = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
) -> None:
    """The engagement's entries (hashes and commitments), totals and the chain head,
    signed with the gateway key: what an audit report carries."""
    from assay.attest import load_or_create_key, sign_gateway_log
    from assay.gateway import RequestLog

    settings = GatewayConfig.load(config)
    export = RequestLog(_store(db, config).engine).export(engagement)
    if not export["chain"]["ok"]:
        raise AssayError("the request log is broken; run `assay gateway log verify` to see where")
    envelope = sign_gateway_log(export, load_or_create_key(settings.signing.key))
    text = json.dumps(envelope, indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(
            f"exported {export['totals']['requests']} entries of {engagement} (head {export['chain']['head']}) to {out}",
            err=True,
        )
