"""``assay gateway serve`` and ``assay gateway token issue|list|revoke``."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from assay._util.errors import UsageError
from assay._util.paths import subdir
from assay.gateway import ALL_MODELS, Tier, TokenStore

gateway_app = typer.Typer(
    help="Serve a model to testers at an agreed access tier.", no_args_is_help=True
)
token_app = typer.Typer(help="Issue, list and revoke tester tokens.", no_args_is_help=True)
gateway_app.add_typer(token_app, name="token")

_TOKENS_HELP = "Token database (default: $ASSAY_HOME/gateway/tokens.sqlite)."


def _store(path: Path | None) -> TokenStore:
    return TokenStore.at_path(path or subdir("gateway") / "tokens.sqlite")


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
    target: str = typer.Option(
        "builtin:smollm2",
        "--target",
        "-t",
        help="Local model to serve: builtin:NAME or hf:PATH_OR_ID.",
    ),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Interface to bind (loopback by default)."
    ),
    port: int = typer.Option(8000, "--port", min=0, max=65535),
    tokens_db: Path | None = typer.Option(None, "--tokens-db", help=_TOKENS_HELP),
    max_batch_size: int = typer.Option(
        16, "--max-batch-size", min=1, help="Requests per forward pass."
    ),
    batch_wait_ms: float = typer.Option(
        5.0, "--batch-wait-ms", min=0.0, help="How long a batch waits to fill."
    ),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve a local model behind OpenAI-compatible routes and tier-scoped tokens."""
    from assay.gateway import create_app, serve_forever
    from assay.gateway.backends import BatchingConfig, LocalBackend
    from assay.models import load_target_model, parse_target

    spec = parse_target(target)
    if not spec.is_local:
        raise UsageError(f"gateway serve needs local weights (builtin: or hf:), got {spec}")
    local = load_target_model(spec)
    backend = LocalBackend(
        local, BatchingConfig(max_batch_size=max_batch_size, max_wait_ms=batch_wait_ms)
    )
    store = _store(tokens_db)
    console = Console(stderr=True)
    console.print(
        f"serving [bold]{local.name}[/] ({local.fingerprint.digest[:23]}…) on http://{host}:{port}/v1"
    )
    if not store.list():
        console.print(
            "[yellow]no tokens yet:[/] issue one with `assay gateway token issue --engagement NAME --tier grey`"
        )
    serve_forever(create_app(backend, store), host=host, port=port, log_level=log_level)


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
    label: str | None = typer.Option(None, "--label", help="A note for the token list."),
    tokens_db: Path | None = typer.Option(None, "--tokens-db", help=_TOKENS_HELP),
) -> None:
    """Issue a token; the secret is printed once, alone on the last line of stdout."""
    store = _store(tokens_db)
    info, secret = store.issue(
        tier=tier,
        engagement=engagement,
        models=model or [ALL_MODELS],
        expires_in=parse_duration(expires_in),
        label=label,
    )
    expiry = info.expires_at.isoformat(timespec="seconds") if info.expires_at else "never"
    typer.echo(
        f"issued token {info.id}: tier={info.tier.value} engagement={info.engagement} models={','.join(info.models)} expires={expiry}"
    )
    typer.echo("the secret below is shown once; only its hash is stored")
    typer.echo(secret)


@token_app.command("list")
def list_tokens(
    tokens_db: Path | None = typer.Option(None, "--tokens-db", help=_TOKENS_HELP),
) -> None:
    """List tokens (ids and grants, never secrets)."""
    table = Table("id", "tier", "engagement", "models", "status", "expires", "label")
    for t in _store(tokens_db).list():
        table.add_row(
            t.id,
            t.tier.value,
            t.engagement,
            ",".join(t.models),
            t.status(),
            t.expires_at.isoformat(timespec="seconds") if t.expires_at else "never",
            t.label or "",
        )
    Console().print(table)


@token_app.command("revoke")
def revoke(
    token_id: str = typer.Argument(..., help="Token id (from `token list`)."),
    tokens_db: Path | None = typer.Option(None, "--tokens-db", help=_TOKENS_HELP),
) -> None:
    """Revoke a token; the gateway refuses it from the next request on."""
    info = _store(tokens_db).revoke(token_id)
    typer.echo(f"revoked token {info.id} (engagement {info.engagement})")
