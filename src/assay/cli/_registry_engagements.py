"""``assay registry engagements ...`` and the audit commands (``submit``, ``cosign``,
``show``): engagements and their steps, submitted audits, through the API."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import typer

from assay._util.errors import AssayError, UsageError
from assay.cli._registry_common import REGISTRY as _REGISTRY
from assay.cli._registry_common import client as _client
from assay.cli._registry_common import print_json as _print

engagements_app = typer.Typer(help="Engagements and their steps.", no_args_is_help=True)


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
