"""The web pages and the feed: signing in (argon2 passwords, rate-limited), browser
sessions (cookie flags, CSRF on every unsafe request), forms that file and act on
findings, the scorecard with the report's figure, the log browser's proofs, the Atom
feed read by an independent parser, and the basics of accessibility."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.registry import create_app, sweep
from assay.registry._auth import LOGIN_ATTEMPTS, set_password
from tests.registry._findings_flow import disclosure_world, file_finding
from tests.registry._flows import audit_folder, grant, request_engagement
from tests.registry.conftest import World

PASSWORD = "correct horse battery staple"


def _password(world: World, user: str) -> None:
    with world.state.sessions() as session:
        set_password(session, user, PASSWORD)
        session.commit()


def _browser(world: World, base_url: str = "http://testserver") -> TestClient:
    return TestClient(create_app(world.state), base_url=base_url, follow_redirects=False)


def _login(client: TestClient, user: str, password: str = PASSWORD) -> Any:
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/login",
        data={"user": user, "password": password, "csrf": token.group(1), "next": "/inbox"},
    )


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None and found.group(1)
    return found.group(1)


def test_signing_in_makes_a_session_with_safe_cookies(world: World) -> None:
    _password(world, "admin@acme")
    browser = _browser(world)
    response = _login(browser, "admin@acme")
    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    cookie = response.headers["set-cookie"]
    assert "assay_session=ass_" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback
    inbox = browser.get("/inbox")
    assert inbox.status_code == 200 and "Signed in for <strong>acme</strong>" in inbox.text
    whoami = browser.get("/v1/whoami").json()
    assert whoami["org"] == "acme" and whoami["token_id"] is None
    # behind TLS the cookie is Secure
    secure = _browser(world, "https://registry.example")
    assert "Secure" in _login(secure, "admin@acme").headers["set-cookie"]
    # a session lasts 12 hours
    world.clock.advance(timedelta(hours=12, seconds=1))
    assert browser.get("/inbox").status_code == 401


def test_wrong_passwords_are_refused_and_then_rate_limited(world: World) -> None:
    _password(world, "admin@acme")
    browser = _browser(world)
    for _ in range(LOGIN_ATTEMPTS):
        refused = _login(browser, "admin@acme", "wrong password!")
        assert refused.status_code == 401 and "wrong user name or password" in refused.text
    limited = _login(browser, "admin@acme")  # even the right password, for a while
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert _login(browser, "nobody@example", "whatever").status_code == 401
    world.clock.advance(timedelta(minutes=16))
    assert _login(browser, "admin@acme").status_code == 303


def test_passwords_are_stored_as_argon2id_hashes(world: World) -> None:
    from argon2 import PasswordHasher

    from assay._util.errors import UsageError
    from assay.registry._db import User

    _password(world, "admin@lab")
    with world.state.sessions() as session:
        from sqlalchemy import select

        stored = session.scalar(select(User.password_hash).where(User.name == "admin@lab"))
        with pytest.raises(UsageError, match="at least 12"):
            set_password(session, "admin@lab", "short")
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)


def test_every_unsafe_session_request_needs_the_csrf_token(world: World) -> None:
    setup = disclosure_world(world)
    fid = file_finding(world, setup["version"]["id"], "csrf")["id"]
    _password(world, "admin@acme")
    browser = _browser(world)
    _login(browser, "admin@acme")
    page = browser.get(f"/findings/{fid}")
    token = _csrf(page.text)
    # without the token, a form post and an API call are refused and change nothing
    forged = browser.post(f"/findings/{fid}/steps/acknowledge", data={"reason": "x"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    api = browser.post(f"/v1/findings/{fid}/acknowledge", json={})
    assert api.status_code == 403
    assert world.ok("developer", "GET", f"/v1/findings/{fid}")["state"] == "filed"
    done = browser.post(
        f"/findings/{fid}/steps/acknowledge", data={"reason": "seen", "csrf": token}
    )
    assert done.status_code == 303
    header = browser.post(
        f"/v1/findings/{fid}/propose-extension", json={"days": 3}, headers={"X-CSRF-Token": token}
    )
    assert header.status_code == 200
    shown = world.ok("developer", "GET", f"/v1/findings/{fid}")
    assert [e["action"] for e in shown["trail"]][-2:] == ["acknowledged", "extension_proposed"]
    # signing out ends the session: the cookie no longer signs in
    assert browser.post("/logout", data={"csrf": token}).status_code == 303
    browser.cookies.clear()
    stale = _browser(world)
    stale.cookies.set("assay_session", "ass_0000_nothing")
    assert stale.get("/inbox").status_code == 401


def test_a_tester_files_a_finding_through_the_form(world: World) -> None:
    setup = disclosure_world(world)
    _password(world, "admin@lab")
    browser = _browser(world)
    _login(browser, "admin@lab")
    form = browser.get("/findings/new")
    assert form.status_code == 200
    token = _csrf(form.text)
    fields = {
        "csrf": token,
        "version_id": str(setup["version"]["id"]),
        "title": "Filed from the page",
        "summary": "A placeholder summary.",
        "description": "A placeholder description.",
        "risk_area": "misuse_safeguards",
        "severity": "medium",
        "national_security": "on",
        "prevalence_category": "rare",
        "prevalence_rate": "0.1",
        "prevalence_low": "0.2",
        "prevalence_high": "0.3",
        "detection_tier": "grey",
        "detection_technique": "manual red-teaming",
    }
    bad = browser.post("/findings/new", data=fields)
    assert bad.status_code == 422 and "outside its interval" in bad.text
    assert 'value="Filed from the page"' in bad.text  # what was typed is kept
    fields["prevalence_rate"] = "0.25"
    made = browser.post("/findings/new", data=fields)
    assert made.status_code == 303
    page = browser.get(made.headers["location"])
    assert "Filed from the page" in page.text and "aisi" in page.text
    dev = world.ok("developer", "GET", "/v1/findings")["items"]
    assert [f["title"] for f in dev] == ["Filed from the page"] and dev[0]["national_security"]


def _published_scene(world: World, tmp_path: Path) -> dict[str, Any]:
    setup = disclosure_world(world)
    vid = setup["version"]["id"]
    eid = request_engagement(world, vid, setup["service"]["id"])["id"]
    world.ok("tester", "POST", f"/v1/engagements/{eid}/accept", {})
    grant(world, eid)
    world.ok("tester", "POST", f"/v1/engagements/{eid}/start", {})
    envelope, report = audit_folder(tmp_path / "audit")
    sid = world.ok(
        "tester",
        "POST",
        f"/v1/engagements/{eid}/submissions",
        {"attestation": envelope, "report": report, "visibility": "public"},
    )["id"]
    published = file_finding(world, vid, "pub")["id"]
    world.clock.advance(timedelta(days=91))
    sweep(world.state)
    embargoed = file_finding(world, vid, "emb")["id"]
    return {"version": vid, "submission": sid, "published": published, "embargoed": embargoed}


def test_the_feed_is_valid_atom_with_published_findings_only(world: World, tmp_path: Path) -> None:
    import feedparser

    scene = _published_scene(world, tmp_path)
    response = world.call("public", "GET", "/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert [e.link for e in parsed.entries] == [f"http://testserver/findings/{scene['published']}"]
    entry = parsed.entries[0]
    assert entry.title == "Title pub" and entry.summary.startswith("acme-1 1.0 (acme): SUMMARY-pub")
    assert {t.term for t in entry.tags} == {"misuse_safeguards", "severity:high"}
    assert entry.published_parsed is not None and entry.author == "lab"
    assert "emb" not in response.text and "FULL-" not in response.text
    # a signed-in party gets the same public document
    assert world.call("developer", "GET", "/feed.atom").content == response.content


def test_the_scorecard_shows_levels_rates_intervals_and_the_reports_figure(
    world: World, tmp_path: Path
) -> None:
    scene = _published_scene(world, tmp_path)
    page = world.call("public", "GET", f"/versions/{scene['version']}").text
    assert "<svg" in page  # report.html's figure, drawn by assay.report
    assert "0.250 [0.200, 0.300]" in page  # the rate with its 95% interval
    assert f'href="/v1/submissions/{scene["submission"]}/attestation"' in page
    assert f'href="/v1/submissions/{scene["submission"]}/proof"' in page
    assert 'href="/orgs/lab"' in page and "lab</a>, grey" in page
    assert "Title pub" in page and "Title emb" not in page


def test_the_log_browser_checks_inclusion_and_consistency(world: World, tmp_path: Path) -> None:
    _published_scene(world, tmp_path)
    size = world.state.log.size
    assert size >= 3
    log = world.call("public", "GET", "/log").text
    assert world.state.log.origin in log and f"<dd>{size}</dd>" in log
    entry = world.call("public", "GET", f"/log/entries/{size - 1}").text
    assert "checked by this page" in entry and "publication of finding" in entry
    consistent = world.call("public", "GET", f"/log/consistency?first=1&second={size}").text
    assert "yes: the proof below checks" in consistent
    assert world.call("public", "GET", f"/log/consistency?first={size + 1}").status_code == 422
    assert world.call("public", "GET", f"/log/entries/{size}").status_code == 404


class _Audit(HTMLParser):
    """Collects what accessibility checks need from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _labelled(page: str) -> list[str]:
    """Form controls without a label: neither a <label for> nor a wrapping <label>."""
    parser = _Audit()
    parser.feed(page)
    labels = {a.get("for") for t, a in parser.tags if t == "label"}
    missing = []
    for tag, attrs in parser.tags:
        control = tag in ("input", "select", "textarea")
        kind = attrs.get("type")
        # a checkbox here sits inside its <label>
        if (
            control
            and kind not in ("hidden", "submit", "checkbox")
            and attrs.get("id") not in labels
        ):
            missing.append(attrs.get("name") or "?")
    return missing


def test_pages_have_landmarks_a_language_and_labelled_controls(
    world: World, tmp_path: Path
) -> None:
    scene = _published_scene(world, tmp_path)
    for who in ("public", "tester", "developer"):
        pages = [
            "/",
            f"/versions/{scene['version']}",
            "/orgs/lab",
            "/log",
            "/log/consistency?first=1",
            "/findings",
            "/login",
        ]
        if who != "public":
            pages += ["/inbox", f"/findings/{scene['embargoed']}", "/engagements"]
        if who == "tester":
            pages.append("/findings/new")
        for path in pages:
            page = world.call(who, "GET", path).text
            where = f"{who} {path}"
            assert '<html lang="en">' in page and '<main id="main"' in page, where
            assert '<nav aria-label="Main">' in page and '<header class="site">' in page, where
            assert page.count("<h1") == 1, where
            assert 'name="viewport"' in page, where
            assert _labelled(page) == [], where


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_have_at_least_aa_contrast() -> None:
    from assay.registry._web import STATIC

    css = (STATIC / "registry.css").read_text()
    colours = dict(re.findall(r"--([a-z]+):\s*(#[0-9a-f]{6});", css))
    text = ("ink", "muted", "link", "bad", "warn", "good")
    pairs = [(t, b) for t in text for b in ("paper", "band")] + [("paper", "link")]
    for fore, back in pairs:
        assert _contrast(colours[fore], colours[back]) >= 4.5, (fore, back)
    assert _contrast(colours["warn"], "#fff8e6") >= 4.5  # the notice box
    assert ":focus-visible" in css and "outline: 3px solid" in css


def test_a_reports_text_cannot_put_markup_on_the_scorecard(tmp_path: Path) -> None:
    """Suite titles come from the tester's report.json: the figure escapes them, and the
    pages forbid inline scripts whatever slips through."""
    import json

    from assay.registry._scorecard import _areas, figure
    from tests.attest._audit import make_report, write_samples

    write_samples(tmp_path / "samples.jsonl", 5)
    report = json.loads(make_report(tmp_path).model_dump_json())
    report["suites"][0]["title"] = "<script>alert(1)</script>"
    svg = figure("sha256:" + "1" * 64, report)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert _areas(report)[0].rates[0].title == "<script>alert(1)</script>"  # escaped by Jinja


def test_pages_forbid_inline_scripts_and_framing(world: World) -> None:
    policy = world.call("public", "GET", "/").headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy  # so scripts fall back to 'self': no inline ones


def test_the_scorecard_reads_each_risk_areas_level_from_the_report() -> None:
    from assay.registry._scorecard import _areas

    report = {
        "decision": {
            "risk_areas": [
                {
                    "risk_area": "misuse_safeguards",
                    "title": "Misuse safeguards",
                    "level": 2,
                    "level_name": "safeguards inadequate",
                    "settled": False,
                    "actions": ["deploy_with_safeguards"],
                }
            ]
        },
        "suites": [
            {
                "id": "misuse_refusal",
                "title": "Misuse refusal",
                "risk_area": "misuse_safeguards",
                "metrics": [
                    {
                        "name": "refusal_rate",
                        "value": 0.8,
                        "n": 50,
                        "ci": {"low": 0.67, "high": 0.89, "level": 0.95},
                    }
                ],
                "decision": {"outcome": "safeguard_inadequate"},
            },
            {"id": "other", "title": "Other", "risk_area": "election_integrity", "metrics": []},
        ],
    }
    first, second = _areas(report)
    assert (first.level, first.level_name, first.settled) == (2, "safeguards inadequate", False)
    assert first.actions == ["deploy with safeguards"]
    rate = first.rates[0]
    assert (rate.value, rate.low, rate.high, rate.n) == (0.8, 0.67, 0.89, 50)
    assert rate.outcome == "safeguard inadequate" and rate.metric == "refusal rate"
    assert second.risk_area == "election_integrity" and second.level is None and second.rates == []
