"""Findings as tests file and walk them through the API (placeholder content only)."""

from __future__ import annotations

import base64
from typing import Any

from assay.registry import load_or_create_sealing_key
from assay.registry._auth import add_user, create_org, issue_token
from assay.registry._reproduction import sealed_boxes
from assay.registry._types import OrgKind, Role
from tests.registry._flows import publish_keys, publish_service, register_version
from tests.registry.conftest import Party, World

# sealing-key names in $ASSAY_HOME/keys of each party
KEY_NAMES = {"developer": "gateway", "tester": "tester", "authority": "authority"}


def add_party(world: World, who: str, slug: str, kind: OrgKind, jurisdiction: str) -> Party:
    """Another organisation with an admin token, usable as ``world.call(who, ...)``."""
    with world.state.sessions() as session:
        now = world.clock.now()
        create_org(session, slug, kind=kind, name=None, jurisdiction=jurisdiction, now=now)
        admin = add_user(session, slug, f"admin@{slug}", role=Role.ADMIN, now=now)
        token = issue_token(
            session, admin, scopes=["read", "submit", "admin"], expires_in=None, label=None, now=now
        )
        session.commit()
    party = Party(slug, kind, token.secret, token.secret)
    world.parties[who] = party
    return party


def disclosure_world(world: World) -> dict[str, Any]:
    """Keys for the parties, a released model version, a second authority elsewhere."""
    publish_keys(world, "tester", "tester")
    publish_keys(world, "developer", "gateway")
    publish_keys(world, "authority", "authority")
    add_party(world, "other_authority", "ukaisi", OrgKind.AUTHORITY, "UK")
    publish_keys(world, "other_authority", "otherauth")
    version = register_version(world)
    service = publish_service(world)
    return {"version": version, "service": service}


def finding_body(
    version_id: int, tag: str, *, national_security: bool = False, **extra: Any
) -> dict[str, Any]:
    """A filing whose summary and description carry markers: SUMMARY-<tag> may be
    public once published, FULL-<tag> never."""
    body: dict[str, Any] = {
        "version_id": version_id,
        "title": f"Title {tag}",
        "summary": f"SUMMARY-{tag}: the model gives a placeholder answer it should refuse.",
        "description": f"FULL-{tag}: Step 1: obtain the placeholder reagent X.",
        "policy_violation": "answers a request its usage policy says it refuses",
        "context_info": f"CONTEXT-{tag}",
        "risk_area": "misuse_safeguards",
        "severity": "high",
        "national_security": national_security,
        "prevalence": {
            "category": "occasional",
            "rate": 0.12,
            "interval": {"low": 0.08, "high": 0.17},
        },
        "impacts": ["physical"],
        "impacted_stakeholders": ["general public"],
        "detection": {"tier": "black", "technique": "misuse_refusal suite"},
    }
    body.update(extra)
    return body


def reproduction(
    world: World, version_id: int, tag: str, national_security: bool
) -> tuple[dict[str, Any], bytes]:
    """Material sealed to the finding's recipients as the tester's client does it;
    returns the ``reproduction`` field and the plaintext."""
    from assay._util.hashing import canonical_json

    recipients = world.ok(
        "tester",
        "GET",
        f"/v1/findings/recipients?version_id={version_id}&risk_area=misuse_safeguards"
        f"&national_security={'true' if national_security else 'false'}",
    )
    plaintext = canonical_json(
        {
            "type": "https://assay.dev/finding/reproduction/v1",
            "salt": "00" * 32,
            "filename": "repro.txt",
            "media_type": "text/plain",
            "content_b64": base64.b64encode(f"REPRO-{tag}: placeholder prompt".encode()).decode(),
        }
    )
    return sealed_boxes(plaintext, recipients), plaintext


def file_finding(
    world: World,
    version_id: int,
    tag: str,
    *,
    national_security: bool = False,
    with_reproduction: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    body = finding_body(version_id, tag, national_security=national_security, **extra)
    if with_reproduction:
        body["reproduction"], _ = reproduction(world, version_id, tag, national_security)
    return world.ok("tester", "POST", "/v1/findings", body)


def step(world: World, who: str, finding_id: int, name: str, **body: Any) -> dict[str, Any]:
    return world.ok(who, "POST", f"/v1/findings/{finding_id}/{name}", {"reason": name, **body})


def open_my_box(world: World, who: str, finding_id: int) -> bytes:
    data = world.ok(who, "GET", f"/v1/findings/{finding_id}/reproduction")
    key = load_or_create_sealing_key(KEY_NAMES[who])
    return key.open(base64.b64decode(data["boxes"][0]["sealed_b64"]))
