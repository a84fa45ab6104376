"""The steps of the registry's workflow, as tests take them through the API."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from assay._util.hashing import sha256_bytes
from assay.attest import attest_audit, load_or_create_key, public_pem
from assay.registry import load_or_create_sealing_key, seal
from tests.attest._audit import make_report, write_samples
from tests.registry.conftest import World

FINGERPRINT = ("assay-manifest-v1", sha256_bytes(b"acme weights v1"))
CARD = b"# Acme-1 model card\n\nA placeholder model card.\n"


def publish_keys(world: World, who: str, key_name: str) -> dict[str, str]:
    """Register ``key_name``'s Ed25519 and X25519 keys for ``who``'s organisation."""
    org = world.parties[who].org
    signing = load_or_create_key(key_name)
    sealing = load_or_create_sealing_key(key_name)
    s = world.ok(
        who,
        "POST",
        f"/v1/orgs/{org}/keys",
        {"kind": "signing", "public_key": public_pem(signing.public_key)},
    )
    x = world.ok(
        who, "POST", f"/v1/orgs/{org}/keys", {"kind": "sealing", "public_key": sealing.public_b64}
    )
    return {"signing": s["id"], "sealing": x["id"]}


def register_version(world: World, release: str = "api") -> dict[str, Any]:
    model = world.ok("developer", "POST", "/v1/models", {"name": "acme-1", "description": "x"})
    version = world.ok(
        "developer",
        "POST",
        f"/v1/models/{model['id']}/versions",
        {
            "version": "1.0",
            "release_status": release,
            "fingerprints": [{"algorithm": FINGERPRINT[0], "digest": FINGERPRINT[1]}],
        },
    )
    world.ok(
        "developer",
        "POST",
        f"/v1/versions/{version['id']}/documents",
        {
            "kind": "model_card",
            "filename": "card.md",
            "media_type": "text/markdown",
            "content_b64": base64.b64encode(CARD).decode(),
            "sha256": sha256_bytes(CARD),
        },
    )
    return version


def publish_service(world: World, who: str = "tester") -> dict[str, Any]:
    return world.ok(
        who,
        "POST",
        "/v1/services",
        {
            "name": "Misuse audit",
            "tiers": ["black", "grey", "white"],
            "suites": ["toy_suite", "misuse_refusal"],
            "plans": ["quick"],
            "accreditations": [{"body": "Placeholder Accreditation Body", "claim": "ISO-like 1"}],
            "turnaround_days": 10,
            "price": {"amount": 1000, "currency": "EUR", "note": "per model"},
        },
    )


def request_engagement(
    world: World, version_id: int, service_id: int, tier: str = "grey"
) -> dict[str, Any]:
    return world.ok(
        "developer",
        "POST",
        "/v1/engagements",
        {
            "service_id": service_id,
            "version_id": version_id,
            "scope": {"tier": tier, "suites": ["toy_suite"], "plan": "quick"},
        },
    )


def grant(world: World, engagement_id: int, token: bytes = b"asy_x_secret") -> dict[str, Any]:
    keys = world.ok("developer", "GET", f"/v1/orgs/{world.parties['tester'].org}/keys")
    sealing = next(k for k in keys if k["kind"] == "sealing")
    sealed = seal(base64.b64decode(sealing["public_key"]), token)
    return world.ok(
        "developer",
        "POST",
        f"/v1/engagements/{engagement_id}/access",
        {
            "gateway_url": "http://gateway.example/v1",
            "tier": "grey",
            "recipient_key_id": sealing["id"],
            "sealed_token_b64": base64.b64encode(sealed).decode(),
        },
    )


def engagement_in(world: World, state: str) -> dict[str, Any]:
    """A fresh world's engagement walked to ``state`` (keys, version, service made)."""
    publish_keys(world, "tester", "tester")
    version = register_version(world)
    service = publish_service(world)
    engagement = request_engagement(world, version["id"], service["id"])
    eid = engagement["id"]
    steps = {
        "requested": [],
        "accepted": ["accept"],
        "access_granted": ["accept", "grant"],
        "testing": ["accept", "grant", "start"],
    }[state]
    for step in steps:
        if step == "grant":
            grant(world, eid)
        else:
            world.ok("tester", "POST", f"/v1/engagements/{eid}/{step}", {"reason": step})
    return world.ok("developer", "GET", f"/v1/engagements/{eid}")


def audit_folder(
    out: Path, *, key_name: str = "tester", fingerprint: tuple[str, str] = FINGERPRINT
) -> tuple[dict[str, Any], str]:
    """A signed synthetic audit of the registered version: (envelope, report text)."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    write_samples(out / "samples.jsonl", 20)
    report = make_report(out, fingerprint=fingerprint)
    path = attest_audit(out, report, key_name)
    return json.loads(path.read_text()), (out / "report.json").read_text()
