"""``assay keys``: Ed25519 signing keys. Private keys never leave their 0600 files."""

from __future__ import annotations

from pathlib import Path

import typer

from assay._util.errors import UsageError

keys_app = typer.Typer(
    help="Ed25519 signing keys in $ASSAY_HOME/keys (tester, gateway, log, ...).",
    no_args_is_help=True,
)

_NAME = typer.Argument("tester", help="Key name (a file name in $ASSAY_HOME/keys).")


def _public(name: str) -> tuple[str, str]:
    """(key id, public PEM) of a named key, from its private half when present."""
    from assay.attest import (
        key_id,
        load_named_key,
        load_public_key,
        private_key_path,
        public_key_path,
        public_pem,
    )

    if private_key_path(name).is_file():
        public = load_named_key(name).public_key
        pub_path = public_key_path(name)
        if pub_path.is_file() and key_id(load_public_key(pub_path)) != key_id(public):
            raise UsageError(
                f"{pub_path} does not belong to the private key {name}",
                hint=f"delete {pub_path.name}; `assay keys export {name} -o {pub_path}` rewrites it",
            )
    elif public_key_path(name).is_file():
        public = load_public_key(public_key_path(name))
    else:
        raise UsageError(f"no key named {name!r}", hint=f"run `assay keys generate {name}`")
    return key_id(public), public_pem(public)


@keys_app.command("generate")
def generate(name: str = _NAME) -> None:
    """Create a new key pair; an existing key is never replaced."""
    from assay.attest import generate_key, private_key_path, public_key_path

    key = generate_key(name)
    typer.echo(f"key id:      {key.key_id}")
    typer.echo(f"private key: {private_key_path(name)} (mode 0600; keep it secret)")
    typer.echo(f"public key:  {public_key_path(name)}")


@keys_app.command("show")
def show(name: str = _NAME) -> None:
    """Print the key id and the public key (PEM)."""
    kid, pem = _public(name)
    typer.echo(f"name:   {name}")
    typer.echo(f"key id: {kid}")
    typer.echo(pem, nl=False)


@keys_app.command("export")
def export(
    name: str = _NAME,
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the public key here (default: stdout)."
    ),
) -> None:
    """Write the public key (PEM) for others to verify with: `assay verify --key FILE`."""
    kid, pem = _public(name)
    if out is None:
        typer.echo(pem, nl=False)
        return
    out.write_text(pem, encoding="utf-8")
    typer.echo(f"wrote the public key {kid} to {out}", err=True)


@keys_app.command("list")
def list_keys() -> None:
    """List key names and ids ('public only' when the private half is elsewhere)."""
    from assay.attest import key_names, private_key_path

    names = key_names()
    if not names:
        typer.echo("no keys yet; `assay keys generate` creates one")
        return
    for name in names:
        kid, _ = _public(name)
        kind = "" if private_key_path(name).is_file() else "  (public only)"
        typer.echo(f"{name:<16} {kid}{kind}")
