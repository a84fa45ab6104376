"""``assay registry ...``: serve a registry, bootstrap it, and use one as a client.

Bootstrapping (``org``, ``user``, ``token``) works on the database directly and is
for the registry's operator; everything else goes through the HTTP API with
``--registry URL`` (or ``$ASSAY_REGISTRY_URL``) and a token in ``$ASSAY_REGISTRY_TOKEN``.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer

from assay._util.errors import AssayError, UsageError

registry_app = typer.Typer(
    help="The registry: organisations, models, testing services, engagements, audits, "
    "a transparency log.",
    no_args_is_help=True,
)
org_app = typer.Typer(help="Organisations (operator, on the database).", no_args_is_help=True)
user_app = typer.Typer(help="Users (operator, on the database).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (operator, on the database).", no_args_is_help=True)
keys_app = typer.Typer(help="Your organisation's public keys.", no_args_is_help=True)
models_app = typer.Typer(help="Models and versions.", no_args_is_help=True)
services_app = typer.Typer(help="Testing services.", no_args_is_help=True)
engagements_app = typer.Typer(help="Engagements and their steps.", no_args_is_help=True)
findings_app = typer.Typer(
    help="Findings under coordinated disclosure: file, take steps, open sealed material.",
    no_args_is_help=True,
)
webhooks_app = typer.Typer(help="Your organisation's signed webhooks.", no_args_is_help=True)
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

_DB = typer.Option(
    None, "--db", help="Database URL or SQLite path (default $ASSAY_HOME/registry/registry.sqlite)."
)
_REGISTRY = typer.Option(
    None, "--registry", "-r", help="Registry URL (default $ASSAY_REGISTRY_URL)."
)


def _sessions(db: str | None) -> Any:
    from assay._util.db import database_url
    from assay.registry._app import default_database_url
    from assay.registry._db import open_database, session_factory

    return session_factory(open_database(database_url(db) if db else default_database_url()))


def _now() -> Any:
    from assay.registry import SystemClock

    return SystemClock().now()


def _client(registry: str | None) -> Any:
    from assay.registry._client import RegistryClient

    return RegistryClient(registry)


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


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


@org_app.command("create")
def org_create(
    slug: str = typer.Argument(..., help="Short name: lowercase letters, digits, '-'."),
    kind: str = typer.Option(..., "--kind", help="developer, tester or authority."),
    name: str | None = typer.Option(None, "--name", help="Display name."),
    jurisdiction: str | None = typer.Option(None, "--jurisdiction", help="E.g. EU, UK, US-CA."),
    db: str | None = _DB,
) -> None:
    """Create an organisation."""
    from assay.registry import OrgKind
    from assay.registry._auth import create_org

    try:
        org_kind = OrgKind(kind)
    except ValueError:
        raise UsageError(
            f"unknown kind {kind!r}", hint="use developer, tester or authority"
        ) from None
    with _sessions(db)() as session:
        org = create_org(
            session, slug, kind=org_kind, name=name, jurisdiction=jurisdiction, now=_now()
        )
        session.commit()
        typer.echo(f"created {org.kind} organisation {org.slug}")


@org_app.command("list")
def org_list(db: str | None = _DB) -> None:
    """List organisations."""
    from sqlalchemy import select

    from assay.registry._db import Organisation

    with _sessions(db)() as session:
        for org in session.scalars(select(Organisation).order_by(Organisation.id)):
            typer.echo(f"{org.slug:<24} {org.kind:<10} {org.name}")


@user_app.command("add")
def user_add(
    org: str = typer.Argument(..., help="The user's organisation."),
    name: str = typer.Argument(..., help="User name (e.g. an email address)."),
    role: str = typer.Option("member", "--role", help="admin or member."),
    db: str | None = _DB,
) -> None:
    """Add a user to an organisation."""
    from assay.registry import Role
    from assay.registry._auth import add_user

    try:
        user_role = Role(role)
    except ValueError:
        raise UsageError(f"unknown role {role!r}", hint="use admin or member") from None
    with _sessions(db)() as session:
        user = add_user(session, org, name, role=user_role, now=_now())
        session.commit()
        typer.echo(f"added {user.name} to {org} as {user.role}")


@user_app.command("password")
def user_password(
    name: str = typer.Argument(..., help="The user."),
    stdin: bool = typer.Option(
        False, "--stdin", help="Read the password from standard input (one line)."
    ),
    db: str | None = _DB,
) -> None:
    """Set a user's password for signing in to the web pages (argon2id)."""
    import sys

    from assay.registry._auth import set_password

    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _sessions(db)() as session:
        set_password(session, name, password)
        session.commit()
    typer.echo(f"password set for {name}")


def _duration(text: str) -> timedelta | None:
    from assay.cli._gateway import parse_duration

    return parse_duration(text)


@token_app.command("issue")
def token_issue(
    user: str = typer.Option(..., "--user", "-u", help="The user the token acts for."),
    scope: list[str] = typer.Option(
        ["read"], "--scope", "-s", help="read, submit, admin (repeatable; read is always in)."
    ),
    expires: str = typer.Option("90d", "--expires", help="30d, 12h, ... or never."),
    label: str | None = typer.Option(None, "--label", help="What the token is for."),
    db: str | None = _DB,
) -> None:
    """Issue an API token; the token is printed alone on the last line, once."""
    from sqlalchemy import select

    from assay.registry._auth import issue_token
    from assay.registry._db import User

    with _sessions(db)() as session:
        row = session.scalar(select(User).where(User.name == user))
        if row is None:
            raise UsageError(
                f"no user named {user!r}", hint="add one with `assay registry user add`"
            )
        try:
            issued = issue_token(
                session, row, scopes=scope, expires_in=_duration(expires), label=label, now=_now()
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        session.commit()
    expiry = issued.expires_at.isoformat() if issued.expires_at else "never"
    typer.echo(f"token {issued.id} for {user}: scopes {','.join(issued.scopes)}, expires {expiry}")
    typer.echo(issued.secret)


@token_app.command("revoke")
def token_revoke(token_id: str = typer.Argument(...), db: str | None = _DB) -> None:
    """Revoke a token at once."""
    from assay.registry._db import ApiToken

    with _sessions(db)() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise UsageError(f"no token with id {token_id!r}")
        if row.revoked_at is None:
            row.revoked_at = _now()
            session.commit()
    typer.echo(f"revoked {token_id}")


# ---- client commands -------------------------------------------------------------------


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


@engagements_app.command("list")
def engagements_list(registry: str | None = _REGISTRY) -> None:
    """Engagements your organisation is a party to."""
    with _client(registry) as client:
        for e in client.all_pages("/v1/engagements"):
            typer.echo(
                f"#{e['id']} {e['state']:<15} {e['developer']} → {e['tester']}: "
                f"{e['model']} {e['version']} at {e['scope']['tier']}"
            )


@engagements_app.command("request")
def engagements_request(
    service_id: int = typer.Option(..., "--service"),
    version_id: int = typer.Option(..., "--version"),
    tier: str = typer.Option(..., "--tier"),
    suite: list[str] = typer.Option([], "--suite", help="Suites in scope (repeatable)."),
    plan: str | None = typer.Option(None, "--plan"),
    query_budget: int | None = typer.Option(None, "--query-budget", min=1),
    registry: str | None = _REGISTRY,
) -> None:
    """Request an engagement from a testing service (developers)."""
    body = {
        "service_id": service_id,
        "version_id": version_id,
        "scope": {"tier": tier, "suites": suite, "plan": plan, "query_budget": query_budget},
    }
    with _client(registry) as client:
        out = client.post("/v1/engagements", body)
    typer.echo(f"requested engagement #{out['id']} ({out['state']})")
    typer.echo(str(out["id"]))


def _step(name: str) -> Any:
    def command(
        engagement_id: int = typer.Argument(...),
        reason: str = typer.Option("", "--reason"),
        registry: str | None = _REGISTRY,
    ) -> None:
        with _client(registry) as client:
            out = client.post(f"/v1/engagements/{engagement_id}/{name}", {"reason": reason})
        typer.echo(f"engagement #{engagement_id} is {out['state']}")

    command.__doc__ = {
        "accept": "Accept a requested engagement (its testing organisation).",
        "decline": "Decline a requested engagement (its testing organisation).",
        "start": "Start testing (its testing organisation; `assay audit --engagement` does it).",
        "close": "Close a reported engagement (either party).",
        "cancel": "Cancel an engagement before it reports (either party).",
    }[name]
    return command


for _step_name in ("accept", "decline", "start", "close", "cancel"):
    engagements_app.command(_step_name)(_step(_step_name))


@engagements_app.command("grant")
def engagements_grant(
    engagement_id: int = typer.Argument(...),
    gateway: str = typer.Option(..., "--gateway", help="The gateway's URL testers reach."),
    tier: str = typer.Option(..., "--tier", help="The tier of the token."),
    token_env: str = typer.Option(
        "ASSAY_GATEWAY_TOKEN", "--token-env", help="Environment variable holding the gateway token."
    ),
    registry: str | None = _REGISTRY,
) -> None:
    """Hand the tester gateway access: the token is sealed here to the tester's key, so
    the registry never sees it (developers)."""
    from assay.registry import seal
    from assay.registry._sealed import parse_sealing_public

    token = os.environ.get(token_env, "")
    if not token:
        raise UsageError(
            f"no gateway token in ${token_env}", hint="`assay gateway token issue` makes one"
        )
    with _client(registry) as client:
        engagement = client.get(f"/v1/engagements/{engagement_id}")
        keys = [
            k
            for k in client.get(f"/v1/orgs/{engagement['tester']}/keys")
            if k["kind"] == "sealing" and not k["revoked_at"]
        ]
        if not keys:
            raise AssayError(
                f"{engagement['tester']} has no sealing key registered",
                hint="the tester runs `assay registry keys publish`",
            )
        key = keys[-1]
        sealed = seal(parse_sealing_public(key["public_key"]), token.encode())
        client.post(
            f"/v1/engagements/{engagement_id}/access",
            {
                "gateway_url": gateway,
                "tier": tier,
                "recipient_key_id": key["id"],
                "sealed_token_b64": base64.b64encode(sealed).decode(),
            },
        )
    typer.echo(f"granted {tier} access to engagement #{engagement_id}, sealed to {key['id']}")


@registry_app.command("submit")
def submit(
    engagement_id: int = typer.Argument(...),
    audit_dir: Path = typer.Argument(..., help="The audit's --out folder."),
    public: bool = typer.Option(False, "--public", help="Publish at once (default: parties only)."),
    registry: str | None = _REGISTRY,
) -> None:
    """Submit an audit's attestation.json and report.json to its engagement."""
    attestation = audit_dir / "attestation.json"
    report = audit_dir / "report.json"
    if not attestation.is_file():
        raise UsageError(f"no such file: {attestation}")
    try:
        envelope = json.loads(attestation.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UsageError(f"{attestation} is not JSON: {exc}") from None
    body = {
        "attestation": envelope,
        "report": report.read_text(encoding="utf-8") if report.is_file() else None,
        "visibility": "public" if public else "parties",
    }
    with _client(registry) as client:
        out = client.post(f"/v1/engagements/{engagement_id}/submissions", body)
    typer.echo(
        f"accepted as submission #{out['id']}, log entry {out['log_index']} ({out['visibility']})"
    )
    typer.echo(str(out["id"]))


@registry_app.command("cosign")
def cosign(
    submission_id: int = typer.Argument(...),
    key_name: str = typer.Option(
        "gateway", "--key-name", "-n", help="Your registered signing key in $ASSAY_HOME/keys."
    ),
    registry: str | None = _REGISTRY,
) -> None:
    """Co-sign a submitted audit with your organisation's key (developers): the
    signature is made here over the submitted statement; the registry checks it."""
    from assay.attest import add_signature, load_named_key

    key = load_named_key(key_name)
    with _client(registry) as client:
        envelope = client.get(f"/v1/submissions/{submission_id}/attestation")
        signed = add_signature(envelope, key)
        sig = next(s["sig"] for s in signed["signatures"] if s["keyid"] == key.key_id)
        out = client.post(
            f"/v1/submissions/{submission_id}/cosign", {"keyid": key.key_id, "sig": sig}
        )
    typer.echo(f"co-signed submission #{submission_id}; co-signers: {', '.join(out['cosigners'])}")


_SHOW = {
    "finding": "/v1/findings/{}",
    "finding-proof": "/v1/findings/{}/proof",
    "org": "/v1/orgs/{}",
    "model": "/v1/models/{}",
    "version": "/v1/versions/{}",
    "service": "/v1/services/{}",
    "engagement": "/v1/engagements/{}",
    "submission": "/v1/submissions/{}",
    "attestation": "/v1/submissions/{}/attestation",
    "proof": "/v1/submissions/{}/proof",
}


@registry_app.command("show")
def show(
    kind: str = typer.Argument(..., help=", ".join(_SHOW)),
    ident: str = typer.Argument(..., help="Its id (an organisation: its name)."),
    registry: str | None = _REGISTRY,
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the JSON here."),
) -> None:
    """Print one thing from the registry as JSON."""
    if kind not in _SHOW:
        raise UsageError(f"unknown kind {kind!r}", hint="use one of " + ", ".join(_SHOW))
    with _client(registry) as client:
        data = client.get(_SHOW[kind].format(ident))
    if out is not None:
        out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        typer.echo(f"wrote {kind} {ident} to {out}", err=True)
    else:
        _print(data)


# ---- findings --------------------------------------------------------------------------


def _finding_line(f: dict[str, Any]) -> str:
    due = f.get("publish_due_at") or f.get("published_at") or ""
    flag = " national-security" if f["national_security"] else ""
    return (
        f"#{f['id']:<5} {f['state']:<14} {f['severity']:<10}{flag} {f['system']} "
        f"{f['system_version']}: {f['title']}  ({due})"
    )


@findings_app.command("file")
def findings_file(
    finding: Path = typer.Argument(
        ..., help="The finding as JSON: the fields of POST /v1/findings (see docs/registry.md)."
    ),
    reproduction: Path | None = typer.Option(
        None,
        "--reproduction",
        help="A file of reproduction material: sealed here to the developer's and each "
        "notified authority's key (the registry never sees it in clear).",
    ),
    keep_copy: bool = typer.Option(
        True, "--keep-copy/--no-copy", help="Also seal a copy to your own organisation's key."
    ),
    registry: str | None = _REGISTRY,
) -> None:
    """File a finding (testing organisations); its id on the last line."""
    from assay.registry._reproduction import envelope, sealed_boxes

    try:
        body = json.loads(finding.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {finding}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"{finding} is not JSON: {exc}") from None
    if not isinstance(body, dict) or "version_id" not in body or "risk_area" not in body:
        raise UsageError(f"{finding} must be a JSON object with version_id, risk_area, ...")
    with _client(registry) as client:
        if reproduction is not None:
            if not reproduction.is_file():
                raise UsageError(f"no such file: {reproduction}")
            recipients = client.get(
                "/v1/findings/recipients",
                version_id=body["version_id"],
                risk_area=body["risk_area"],
                national_security=str(bool(body.get("national_security"))).lower(),
            )
            if not keep_copy:
                recipients = [r for r in recipients if r["required"]]
            body["reproduction"] = sealed_boxes(envelope(reproduction), recipients)
            names = ", ".join(r["org"] for r in recipients if r["key_id"])
            typer.echo(f"sealed the reproduction material to {names}", err=True)
        out = client.post("/v1/findings", body)
    notified = ", ".join(out.get("authorities") or []) or "no authority"
    typer.echo(f"filed finding #{out['id']}: the developer and {notified} are notified")
    typer.echo(str(out["id"]))


@findings_app.command("list")
def findings_list(registry: str | None = _REGISTRY) -> None:
    """Findings you may see: yours in full, published ones by their summary."""
    with _client(registry) as client:
        for f in client.all_pages("/v1/findings"):
            typer.echo(_finding_line(f))


@findings_app.command("step")
def findings_step(
    finding_id: int = typer.Argument(...),
    step: str = typer.Argument(
        ...,
        help="acknowledge, dispute, claim-fix, confirm-fix, reject-fix, propose-extension, "
        "agree-extension",
    ),
    reason: str = typer.Option("", "--reason", help="Why (required to dispute or reject)."),
    days: int | None = typer.Option(None, "--days", min=1, help="For propose-extension."),
    fix_released: str | None = typer.Option(
        None, "--fix-released", help="For claim-fix: when the fix was released (ISO date)."
    ),
    registry: str | None = _REGISTRY,
) -> None:
    """Take a step on a finding you are a party to."""
    steps = (
        "acknowledge",
        "dispute",
        "claim-fix",
        "confirm-fix",
        "reject-fix",
        "propose-extension",
        "agree-extension",
    )
    if step not in steps:
        raise UsageError(f"unknown step {step!r}", hint="use one of " + ", ".join(steps))
    body: dict[str, Any] = {"reason": reason}
    if step == "propose-extension":
        if days is None:
            raise UsageError("propose-extension needs --days")
        body["days"] = days
    if step == "claim-fix" and fix_released:
        body["fix_released_at"] = fix_released
    with _client(registry) as client:
        out = client.post(f"/v1/findings/{finding_id}/{step}", body)
    typer.echo(_finding_line(out))


def _local_sealing_key(key_id: str, name: str | None) -> Any:
    from assay.attest import keys_dir
    from assay.registry import load_sealing_key

    if name is not None:
        return load_sealing_key(name)
    for path in sorted(keys_dir().glob("*.x25519")):
        key = load_sealing_key(path.name.removesuffix(".x25519"))
        if key.key_id == key_id:
            return key
    raise UsageError(
        f"none of your sealing keys in {keys_dir()} is {key_id}",
        hint="pass --sealing-key NAME, or ask the tester to seal to your current key",
    )


@findings_app.command("open")
def findings_open(
    finding_id: int = typer.Argument(...),
    out: Path = typer.Option(Path(), "--out", "-o", help="Folder to write the file to."),
    sealing_key: str | None = typer.Option(
        None, "--sealing-key", help="Your X25519 key name (default: the one the box is sealed to)."
    ),
    registry: str | None = _REGISTRY,
) -> None:
    """Open the reproduction material sealed to your organisation, check it against the
    finding's commitment, and write the file."""
    from assay.registry._reproduction import open_box, read_material

    with _client(registry) as client:
        data = client.get(f"/v1/findings/{finding_id}/reproduction")
    if data["boxes"]:
        box = data["boxes"][0]
        key = _local_sealing_key(box["recipient_key_id"], sealing_key)
        _, material = open_box(key, box["sealed_b64"], data["commitment"])
    elif data["released_b64"]:
        material = read_material(base64.b64decode(data["released_b64"]), data["commitment"])
    else:
        raise AssayError("no reproduction material of this finding is sealed to you")
    out.mkdir(parents=True, exist_ok=True)
    target = out / material.filename
    target.write_bytes(material.content)
    typer.echo(f"wrote {target} ({len(material.content)} bytes; it matches the commitment)")


@findings_app.command("attach")
def findings_attach(
    finding_id: int = typer.Argument(...),
    reproduction: Path = typer.Argument(..., help="The reproduction material (a file)."),
    keep_copy: bool = typer.Option(True, "--keep-copy/--no-copy"),
    registry: str | None = _REGISTRY,
) -> None:
    """Seal reproduction material to a finding's recipients and attach it (once)."""
    from assay.registry._reproduction import envelope, sealed_boxes

    if not reproduction.is_file():
        raise UsageError(f"no such file: {reproduction}")
    with _client(registry) as client:
        f = client.get(f"/v1/findings/{finding_id}")
        recipients = client.get(
            "/v1/findings/recipients",
            version_id=f["version_id"],
            risk_area=f["risk_area"],
            national_security=str(f["national_security"]).lower(),
        )
        required = {r["org"] for r in recipients if r["required"]}
        wanted = required | set(f.get("authorities") or [])
        recipients = [
            r for r in recipients if r["org"] in wanted or (keep_copy and not r["required"])
        ]
        out = client.post(
            f"/v1/findings/{finding_id}/reproduction",
            sealed_boxes(envelope(reproduction), recipients),
        )
    typer.echo(f"sealed to {', '.join(out['reproduction_recipients'])}")


@findings_app.command("release")
def findings_release(
    finding_id: int = typer.Argument(...),
    sealing_key: str | None = typer.Option(None, "--sealing-key", help="Your X25519 key name."),
    registry: str | None = _REGISTRY,
) -> None:
    """After publication, make the reproduction material public (testing organisation):
    your sealed copy is opened here and sent; the registry checks it against the
    commitment. This cannot be undone."""
    from assay.registry._reproduction import open_box

    with _client(registry) as client:
        data = client.get(f"/v1/findings/{finding_id}/reproduction")
        if not data["boxes"]:
            raise AssayError("no copy of the material is sealed to your organisation")
        box = data["boxes"][0]
        key = _local_sealing_key(box["recipient_key_id"], sealing_key)
        plaintext, _ = open_box(key, box["sealed_b64"], data["commitment"])
        client.post(
            f"/v1/findings/{finding_id}/reproduction/release",
            {"material_b64": base64.b64encode(plaintext).decode()},
        )
    typer.echo(f"released the reproduction material of finding #{finding_id}")


# ---- webhooks --------------------------------------------------------------------------


@webhooks_app.command("add")
def webhooks_add(
    url: str = typer.Argument(..., help="Your endpoint (https://...)."),
    description: str = typer.Option("", "--description"),
    registry: str | None = _REGISTRY,
) -> None:
    """Subscribe an endpoint; its signing secret is printed alone on the last line, once."""
    with _client(registry) as client:
        out = client.post("/v1/webhooks", {"url": url, "description": description})
    typer.echo(f"webhook #{out['id']} sends to {out['url']}; verify deliveries with the secret:")
    typer.echo(out["secret"])


@webhooks_app.command("list")
def webhooks_list(registry: str | None = _REGISTRY) -> None:
    """Your endpoints and their deliveries."""
    with _client(registry) as client:
        for hook in client.get("/v1/webhooks"):
            off = f" disabled {hook['disabled_at']}" if hook["disabled_at"] else ""
            typer.echo(
                f"#{hook['id']:<4} {hook['url']}  delivered {hook['delivered']}, "
                f"pending {hook['pending']}, failed {hook['failed']}{off}"
            )


@webhooks_app.command("disable")
def webhooks_disable(
    webhook_id: int = typer.Argument(...), registry: str | None = _REGISTRY
) -> None:
    """Stop sending to an endpoint."""
    with _client(registry) as client:
        client.post(f"/v1/webhooks/{webhook_id}/disable")
    typer.echo(f"webhook #{webhook_id} disabled")


@findings_app.command("verify")
def findings_verify(
    finding_id: int = typer.Argument(...),
    log_key: Path | None = typer.Option(
        None, "--log-key", help="The registry's log key (PEM); default: trust what it serves."
    ),
    registry: str | None = _REGISTRY,
) -> None:
    """Check a published finding's publication (no account needed): the record's digest,
    the log entry naming it and the moment, and the entry's inclusion proof under the
    registry's signed checkpoint."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from assay._util.hashing import canonical_json, sha256_bytes
    from assay.attest import LogError, key_id, verify_log_proof
    from assay.registry._log import publication_entry

    with _client(registry) as client:
        proof = client.get(f"/v1/findings/{finding_id}/proof")
        pem = log_key.read_text() if log_key is not None else client.get("/v1/log")["public_key"]
    public = load_pem_public_key(pem.encode())
    if not isinstance(public, Ed25519PublicKey):
        raise UsageError("the log key is not an Ed25519 public key")
    record = proof["record"]
    digest = sha256_bytes(canonical_json(record))
    if digest != proof["digest"]:
        raise AssayError("the published record does not match its digest")
    entry = publication_entry("finding", digest, record["published_at"])
    if entry.decode() != proof["entry"]:
        raise AssayError("the log entry does not name this record and moment")
    try:
        verified = verify_log_proof(proof["proof"], entry, {key_id(public): public})
    except LogError as exc:
        raise AssayError(f"the inclusion proof does not verify: {exc}") from None
    typer.echo(
        f"verified: finding #{finding_id} published {record['published_at']}, log entry "
        f"{verified.leaf_index} of {verified.checkpoint.tree_size}"
    )
