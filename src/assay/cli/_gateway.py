"""``assay gateway serve``, ``assay gateway token ...`` and ``assay gateway log ...``.

Longer than most modules: three small command groups (serve, token, log) over the
same options and output helpers.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from assay._util.console import table_console
from assay._util.errors import AssayError, UsageError
from assay.tiers import Tier

if TYPE_CHECKING:
    from assay.gateway import TokenStore

gateway_app = typer.Typer(
    help="Serve a model to testers at an agreed access tier.", no_args_is_help=True
)
token_app = typer.Typer(help="Issue, list and revoke tester tokens.", no_args_is_help=True)
log_app = typer.Typer(
    help="Check, show and export the request log (a Merkle log with signed checkpoints).",
    no_args_is_help=True,
)
gateway_app.add_typer(token_app, name="token")
gateway_app.add_typer(log_app, name="log")

_DB_HELP = "Gateway database URL or SQLite path (default: [storage] of --config, else $ASSAY_HOME/gateway/gateway.sqlite)."
_CONFIG_HELP = "Gateway configuration file (TOML; see docs/gateway.md)."


def _database_url(db: str | None, config: Path | None) -> str:
    if db:
        return db if "://" in db else f"sqlite:///{Path(db).expanduser().resolve()}"
    from assay.gateway import GatewayConfig

    return GatewayConfig.load(config).storage.database_url()


def _store(db: str | None, config: Path | None = None) -> TokenStore:
    from assay.gateway import TokenStore

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
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="Gateway processes on this port (each loads the model; they share the database).",
    ),
) -> None:
    """Serve a model behind OpenAI-compatible and white-box routes, tier-scoped tokens,
    quotas and a hash-chained request log."""
    from assay.gateway import GatewayConfig, bind_port, build_gateway, serve_forever
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
    if workers > 1 and settings.storage.database_url() in ("sqlite://", "sqlite:///:memory:"):
        raise UsageError(
            "--workers needs a database the workers can share",
            hint="give --db a SQLite file or a PostgreSQL URL",
        )
    gateway = build_gateway(settings)  # checks everything, migrates the database
    console = Console(stderr=True)
    scheme = "https" if server.tls_certfile else "http"
    port_bound = sock.getsockname()[1]
    console.print(f"serving {gateway.description} on {scheme}://{server.host}:{port_bound}/v1")
    if not gateway.tokens.list():
        console.print(
            "[yellow]no tokens yet:[/] issue one with `assay gateway token issue --engagement NAME --tier grey`"
        )
    app: Any = gateway.app
    if workers > 1:  # each worker builds its own gateway from the same settings
        import os

        from assay.gateway._build import SETTINGS_ENV

        os.environ[SETTINGS_ENV] = settings.model_dump_json()
        app = "assay.gateway._build:app_from_environment"
        del gateway  # the parent only supervises; its copy of the model can go
        console.print(f"{workers} worker processes share the database")
    serve_forever(
        app,
        host=server.host,
        port=server.port,
        log_level=server.log_level,
        tls_certfile=server.tls_certfile,
        tls_keyfile=server.tls_keyfile,
        trusted_proxies=server.trusted_proxies,
        sock=sock,
        workers=workers,
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
    """Issue a token; the secret is printed once, alone on the last line of stdout.

    Without --max-floats, grey and white tokens get the float quota of the configuration's
    [token_defaults] (see docs/threat-model.md for why); --max-floats N overrides it."""
    from assay.gateway import ALL_MODELS, GatewayConfig

    store = _store(db, config)
    if max_floats is None:
        defaults = GatewayConfig.load(config).token_defaults
        max_floats = {
            Tier.GREY: defaults.grey_max_floats,
            Tier.WHITE: defaults.white_max_floats,
        }.get(tier)
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


def _limit(text: str | None, name: str) -> tuple[bool, int | None]:
    """``None``: unchanged; ``"none"``: remove the limit; else a positive integer."""
    if text is None:
        return False, None
    if text.strip().lower() in ("none", "unlimited"):
        return True, None
    if not text.strip().isdigit() or int(text) < 1:
        raise UsageError(f"{name} must be a positive integer or 'none', got {text!r}")
    return True, int(text)


@token_app.command("update")
def update(
    token_id: str = typer.Argument(..., help="Token id (from `token list`)."),
    max_requests: str | None = typer.Option(None, "--max-requests", help="N, or none."),
    max_tokens: str | None = typer.Option(None, "--max-tokens", help="N, or none."),
    max_floats: str | None = typer.Option(None, "--max-floats", help="N, or none."),
    rate: str | None = typer.Option(None, "--rate", help="Requests per minute: N, or none."),
    expires_in: str | None = typer.Option(
        None, "--expires-in", help="New lifetime from now: 30d, 12h, 45m, 90s or never."
    ),
    label: str | None = typer.Option(None, "--label", help="A new note for the token list."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    config: Path | None = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
) -> None:
    """Change a token's quotas, rate, expiry or label; takes effect from the next request."""
    from assay.gateway._tokens import UNCHANGED

    limits: dict[str, int | None] = {}
    for name, text in (
        ("max_requests", max_requests),
        ("max_tokens", max_tokens),
        ("max_floats", max_floats),
        ("rate_per_minute", rate),
    ):
        given, value = _limit(text, name.replace("_", "-"))
        if given:
            limits[name] = value
    if not limits and expires_in is None and label is None:
        raise UsageError("nothing to change", hint="give --max-floats, --rate, --expires-in, ...")
    info = _store(db, config).update(
        token_id,
        limits=limits,
        expires_in=parse_duration(expires_in) if expires_in is not None else UNCHANGED,
        label=label if label is not None else UNCHANGED,
    )
    expiry = info.expires_at.isoformat(timespec="seconds") if info.expires_at else "never"
    typer.echo(
        f"updated token {info.id}: max_requests={info.max_requests} max_tokens={info.max_tokens} "
        f"max_floats={info.max_floats} rate={info.rate_per_minute} expires={expiry}"
    )


def _request_log(db: str | None, config: Path | None, *, must_exist: bool = True) -> Any:
    """The request log of the configured database; a clear error when there is none
    (verifying must not create an empty database)."""
    from assay.attest import load_or_create_key
    from assay.gateway import GatewayConfig, RequestLog, TokenStore

    url = _database_url(db, config)
    if must_exist and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise AssayError(f"no gateway request log at {path}: nothing has been served here")
    settings = GatewayConfig.load(config)
    store = TokenStore(url)
    return RequestLog(
        store.engine, load_or_create_key(settings.signing.key), origin=settings.signing.log_origin
    )


@log_app.command("verify")
def log_verify(
    receipts: list[Path] = typer.Option(
        [],
        "--receipts",
        "-r",
        help="Receipts testers hold (JSON lines, e.g. an audit's gateway-receipts.jsonl); repeatable.",
    ),
    key: list[Path] = typer.Option(
        [],
        "--key",
        help="The gateway's public key (PEM) the receipts were signed with; repeatable (default: [signing] key).",
    ),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    config: Path | None = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
) -> None:
    """Recompute the Merkle tree from the entries and check every receipt against it:
    exit 1 when the log was truncated or rewritten below a receipt's signed checkpoint."""
    from assay.attest import load_public_key

    log = _request_log(db, config)
    lines: list[Any] = []
    for path in receipts:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(
                f"no receipts file at {path}: pass the file a tester kept (an audit folder's gateway-receipts.jsonl)"
            ) from None
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                lines.append(json.loads(line))
            except ValueError:
                raise UsageError(f"{path}:{number} is not JSON") from None
    trusted = [load_public_key(p) for p in key] or [log.key.public_key]
    check = log.verify(lines, trusted)
    if not check.ok:
        raise AssayError("request log: " + "; ".join(check.problems[:5]))
    held = f", {check.receipts} receipts hold" if check.receipts else " (no receipts checked)"
    typer.echo(f"request log consistent: {check.size} entries, root {check.root}{held}")


@log_app.command("show")
def log_show(
    engagement: str | None = typer.Option(None, "--engagement", "-e", help="Only this engagement."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="Most recent N entries."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    config: Path | None = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
) -> None:
    """Show recent entries (commitments only: the log never holds request bodies)."""
    entries = list(_request_log(db, config).entries(engagement))[-limit:]
    table = Table(
        "index",
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
            str(e.index),
            e.at[:19],
            e.token_id,
            e.engagement,
            e.route,
            e.model,
            e.tier,
            str(e.status) if e.status is not None else "open",
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
    from assay.attest import LogError, sign_gateway_log

    log = _request_log(db, config)
    try:
        export = log.export(engagement)
    except LogError as exc:
        raise AssayError(
            f"the request log is damaged ({exc}); see `assay gateway log verify`"
        ) from None
    envelope = sign_gateway_log(export, log.key)
    text = json.dumps(envelope, indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(
            f"exported {export['totals']['requests']} entries of {engagement} (head {export['chain']['head']}) to {out}",
            err=True,
        )
