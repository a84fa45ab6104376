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
for _name, _sub in (
    ("org", org_app),
    ("user", user_app),
    ("token", token_app),
    ("keys", keys_app),
    ("models", models_app),
    ("services", services_app),
    ("engagements", engagements_app),
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
    log_path: Path | None = typer.Option(
        None,
        "--log-path",
        help="The transparency log file (default $ASSAY_HOME/registry/log.sqlite).",
    ),
    origin: str = typer.Option("assay.registry/log", "--origin", help="The log's name."),
) -> None:
    """Serve the registry's API (put TLS in front of it; see docs/registry.md)."""
    from assay._util.db import database_url
    from assay.gateway import serve_forever
    from assay.registry import RegistryConfig, build_state, create_app

    config = RegistryConfig(log_origin=origin, log_key=log_key)
    if db:
        config.database_url = database_url(db)
    state = build_state(config)
    typer.echo(f"registry on http://{host}:{port}/v1 (log {state.log.origin})", err=True)
    serve_forever(create_app(state), host=host, port=port, log_level="warning")


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
        None, "--endpoint", help="Gateway base URL (…/v1) serving it: add its endpoint identity."
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
