"""The authorisation matrix: every route of the app, called by every role, answers
exactly the status the policy promises. A route added without an entry here (or, for
findings, webhooks and the pages, in :mod:`test_authorization_findings`) fails
:func:`test_every_route_has_a_matrix_entry`.

Roles: the developer, the engagement's tester, another tester, an authority, the
public (no token) and a revoked token. A call that is refused changes nothing; the
permitted calls run last, in the order of :data:`ORDER`.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from assay.attest import add_signature, load_or_create_key
from assay.registry import ManualClock, RegistryConfig, build_state, create_app
from tests.registry._flows import audit_folder, grant, publish_keys
from tests.registry.conftest import World

ORDER = ["revoked", "public", "other_tester", "authority", "developer", "tester"]
_counter = itertools.count()


@dataclass
class Scenario:
    """Fresh objects for one route's calls."""

    world: World
    model: int
    version: int
    document: int
    service: int
    engagements: dict[str, int]
    submission: int
    envelope: dict[str, Any]
    member_token: str
    developer_key: str
    tmp: Path

    def submission_body(self) -> dict[str, Any]:
        envelope, report = audit_folder(self.tmp / f"audit-{next(_counter)}")
        return {"attestation": envelope, "report": report}

    def cosign_body(self) -> dict[str, Any]:
        key = load_or_create_key("gateway")
        signed = add_signature(self.envelope, key)
        sig = next(s["sig"] for s in signed["signatures"] if s["keyid"] == key.key_id)
        return {"keyid": key.key_id, "sig": sig}

    def access_body(self) -> dict[str, Any]:
        keys = self.world.ok("tester", "GET", "/v1/orgs/lab/keys")
        sealing = next(k for k in keys if k["kind"] == "sealing")
        return {
            "gateway_url": "http://gw.example/v1",
            "tier": "grey",
            "recipient_key_id": sealing["id"],
            "sealed_token_b64": base64.b64encode(b"s" * 80).decode(),
        }


def build_scenario(world: World, tmp: Path) -> Scenario:
    n = next(_counter)
    w = world
    model = w.ok("developer", "POST", "/v1/models", {"name": f"m{n}"})
    version = w.ok(
        "developer",
        "POST",
        f"/v1/models/{model['id']}/versions",
        {
            "version": "1",
            "release_status": "api",
            "fingerprints": [{"algorithm": "assay-manifest-v1", "digest": _fingerprint()}],
        },
    )
    document = w.ok(
        "developer",
        "POST",
        f"/v1/versions/{version['id']}/documents",
        {
            "kind": "model_card",
            "filename": "card.md",
            "media_type": "text/markdown",
            "content_b64": base64.b64encode(b"# card\n").decode(),
        },
    )
    service = w.ok(
        "tester", "POST", "/v1/services", {"name": f"s{n}", "tiers": ["grey"], "plans": ["quick"]}
    )
    engagements: dict[str, int] = {}
    steps = {
        "requested": [],
        "accepted": ["accept"],
        "access_granted": ["accept", "grant"],
        "testing": ["accept", "grant", "start"],
        "reported": ["accept", "grant", "start", "submit"],
    }
    envelope: dict[str, Any] = {}
    submission = 0
    for state, todo in steps.items():
        eid = w.ok(
            "developer",
            "POST",
            "/v1/engagements",
            {
                "service_id": service["id"],
                "version_id": version["id"],
                "scope": {"tier": "grey"},
            },
        )["id"]
        for step in todo:
            if step == "grant":
                grant(w, eid)
            elif step == "submit":
                envelope, report = audit_folder(tmp / f"sub-{n}")
                submission = w.ok(
                    "tester",
                    "POST",
                    f"/v1/engagements/{eid}/submissions",
                    {"attestation": envelope, "report": report},
                )["id"]
            else:
                w.ok("tester", "POST", f"/v1/engagements/{eid}/{step}", {})
        engagements[state] = eid
    member_token = w.ok(
        "developer", "POST", "/v1/tokens", {"user": "member@acme", "scopes": ["read"]}
    )["id"]
    key = w.ok(
        "developer",
        "POST",
        "/v1/orgs/acme/keys",
        {"kind": "sealing", "public_key": base64.b64encode(bytes([n % 256]) * 32).decode()},
    )["id"]
    return Scenario(
        w,
        model["id"],
        version["id"],
        document["id"],
        service["id"],
        engagements,
        submission,
        envelope,
        member_token,
        key,
        tmp,
    )


def _fingerprint() -> str:
    from tests.registry._flows import FINGERPRINT

    return FINGERPRINT[1]


S = Scenario
Path_ = Callable[[S], str]
Body = Callable[[S], Any] | None

# expected statuses in ORDER: revoked, public, other_tester, authority, developer, tester
PUBLIC = (401, 200, 200, 200, 200, 200)
RESTRICTED_SUBMISSION = (401, 404, 404, 200, 200, 200)
SIGNED_IN = (401, 401, 200, 200, 200, 200)

MATRIX: dict[tuple[str, str], tuple[Path_, Body, tuple[int, ...]]] = {
    ("GET", "/v1/health"): (lambda s: "/v1/health", None, PUBLIC),
    ("GET", "/v1/whoami"): (lambda s: "/v1/whoami", None, SIGNED_IN),
    ("GET", "/v1/orgs"): (lambda s: "/v1/orgs", None, PUBLIC),
    ("GET", "/v1/orgs/{slug}"): (lambda s: "/v1/orgs/lab", None, PUBLIC),
    ("GET", "/v1/orgs/{slug}/keys"): (lambda s: "/v1/orgs/lab/keys", None, PUBLIC),
    ("POST", "/v1/orgs/{slug}/keys"): (
        lambda s: "/v1/orgs/acme/keys",
        lambda s: {"kind": "sealing", "public_key": base64.b64encode(b"k" * 32).decode()},
        (401, 401, 403, 403, 201, 403),
    ),
    ("POST", "/v1/orgs/{slug}/keys/{key_id}/revoke"): (
        lambda s: f"/v1/orgs/acme/keys/{s.developer_key}/revoke",
        None,
        (401, 401, 403, 403, 200, 403),
    ),
    ("GET", "/v1/tokens"): (lambda s: "/v1/tokens", None, SIGNED_IN),
    ("POST", "/v1/tokens"): (
        lambda s: "/v1/tokens",
        lambda s: {"user": "member@acme"},
        (401, 401, 404, 404, 201, 404),
    ),
    ("POST", "/v1/tokens/{token_id}/revoke"): (
        lambda s: f"/v1/tokens/{s.member_token}/revoke",
        None,
        (401, 401, 404, 404, 200, 404),
    ),
    ("GET", "/v1/models"): (lambda s: "/v1/models", None, PUBLIC),
    ("POST", "/v1/models"): (
        lambda s: "/v1/models",
        lambda s: {"name": f"new-{next(_counter)}"},
        (401, 401, 403, 403, 201, 403),
    ),
    ("GET", "/v1/models/{model_id}"): (lambda s: f"/v1/models/{s.model}", None, PUBLIC),
    ("POST", "/v1/models/{model_id}/versions"): (
        lambda s: f"/v1/models/{s.model}/versions",
        lambda s: {
            "version": "2",
            "release_status": "internal",
            "fingerprints": [{"algorithm": "a", "digest": "sha256:" + "2" * 64}],
        },
        (401, 401, 403, 403, 201, 403),
    ),
    ("GET", "/v1/versions/{version_id}"): (lambda s: f"/v1/versions/{s.version}", None, PUBLIC),
    ("POST", "/v1/versions/{version_id}/documents"): (
        lambda s: f"/v1/versions/{s.version}/documents",
        lambda s: {
            "kind": "methodology",
            "filename": "m.txt",
            "media_type": "text/plain",
            "content_b64": base64.b64encode(b"notes").decode(),
        },
        (401, 401, 403, 403, 201, 403),
    ),
    ("GET", "/v1/documents/{document_id}"): (
        lambda s: f"/v1/documents/{s.document}",
        None,
        PUBLIC,
    ),
    ("GET", "/v1/services"): (lambda s: "/v1/services", None, PUBLIC),
    ("POST", "/v1/services"): (
        lambda s: "/v1/services",
        lambda s: {"name": "another", "tiers": ["black"]},
        (401, 401, 201, 403, 403, 201),
    ),
    ("GET", "/v1/services/{service_id}"): (
        lambda s: f"/v1/services/{s.service}",
        None,
        PUBLIC,
    ),
    ("POST", "/v1/services/{service_id}/withdraw"): (
        lambda s: f"/v1/services/{s.service}/withdraw",
        None,
        (401, 401, 403, 403, 403, 200),
    ),
    ("GET", "/v1/engagements"): (lambda s: "/v1/engagements", None, SIGNED_IN),
    ("POST", "/v1/engagements"): (
        lambda s: "/v1/engagements",
        lambda s: {"service_id": s.service, "version_id": s.version, "scope": {"tier": "grey"}},
        (401, 401, 403, 403, 201, 403),
    ),
    ("GET", "/v1/engagements/{engagement_id}"): (
        lambda s: f"/v1/engagements/{s.engagements['requested']}",
        None,
        (401, 401, 404, 404, 200, 200),
    ),
    ("POST", "/v1/engagements/{engagement_id}/accept"): (
        lambda s: f"/v1/engagements/{s.engagements['requested']}/accept",
        lambda s: {},
        (401, 401, 404, 404, 403, 200),
    ),
    ("POST", "/v1/engagements/{engagement_id}/decline"): (
        lambda s: f"/v1/engagements/{s.engagements['requested']}/decline",
        lambda s: {},
        (401, 401, 404, 404, 403, 200),
    ),
    ("POST", "/v1/engagements/{engagement_id}/start"): (
        lambda s: f"/v1/engagements/{s.engagements['access_granted']}/start",
        lambda s: {},
        (401, 401, 404, 404, 403, 200),
    ),
    ("POST", "/v1/engagements/{engagement_id}/close"): (
        lambda s: f"/v1/engagements/{s.engagements['reported']}/close",
        lambda s: {},
        (401, 401, 404, 404, 200, 409),
    ),
    ("POST", "/v1/engagements/{engagement_id}/cancel"): (
        lambda s: f"/v1/engagements/{s.engagements['testing']}/cancel",
        lambda s: {},
        (401, 401, 404, 404, 200, 409),
    ),
    ("POST", "/v1/engagements/{engagement_id}/access"): (
        lambda s: f"/v1/engagements/{s.engagements['accepted']}/access",
        Scenario.access_body,
        (401, 401, 404, 404, 201, 403),
    ),
    ("GET", "/v1/engagements/{engagement_id}/access"): (
        lambda s: f"/v1/engagements/{s.engagements['testing']}/access",
        None,
        (401, 401, 404, 404, 200, 200),
    ),
    ("POST", "/v1/engagements/{engagement_id}/submissions"): (
        lambda s: f"/v1/engagements/{s.engagements['testing']}/submissions",
        Scenario.submission_body,
        (401, 401, 404, 404, 403, 201),
    ),
    ("GET", "/v1/submissions"): (lambda s: "/v1/submissions", None, PUBLIC),
    ("GET", "/v1/submissions/{submission_id}"): (
        lambda s: f"/v1/submissions/{s.submission}",
        None,
        RESTRICTED_SUBMISSION,
    ),
    ("GET", "/v1/submissions/{submission_id}/attestation"): (
        lambda s: f"/v1/submissions/{s.submission}/attestation",
        None,
        RESTRICTED_SUBMISSION,
    ),
    ("GET", "/v1/submissions/{submission_id}/report"): (
        lambda s: f"/v1/submissions/{s.submission}/report",
        None,
        RESTRICTED_SUBMISSION,
    ),
    ("GET", "/v1/submissions/{submission_id}/proof"): (
        lambda s: f"/v1/submissions/{s.submission}/proof",
        None,
        RESTRICTED_SUBMISSION,
    ),
    ("POST", "/v1/submissions/{submission_id}/cosign"): (
        lambda s: f"/v1/submissions/{s.submission}/cosign",
        Scenario.cosign_body,
        (401, 401, 404, 403, 200, 403),
    ),
    ("POST", "/v1/submissions/{submission_id}/publish"): (
        lambda s: f"/v1/submissions/{s.submission}/publish",
        None,
        (401, 401, 404, 403, 403, 200),
    ),
    ("GET", "/v1/log"): (lambda s: "/v1/log", None, PUBLIC),
    ("GET", "/v1/log/checkpoint"): (lambda s: "/v1/log/checkpoint", None, PUBLIC),
    ("GET", "/v1/log/entries"): (lambda s: "/v1/log/entries", None, PUBLIC),
    ("GET", "/v1/log/proofs/inclusion"): (
        lambda s: "/v1/log/proofs/inclusion?index=0",
        None,
        PUBLIC,
    ),
    ("GET", "/v1/log/proofs/consistency"): (
        lambda s: "/v1/log/proofs/consistency?first=1",
        None,
        PUBLIC,
    ),
    # the OpenAPI document is static: it resolves no principal
    ("GET", "/v1/openapi.json"): (lambda s: "/v1/openapi.json", None, (200,) * 6),
}


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every endpoint of an app, also inside included routers."""
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI keeps included routers whole
            inner = prefix + getattr(route.include_context, "prefix", "")
            yield from _walk(route.original_router.routes, inner)
        else:
            yield prefix + route.path, route


def _app_routes() -> set[tuple[str, str]]:
    app = create_app(build_state(RegistryConfig(database_url="sqlite://", clock=ManualClock())))
    found = set()
    for path, route in _walk(app.routes):
        assert isinstance(route, APIRoute) or path == "/v1/openapi.json", path
        for method in (getattr(route, "methods", None) or set()) - {"HEAD", "OPTIONS"}:
            found.add((method, path))
    assert len(found) > 40
    return found


def test_every_route_has_a_matrix_entry() -> None:
    from tests.registry.test_authorization_findings import MATRIX as DISCLOSURE_MATRIX

    routes = _app_routes()
    entries = set(MATRIX) | set(DISCLOSURE_MATRIX)
    assert not set(MATRIX) & set(DISCLOSURE_MATRIX), "a route in both matrices"
    assert routes - entries == set(), "routes without an authorisation matrix entry"
    assert entries - routes == set(), "matrix entries for routes that do not exist"


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_answers_each_role_as_the_policy_says(
    world: World, tmp_path: Path, route: tuple[str, str]
) -> None:
    publish_keys(world, "tester", "tester")
    publish_keys(world, "other_tester", "other")
    publish_keys(world, "developer", "gateway")
    scenario = build_scenario(world, tmp_path)
    make_path, make_body, expected = MATRIX[route]
    method = route[0]
    got = []
    for role in ORDER:
        body = make_body(scenario) if make_body is not None else None
        if method == "POST" and body is None:
            body = {}
        response = world.call(role, method, make_path(scenario), body)
        got.append(response.status_code)
        if response.status_code >= 400:
            assert "error" in response.json(), response.text
    assert dict(zip(ORDER, got, strict=True)) == dict(zip(ORDER, expected, strict=True))
