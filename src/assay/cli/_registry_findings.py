"""``assay registry findings|webhooks``: findings under coordinated disclosure and the
organisation's signed webhooks, through the API."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import typer

from assay._util.errors import AssayError, UsageError
from assay.cli._registry_common import REGISTRY as _REGISTRY
from assay.cli._registry_common import client as _client

findings_app = typer.Typer(
    help="Findings under coordinated disclosure: file, take steps, open sealed material.",
    no_args_is_help=True,
)
webhooks_app = typer.Typer(help="Your organisation's signed webhooks.", no_args_is_help=True)


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
