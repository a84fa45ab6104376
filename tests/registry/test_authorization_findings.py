"""The authorisation matrix of the disclosure routes and the web pages, as
:mod:`test_authorization` has it for the rest: every route, called by the developer,
the finding's tester, another tester, the notified authority, the public and a
revoked token, answers exactly the promised status (in the same role order; refused
calls change nothing, the permitted ones run last). One world per backend serves every
route: each route gets fresh findings."""

from __future__ import annotations

import base64
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from assay.registry import sweep
from tests.registry._findings_flow import (
    disclosure_world,
    file_finding,
    finding_body,
    open_my_box,
    reproduction,
    step,
)
from tests.registry._flows import request_engagement
from tests.registry.conftest import (
    World,
    build_world,
    drop_postgres_database,
    fresh_postgres_database,
)
from tests.registry.test_authorization import ORDER

_counter = itertools.count()


@dataclass
class Form:
    """A form body (the pages), rather than JSON."""

    data: dict[str, str]


@dataclass
class Disclosure:
    world: World
    version: int
    engagement: int
    webhook: int
    published: int
    published_plaintext: bytes

    def fresh(self, state: str = "filed", *, with_reproduction: bool = True) -> int:
        tag = f"m{next(_counter)}"
        fid = file_finding(
            self.world,
            self.version,
            tag,
            national_security=True,
            with_reproduction=with_reproduction,
        )["id"]
        if state == "fix_claimed":
            step(self.world, "developer", fid, "claim-fix")
        if state == "proposed":
            step(self.world, "developer", fid, "propose-extension", days=7)
        return int(fid)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def disclosure(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Disclosure]:
    home = tmp_path_factory.mktemp("authz-home")
    previous = os.environ.get("ASSAY_HOME")
    os.environ["ASSAY_HOME"] = str(home)
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('authz') / 'registry.sqlite'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url, name = fresh_postgres_database(server)
    world = build_world(url, home)
    try:
        setup = disclosure_world(world)
        vid = setup["version"]["id"]
        eid = request_engagement(world, vid, setup["service"]["id"])["id"]
        hook = world.ok("developer", "POST", "/v1/webhooks", {"url": "https://hooks.example/z"})
        published = file_finding(world, vid, "pub", national_security=True)["id"]
        plaintext = open_my_box(world, "tester", published)
        world.clock.advance(timedelta(days=91))
        sweep(world.state)
        yield Disclosure(world, vid, eid, hook["id"], published, plaintext)
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


D = Disclosure
Path_ = Callable[[D], str]
Body = Callable[[D], Any] | None

# statuses in ORDER: revoked, public, other_tester, authority, developer, tester
PUBLIC = (401, 200, 200, 200, 200, 200)
SIGNED_IN = (401, 401, 200, 200, 200, 200)
PARTIES = (401, 404, 404, 200, 200, 200)  # a national-security finding's parties
DEVELOPER_STEP = (401, 401, 404, 403, 200, 403)
TESTER_STEP = (401, 401, 404, 403, 403, 200)


def _finding_form(d: D) -> Form:
    return Form(
        {
            "version_id": str(d.version),
            "title": "Filed in the browser",
            "summary": "A placeholder summary.",
            "description": "A placeholder description.",
            "risk_area": "misuse_safeguards",
            "severity": "low",
            "prevalence_category": "rare",
            "detection_tier": "black",
            "detection_technique": "manual red-teaming",
        }
    )


def _release_body(d: D) -> dict[str, str]:
    return {"material_b64": base64.b64encode(d.published_plaintext).decode()}


def _attach_body(d: D) -> dict[str, Any]:
    sealed, _ = reproduction(d.world, d.version, "attach", True)
    return sealed


MATRIX: dict[tuple[str, str], tuple[Path_, Body, tuple[int, ...]]] = {
    ("GET", "/v1/findings"): (lambda d: "/v1/findings", None, PUBLIC),
    ("GET", "/v1/findings/recipients"): (
        lambda d: f"/v1/findings/recipients?version_id={d.version}&risk_area=misuse_safeguards",
        None,
        (401, 401, 200, 403, 403, 200),
    ),
    ("POST", "/v1/findings"): (
        lambda d: "/v1/findings",
        lambda d: finding_body(d.version, f"new{next(_counter)}"),
        (401, 401, 201, 403, 403, 201),  # independent research: any testing organisation
    ),
    ("GET", "/v1/findings/{finding_id}"): (lambda d: f"/v1/findings/{d.fresh()}", None, PARTIES),
    ("GET", "/v1/findings/{finding_id}/proof"): (
        lambda d: f"/v1/findings/{d.published}/proof",
        None,
        PUBLIC,
    ),
    ("GET", "/v1/findings/{finding_id}/reproduction"): (
        lambda d: f"/v1/findings/{d.fresh()}/reproduction",
        None,
        PARTIES,
    ),
    ("POST", "/v1/findings/{finding_id}/acknowledge"): (
        lambda d: f"/v1/findings/{d.fresh()}/acknowledge",
        lambda d: {},
        DEVELOPER_STEP,
    ),
    ("POST", "/v1/findings/{finding_id}/dispute"): (
        lambda d: f"/v1/findings/{d.fresh()}/dispute",
        lambda d: {"reason": "not reproducible here"},
        DEVELOPER_STEP,
    ),
    ("POST", "/v1/findings/{finding_id}/claim-fix"): (
        lambda d: f"/v1/findings/{d.fresh()}/claim-fix",
        lambda d: {},
        DEVELOPER_STEP,
    ),
    ("POST", "/v1/findings/{finding_id}/confirm-fix"): (
        lambda d: f"/v1/findings/{d.fresh('fix_claimed')}/confirm-fix",
        lambda d: {},
        TESTER_STEP,
    ),
    ("POST", "/v1/findings/{finding_id}/reject-fix"): (
        lambda d: f"/v1/findings/{d.fresh('fix_claimed')}/reject-fix",
        lambda d: {"reason": "still answers"},
        TESTER_STEP,
    ),
    ("POST", "/v1/findings/{finding_id}/propose-extension"): (
        lambda d: f"/v1/findings/{d.fresh()}/propose-extension",
        lambda d: {"days": 5},
        (401, 401, 404, 403, 200, 200),
    ),
    ("POST", "/v1/findings/{finding_id}/agree-extension"): (
        lambda d: f"/v1/findings/{d.fresh('proposed')}/agree-extension",
        lambda d: {},
        (401, 401, 404, 403, 409, 200),  # the proposer cannot agree with itself
    ),
    ("POST", "/v1/findings/{finding_id}/reproduction"): (
        lambda d: f"/v1/findings/{d.fresh(with_reproduction=False)}/reproduction",
        _attach_body,
        TESTER_STEP,
    ),
    ("POST", "/v1/findings/{finding_id}/reproduction/release"): (
        lambda d: f"/v1/findings/{d.published}/reproduction/release",
        _release_body,
        (401, 401, 403, 403, 403, 200),
    ),
    ("GET", "/v1/webhooks"): (lambda d: "/v1/webhooks", None, SIGNED_IN),
    ("POST", "/v1/webhooks"): (
        lambda d: "/v1/webhooks",
        lambda d: {"url": "https://hooks.example/new"},
        (401, 401, 201, 201, 201, 201),
    ),
    ("POST", "/v1/webhooks/{webhook_id}/disable"): (
        lambda d: f"/v1/webhooks/{d.webhook}/disable",
        None,
        (401, 401, 404, 404, 200, 404),
    ),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): (
        lambda d: f"/v1/webhooks/{d.webhook}/deliveries",
        None,
        (401, 401, 404, 404, 200, 404),
    ),
    # ---- pages and the feed ------------------------------------------------------------
    ("GET", "/feed.atom"): (lambda d: "/feed.atom", None, PUBLIC),
    ("GET", "/static/registry.css"): (lambda d: "/static/registry.css", None, (200,) * 6),
    ("GET", "/"): (lambda d: "/", None, PUBLIC),
    ("GET", "/versions/{version_id}"): (lambda d: f"/versions/{d.version}", None, PUBLIC),
    ("GET", "/orgs"): (lambda d: "/orgs", None, PUBLIC),
    ("GET", "/orgs/{slug}"): (lambda d: "/orgs/lab", None, PUBLIC),
    ("GET", "/log"): (lambda d: "/log", None, PUBLIC),
    ("GET", "/log/entries/{index}"): (lambda d: "/log/entries/0", None, PUBLIC),
    ("GET", "/log/consistency"): (lambda d: "/log/consistency?first=1", None, PUBLIC),
    ("GET", "/findings"): (lambda d: "/findings", None, PUBLIC),
    ("GET", "/inbox"): (lambda d: "/inbox", None, SIGNED_IN),
    ("GET", "/findings/new"): (lambda d: "/findings/new", None, (401, 401, 200, 403, 403, 200)),
    ("POST", "/findings/new"): (
        lambda d: "/findings/new",
        _finding_form,
        (401, 401, 303, 403, 403, 303),
    ),
    ("GET", "/findings/{finding_id}"): (lambda d: f"/findings/{d.fresh()}", None, PARTIES),
    ("POST", "/findings/{finding_id}/steps/{name}"): (
        lambda d: f"/findings/{d.fresh()}/steps/acknowledge",
        lambda d: Form({"reason": "seen"}),
        (401, 401, 404, 403, 303, 403),
    ),
    ("GET", "/engagements"): (lambda d: "/engagements", None, SIGNED_IN),
    ("GET", "/engagements/{engagement_id}"): (
        lambda d: f"/engagements/{d.engagement}",
        None,
        (401, 401, 404, 404, 200, 200),
    ),
    ("GET", "/login"): (lambda d: "/login", None, PUBLIC),
    # a bearer token needs no log-in form, and the form without its cookie is refused
    ("POST", "/login"): (
        lambda d: "/login",
        lambda d: Form({"user": "admin@acme", "password": "x" * 12, "csrf": "forged"}),
        (401, 403, 403, 403, 403, 403),
    ),
    ("POST", "/logout"): (lambda d: "/logout", lambda d: Form({}), (401, 303, 303, 303, 303, 303)),
}


def _call(world: World, role: str, method: str, path: str, body: Any) -> Any:
    kwargs: dict[str, Any] = {"headers": world.as_(role), "follow_redirects": False}
    if isinstance(body, Form):
        kwargs["data"] = body.data
    elif body is not None:
        kwargs["json"] = body
    elif method == "POST":
        kwargs["json"] = {}
    return world.client.request(method, path, **kwargs)


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_answers_each_role_as_the_policy_says(
    disclosure: Disclosure, route: tuple[str, str]
) -> None:
    make_path, make_body, expected = MATRIX[route]
    path = make_path(disclosure)
    got = []
    for role in ORDER:
        body = make_body(disclosure) if make_body is not None else None
        response = _call(disclosure.world, role, route[0], path, body)
        got.append(response.status_code)
        if response.status_code >= 400 and route[1].startswith("/v1/"):
            assert "error" in response.json(), response.text
        # a refusal says nothing of the finding
        if response.status_code in (401, 403, 404, 409):
            assert "FULL-" not in response.text and "SUMMARY-m" not in response.text
    assert dict(zip(ORDER, got, strict=True)) == dict(zip(ORDER, expected, strict=True))


_ = Path
