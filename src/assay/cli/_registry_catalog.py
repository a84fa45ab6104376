"""``assay registry keys|models|services``: what organisations publish, through the API."""

from __future__ import annotations

import base64
from pathlib import Path

import typer

from assay._util.errors import UsageError
from assay.cli._registry_common import REGISTRY as _REGISTRY
from assay.cli._registry_common import client as _client

keys_app = typer.Typer(help="Your organisation's public keys.", no_args_is_help=True)
models_app = typer.Typer(help="Models and versions.", no_args_is_help=True)
services_app = typer.Typer(help="Testing services.", no_args_is_help=True)


@keys_app.command("publish")
def keys_publish(
    registry: str | None = _REGISTRY,
    signing_key: str = typer.Option(
        "tester", "--signing-key", help="Your Ed25519 key in $ASSAY_HOME/keys (created if missing)."
    ),
    sealing_key: str | None = typer.Option(
        None,
        "--sealing-key",
        help="Your X25519 key name (default: the signing key's name; created if missing).",
    ),
) -> None:
    """Register your organisation's signing and sealing public keys (an admin token)."""
    from assay.attest import load_or_create_key, public_pem
    from assay.registry import load_or_create_sealing_key

    with _client(registry) as client:
        org = client.get("/v1/whoami")["org"]
        signing = load_or_create_key(signing_key)
        sealing = load_or_create_sealing_key(sealing_key or signing_key)
        for kind, text in (
            ("signing", public_pem(signing.public_key)),
            ("sealing", sealing.public_b64),
        ):
            key = client.post(f"/v1/orgs/{org}/keys", {"kind": kind, "public_key": text})
            typer.echo(f"{kind} key {key['id']} registered to {org}")


@keys_app.command("list")
def keys_list(org: str = typer.Argument(...), registry: str | None = _REGISTRY) -> None:
    """An organisation's public keys."""
    with _client(registry) as client:
        for key in client.get(f"/v1/orgs/{org}/keys"):
            revoked = f"  revoked {key['revoked_at']}" if key["revoked_at"] else ""
            typer.echo(f"{key['kind']:<8} {key['id']}{revoked}")


@models_app.command("list")
def models_list(
    registry: str | None = _REGISTRY,
    developer: str | None = typer.Option(None, "--developer", help="Only this developer's."),
) -> None:
    """Models you may see, with their versions."""
    with _client(registry) as client:
        for model in client.all_pages("/v1/models", developer=developer):
            versions = ", ".join(
                f"{v['version']} (#{v['id']}, {v['release_status']})" for v in model["versions"]
            )
            typer.echo(f"#{model['id']} {model['developer']}/{model['name']}: {versions or '-'}")


@models_app.command("register")
def models_register(
    name: str = typer.Argument(...),
    description: str = typer.Option("", "--description"),
    registry: str | None = _REGISTRY,
) -> None:
    """Register a model (developers)."""
    with _client(registry) as client:
        model = client.post("/v1/models", {"name": name, "description": description})
    typer.echo(f"registered model #{model['id']} {model['name']}")


@models_app.command("add-version")
def models_add_version(
    model_id: int = typer.Argument(...),
    version: str = typer.Argument(...),
    release: str = typer.Option("internal", "--release", help="internal, api or open_weights."),
    fingerprint: list[str] = typer.Option(
        [], "--fingerprint", help="ALGORITHM=sha256:HEX as an audit records it (repeatable)."
    ),
    weights: Path | None = typer.Option(
        None, "--weights", help="Model folder: add its weights manifest fingerprint."
    ),
    endpoint: str | None = typer.Option(
        None,
        "--endpoint",
        help="Gateway base URL (ending in /v1) serving it: add its endpoint identity.",
    ),
    served_name: str | None = typer.Option(
        None, "--served-name", help="The model's name at --endpoint."
    ),
    registry: str | None = _REGISTRY,
) -> None:
    """Register a version with the fingerprints its audits will record."""
    from assay.models import fingerprint_directory, fingerprint_endpoint

    prints = []
    for text in fingerprint:
        algorithm, sep, digest = text.partition("=")
        if not sep:
            raise UsageError(f"--fingerprint {text!r}: expected ALGORITHM=sha256:HEX")
        prints.append({"algorithm": algorithm, "digest": digest})
    if weights is not None:
        if not weights.is_dir():
            raise UsageError(f"no such folder: {weights}")
        fp = fingerprint_directory(weights)
        prints.append({"algorithm": fp.algorithm, "digest": fp.digest})
    if endpoint is not None:
        if not served_name:
            raise UsageError("--endpoint needs --served-name")
        base = endpoint if endpoint.rstrip("/").endswith("/v1") else endpoint.rstrip("/") + "/v1"
        fp = fingerprint_endpoint(base, served_name)
        prints.append({"algorithm": fp.algorithm, "digest": fp.digest})
    if not prints:
        raise UsageError(
            "a version needs a fingerprint", hint="pass --weights, --endpoint or --fingerprint"
        )
    with _client(registry) as client:
        out = client.post(
            f"/v1/models/{model_id}/versions",
            {"version": version, "release_status": release, "fingerprints": prints},
        )
    typer.echo(f"registered version #{out['id']} {out['model']} {out['version']}")


@models_app.command("document")
def models_document(
    version_id: int = typer.Argument(...),
    path: Path = typer.Argument(..., help="The file."),
    kind: str = typer.Option(
        "model_card", "--kind", help="model_card, methodology, training_data, safety_case, other."
    ),
    visibility: str = typer.Option("public", "--visibility", help="public or parties."),
    media_type: str | None = typer.Option(None, "--media-type", help="Default: from the suffix."),
    registry: str | None = _REGISTRY,
) -> None:
    """Attach an outside-the-box document to a version."""
    from assay._util.hashing import sha256_bytes

    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    types = {
        ".md": "text/markdown",
        ".txt": "text/plain",
        ".json": "application/json",
        ".pdf": "application/pdf",
    }
    media = media_type or types.get(path.suffix.lower())
    if media is None:
        raise UsageError(f"unknown file type {path.suffix}", hint="pass --media-type")
    content = path.read_bytes()
    with _client(registry) as client:
        out = client.post(
            f"/v1/versions/{version_id}/documents",
            {
                "kind": kind,
                "filename": path.name,
                "media_type": media,
                "visibility": visibility,
                "content_b64": base64.b64encode(content).decode(),
                "sha256": sha256_bytes(content),
            },
        )
    typer.echo(f"document #{out['id']} {out['filename']} ({out['sha256']})")


@services_app.command("list")
def services_list(registry: str | None = _REGISTRY) -> None:
    """Testing services on offer."""
    with _client(registry) as client:
        for s in client.all_pages("/v1/services"):
            typer.echo(f"#{s['id']} {s['tester']}: {s['name']} (tiers {','.join(s['tiers'])})")


@services_app.command("publish")
def services_publish(
    name: str = typer.Argument(...),
    tier: list[str] = typer.Option(..., "--tier", help="black, grey, white (repeatable)."),
    suite: list[str] = typer.Option([], "--suite", help="Suites you run (repeatable)."),
    plan: list[str] = typer.Option([], "--plan", help="Plans you run (repeatable)."),
    description: str = typer.Option("", "--description"),
    turnaround_days: int | None = typer.Option(None, "--turnaround-days", min=1),
    price: str = typer.Option("", "--price", help="Free text, e.g. 'from 20k EUR'."),
    accreditation: list[str] = typer.Option(
        [], "--accreditation", help="BODY:CLAIM[:EXPIRES_ON] (repeatable)."
    ),
    registry: str | None = _REGISTRY,
) -> None:
    """Publish a testing service (testing organisations)."""
    accreditations = []
    for text in accreditation:
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise UsageError(f"--accreditation {text!r}: expected BODY:CLAIM[:YYYY-MM-DD]")
        accreditations.append(
            {
                "body": parts[0],
                "claim": parts[1],
                "expires_on": parts[2] if len(parts) == 3 else None,
            }
        )
    body = {
        "name": name,
        "description": description,
        "tiers": tier,
        "suites": suite,
        "plans": plan,
        "turnaround_days": turnaround_days,
        "price": {"note": price},
        "accreditations": accreditations,
    }
    with _client(registry) as client:
        out = client.post("/v1/services", body)
    typer.echo(f"published service #{out['id']} {out['name']}")
