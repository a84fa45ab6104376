"""The visibility matrix: every GET route of the app (API, pages, feed) called by every
role, with findings in every state, on SQLite and PostgreSQL; each answer shows
exactly what the visibility function lets that role see of each finding — no
embargoed finding and no reproduction material anywhere else.

Each finding carries markers: its title (``Title <tag>.``) and public summary
(``SUMMARY-<tag>:``) may be shown to whoever sees its summary; its description
(``FULL-<tag>:``) and context (``CONTEXT-<tag>.``) to its parties only; its sealed
boxes to their recipients only, on the reproduction route; its plaintext to nobody
(released material only base64-encoded, on that route). A route added without an
entry in :data:`ROUTES` fails :func:`test_every_get_route_is_in_the_matrix`.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from assay.registry import ManualClock, RegistryConfig, build_state, create_app, sweep
from assay.registry._db import ReproductionBox
from tests.registry._findings_flow import (
    disclosure_world,
    finding_body,
    open_my_box,
    reproduction,
    step,
)
from tests.registry._flows import audit_folder, grant, request_engagement
from tests.registry.conftest import (
    World,
    build_world,
    drop_postgres_database,
    fresh_postgres_database,
)
from tests.registry.test_authorization import _walk

ROLES = ["developer", "tester", "other_tester", "authority", "other_authority", "public", "revoked"]
NONE, SUMMARY, FULL = 0, 1, 2
# (state, national security): one finding of each
STATES = [
    ("filed", True),
    ("acknowledged", False),
    ("disputed", True),
    ("fix_claimed", False),
    ("fix_confirmed", True),
    ("extended", False),
    ("published", True),
    ("released", False),  # published, its reproduction material released
]


@dataclass
class Case:
    tag: str
    id: int
    published: bool
    national_security: bool
    in_engagement: bool
    boxes: dict[str, str] = field(default_factory=dict)  # recipient org -> sealed b64
    plaintext: bytes = b""

    def markers(self) -> dict[str, str]:
        return {
            "T": f"Title {self.tag}.",
            "S": f"SUMMARY-{self.tag}:",
            "F": f"FULL-{self.tag}:",
            "C": f"CONTEXT-{self.tag}.",
        }


@dataclass
class Scene:
    world: World
    cases: list[Case]
    params: dict[str, list[str]]


ORG_OF = {
    "developer": "acme",
    "tester": "lab",
    "other_tester": "lab2",
    "authority": "aisi",
    "other_authority": "ukaisi",
}


def sight_of(role: str, case: Case) -> int:
    """What the policy promises, written out independently of the code under test."""
    if role == "revoked":
        return NONE
    if role in ("developer", "tester") or (role == "authority" and case.national_security):
        return FULL
    return SUMMARY if case.published else NONE


def _file(world: World, vid: int, tag: str, ns: bool, eid: int | None) -> Case:
    body = finding_body(vid, tag, national_security=ns, engagement_id=eid)
    body["title"] = f"Title {tag}."
    body["context_info"] = f"CONTEXT-{tag}."
    body["reproduction"], plaintext = reproduction(world, vid, tag, ns)
    fid = world.ok("tester", "POST", "/v1/findings", body)["id"]
    return Case(tag, fid, False, ns, eid is not None, plaintext=plaintext)


def build_scene(world: World, tmp: Path) -> Scene:
    setup = disclosure_world(world)
    vid = setup["version"]["id"]
    eid = request_engagement(world, vid, setup["service"]["id"])["id"]
    world.ok("tester", "POST", f"/v1/engagements/{eid}/accept", {})
    grant(world, eid)
    world.ok("tester", "POST", f"/v1/engagements/{eid}/start", {})
    envelope, report = audit_folder(tmp / "audit")
    sid = world.ok(
        "tester",
        "POST",
        f"/v1/engagements/{eid}/submissions",
        {"attestation": envelope, "report": report, "visibility": "public"},
    )["id"]
    hook = world.ok("developer", "POST", "/v1/webhooks", {"url": "https://hooks.example/a"})
    cases: dict[str, Case] = {}
    for state, ns in STATES:
        if state in ("published", "released"):
            cases[state] = _file(world, vid, f"v{state}", ns, None)
    world.clock.advance(timedelta(days=91))
    sweep(world.state)
    for state in ("published", "released"):
        cases[state].published = True
    released = cases["released"]
    opened = open_my_box(world, "tester", released.id)
    world.ok(
        "tester",
        "POST",
        f"/v1/findings/{released.id}/reproduction/release",
        {"material_b64": base64.b64encode(opened).decode()},
    )
    for state, ns in STATES:
        if state not in cases:
            cases[state] = _file(world, vid, f"v{state}", ns, eid if state == "filed" else None)
    c = {k: v.id for k, v in cases.items()}
    step(world, "developer", c["acknowledged"], "acknowledge")
    step(world, "developer", c["disputed"], "dispute")
    step(world, "developer", c["fix_claimed"], "claim-fix")
    step(world, "developer", c["fix_confirmed"], "claim-fix")
    step(world, "tester", c["fix_confirmed"], "confirm-fix")
    step(world, "developer", c["extended"], "propose-extension", days=10)
    step(world, "tester", c["extended"], "agree-extension")
    for state, case in cases.items():
        shown = world.ok("developer", "GET", f"/v1/findings/{case.id}")
        assert shown["state"] == ("published" if state == "released" else state)
    orgs = {o["slug"]: o for o in world.ok("public", "GET", "/v1/orgs?limit=200")["items"]}
    assert set(ORG_OF.values()) <= set(orgs)
    with world.state.sessions() as session:
        slug_of = {}
        from assay.registry._db import Organisation

        for org in session.scalars(select(Organisation)):
            slug_of[org.id] = org.slug
        for box in session.scalars(select(ReproductionBox)):
            case = next(x for x in cases.values() if x.id == box.finding_id)
            case.boxes[slug_of[box.recipient_org_id]] = base64.b64encode(box.sealed).decode()
    version = world.ok("public", "GET", f"/v1/versions/{vid}")
    params = {
        "version_id": [str(vid)],
        "model_id": [str(version["model_id"])],
        "document_id": [str(version["documents"][0]["id"])],
        "service_id": [str(setup["service"]["id"])],
        "engagement_id": [str(eid)],
        "submission_id": [str(sid)],
        "slug": ["lab", "acme", "aisi"],
        "webhook_id": [str(hook["id"])],
        "index": ["0", str(world.state.log.size - 1)],
        "finding_id": [str(x.id) for x in cases.values()],
    }
    return Scene(world, list(cases.values()), params)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scene(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scene]:
    home = tmp_path_factory.mktemp("visibility-home")
    previous = os.environ.get("ASSAY_HOME")
    os.environ["ASSAY_HOME"] = str(home)
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('vis') / 'registry.sqlite'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url, name = fresh_postgres_database(server)
    world = build_world(url, home)
    try:
        yield build_scene(world, home)
    finally:
        world.client.close()
        world.state.log.close()
        world.state.engine.dispose()
        if name is not None:
            drop_postgres_database(server, name)
        if previous is None:
            os.environ.pop("ASSAY_HOME", None)
        else:
            os.environ["ASSAY_HOME"] = previous


# ---- what each route shows of a finding ------------------------------------------------

Shows = Callable[[str, Case, dict[str, str]], set[str]]


def fields(level: int, which: str) -> set[str]:
    if level >= FULL:
        return set(which)
    if level == SUMMARY:
        return set(which) & {"T", "S"}
    return set()


def nothing(role: str, case: Case, args: dict[str, str]) -> set[str]:
    return set()


def in_full(role: str, case: Case, args: dict[str, str]) -> set[str]:
    return fields(sight_of(role, case), "TSFC")


def this_one(which: str, published_only: bool = False) -> Shows:
    def shows(role: str, case: Case, args: dict[str, str]) -> set[str]:
        if args.get("finding_id") != str(case.id):
            return set()
        if published_only and not case.published:
            return set()
        level = sight_of(role, case)
        return fields(min(level, SUMMARY) if published_only else level, which)

    return shows


def titles(published_only: bool = False, parties_only: bool = False) -> Shows:
    def shows(role: str, case: Case, args: dict[str, str]) -> set[str]:
        level = sight_of(role, case)
        if published_only and not case.published:
            return set()
        if parties_only and level < FULL:
            return set()
        return {"T"} if level >= SUMMARY else set()

    return shows


def org_titles(role: str, case: Case, args: dict[str, str]) -> set[str]:
    return titles()(role, case, args) if args.get("slug") in ("lab", "acme") else set()


def feed(role: str, case: Case, args: dict[str, str]) -> set[str]:
    return {"T", "S"} if case.published and role != "revoked" else set()


def engagement_titles(role: str, case: Case, args: dict[str, str]) -> set[str]:
    return (
        titles()(role, case, args)
        if case.in_engagement and role in ("developer", "tester")
        else set()
    )


ROUTES: dict[str, tuple[Shows, str]] = {
    # route -> (what it shows of each finding, a query string it needs)
    "/v1/openapi.json": (nothing, ""),
    "/v1/health": (nothing, ""),
    "/v1/whoami": (nothing, ""),
    "/v1/orgs": (nothing, ""),
    "/v1/orgs/{slug}": (nothing, ""),
    "/v1/orgs/{slug}/keys": (nothing, ""),
    "/v1/tokens": (nothing, ""),
    "/v1/models": (nothing, ""),
    "/v1/models/{model_id}": (nothing, ""),
    "/v1/versions/{version_id}": (nothing, ""),
    "/v1/documents/{document_id}": (nothing, ""),
    "/v1/services": (nothing, ""),
    "/v1/services/{service_id}": (nothing, ""),
    "/v1/engagements": (nothing, ""),
    "/v1/engagements/{engagement_id}": (nothing, ""),
    "/v1/engagements/{engagement_id}/access": (nothing, ""),
    "/v1/submissions": (nothing, ""),
    "/v1/submissions/{submission_id}": (nothing, ""),
    "/v1/submissions/{submission_id}/attestation": (nothing, ""),
    "/v1/submissions/{submission_id}/report": (nothing, ""),
    "/v1/submissions/{submission_id}/proof": (nothing, ""),
    "/v1/log": (nothing, ""),
    "/v1/log/checkpoint": (nothing, ""),
    "/v1/log/entries": (nothing, "?limit=1000"),
    "/v1/log/proofs/inclusion": (nothing, "?index=0"),
    "/v1/log/proofs/consistency": (nothing, "?first=1"),
    "/v1/findings/recipients": (
        nothing,
        "?version_id={version_id}&risk_area=misuse_safeguards&national_security=true",
    ),
    "/v1/findings": (in_full, "?limit=200"),
    "/v1/findings/{finding_id}": (this_one("TSFC"), ""),
    "/v1/findings/{finding_id}/proof": (this_one("TS", published_only=True), ""),
    "/v1/findings/{finding_id}/reproduction": (nothing, ""),
    "/v1/webhooks": (nothing, ""),
    "/v1/webhooks/{webhook_id}/deliveries": (nothing, ""),
    "/feed.atom": (feed, ""),
    "/static/registry.css": (nothing, ""),
    "/": (titles(published_only=True), ""),
    "/versions/{version_id}": (titles(), ""),
    "/orgs": (nothing, ""),
    "/orgs/{slug}": (org_titles, ""),
    "/log": (nothing, ""),
    "/log/entries/{index}": (nothing, ""),
    "/log/consistency": (nothing, "?first=1"),
    "/findings": (titles(published_only=True), ""),
    "/inbox": (titles(parties_only=True), ""),
    "/findings/new": (nothing, ""),
    "/findings/{finding_id}": (this_one("TSFC"), ""),
    "/engagements": (nothing, ""),
    "/engagements/{engagement_id}": (engagement_titles, ""),
    "/login": (nothing, ""),
}


def get_routes() -> set[str]:
    app = create_app(build_state(RegistryConfig(database_url="sqlite://", clock=ManualClock())))
    found = set()
    for path, route in _walk(app.routes):
        if "GET" in (getattr(route, "methods", None) or set()):
            found.add(path)
    return found


def test_every_get_route_is_in_the_matrix() -> None:
    routes = get_routes()
    assert routes - set(ROUTES) == set(), "GET routes without a visibility entry"
    assert set(ROUTES) - routes == set(), "visibility entries for routes that do not exist"


def _calls(scene: Scene, route: str) -> Iterator[tuple[str, dict[str, str]]]:
    names = [n for n in scene.params if "{" + n + "}" in route]
    combos: list[dict[str, str]] = [{}]
    for name in names:
        combos = [dict(c, **{name: v}) for c in combos for v in scene.params[name]]
    _, query = ROUTES[route]
    for args in combos:
        every = {k: v[0] for k, v in scene.params.items()} | args
        yield (route + query).format(**every), args


FINDING_ROUTES = {"/v1/findings/{finding_id}", "/findings/{finding_id}"}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_role_sees_exactly_what_the_policy_allows(scene: Scene, route: str) -> None:
    shows, _ = ROUTES[route]
    for path, args in _calls(scene, route):
        for role in ROLES:
            response = scene.world.call(role, "GET", path)
            body = response.text
            where = f"{role} GET {path} ({response.status_code})"
            assert response.status_code < 500, where
            if role == "revoked" and route not in ("/v1/openapi.json", "/static/registry.css"):
                assert response.status_code == 401, where
            for case in scene.cases:
                expected = shows(role, case, args)
                if route in FINDING_ROUTES and args["finding_id"] == str(case.id):
                    ok = response.status_code == 200
                    assert ok == (sight_of(role, case) > NONE), where
                for key, marker in case.markers().items():
                    assert (marker in body) == (key in expected), f"{where}: {key} of {case.tag}"
                # sealed boxes and plaintext never leave by any route but their own
                for box in case.boxes.values():
                    assert box not in body or route.endswith("/reproduction"), where
                assert case.plaintext.decode() not in body, where
                content = json.loads(case.plaintext)["content_b64"]
                assert content not in body and "REPRO-" not in body, where


def test_reproduction_material_reaches_its_recipients_only(scene: Scene) -> None:
    for case in scene.cases:
        released = case.tag == "vreleased"
        path = f"/v1/findings/{case.id}/reproduction"
        for role in ROLES:
            response = scene.world.call(role, "GET", path)
            org = ORG_OF.get(role)
            mine = org in case.boxes
            if role == "revoked":
                assert response.status_code == 401
                continue
            assert response.status_code == (200 if mine or released else 404), (role, case.tag)
            if response.status_code != 200:
                continue
            data = response.json()
            assert [b["recipient"] for b in data["boxes"]] == ([org] if mine else [])
            for recipient, box in case.boxes.items():
                assert (box in response.text) == (recipient == org), (role, case.tag)
            expected = base64.b64encode(case.plaintext).decode() if released else None
            assert data["released_b64"] == expected, (role, case.tag)
        # who got a box: the developer, the tester's own copy, and the authority only
        # for national-security findings
        assert set(case.boxes) == {"acme", "lab"} | ({"aisi"} if case.national_security else set())
