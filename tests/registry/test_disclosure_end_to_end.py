"""Coordinated disclosure's "done when", on PostgreSQL with real HTTP between separate
processes and the pages driven in headless Chromium.

A registry process (on a clock the test moves through a file), the parties' command
lines, two webhook receivers and a browser: a tester files a national-security finding
with sealed reproduction material; the developer and the configured authority see it in
their inboxes at once and receive signed webhooks; the public scorecard and the feed
show nothing; the developer claims a fix and the tester confirms it in the browser;
after the grace period the public sees the summary but never the reproduction; the
publication is in the transparency log and its inclusion proof verifies. A second
finding without a fix is published by the clock when its embargo ends, later by the
extension both parties agreed to. The screenshots in docs/ come from this test
(``ASSAY_UPDATE_SCREENSHOTS=1`` writes them there).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from assay.attest import verify_log_proof
from assay.registry import OrgKind, Role, seal
from tests.registry._flows import FINGERPRINT, audit_folder
from tests.registry.test_end_to_end import Party, _port, _wait, postgres_db, processes
from tests.registry.test_webhooks import Receiver

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PASSWORDS = {"acme": "acme password 123", "lab": "lab password 1234", "aisi": "aisi password 123"}
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ = (postgres_db, processes)  # fixtures


class Clock:
    """The registry's time, in a file every registry process reads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.set(START)

    def set(self, moment: datetime) -> None:
        self.now = moment
        self.path.write_text(moment.isoformat())

    def advance(self, delta: timedelta) -> None:
        self.set(self.now + delta)


def _python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.registry._clocked", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _until(what: str, check: Any, timeout: float = 30) -> Any:
    """Wait for something another process does in the background (webhook delivery)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _shot(page: Any, tmp: Path, name: str) -> None:
    path = tmp / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("ASSAY_UPDATE_SCREENSHOTS"):
        shutil.copy(path, DOCS / f"{name}.png")


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    found = {"acme": Receiver(), "aisi": Receiver()}
    for r in found.values():
        r.start()
    yield found
    for r in found.values():
        r.stop()


def _bootstrap(url: str) -> dict[str, str]:
    """Organisations, users with passwords and admin tokens, on the database."""
    from assay.registry._auth import add_user, create_org, issue_token, set_password
    from assay.registry._db import open_database, session_factory

    engine = open_database(url)
    tokens = {}
    with session_factory(engine)() as session:
        now = START
        for slug, kind in (("acme", "developer"), ("lab", "tester"), ("aisi", "authority")):
            create_org(session, slug, kind=OrgKind(kind), name=None, jurisdiction="EU", now=now)
            user = add_user(session, slug, f"admin@{slug}", role=Role.ADMIN, now=now)
            set_password(session, user.name, PASSWORDS[slug])
            tokens[slug] = issue_token(
                session, user, scopes=["submit", "admin"], expires_in=None, label=None, now=now
            ).secret
        session.commit()
    engine.dispose()
    return tokens


def _login(browser: Any, registry: str, user: str, password: str) -> Any:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.goto(f"{registry}/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{registry}/inbox")
    return page


@pytest.mark.slow
def test_a_national_security_finding_from_filing_to_publication(
    tmp_path: Path,
    postgres_db: str,
    processes: list[subprocess.Popen[str]],
    chromium: Any,
    receivers: dict[str, Receiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # ---- the operator: organisations, users with passwords, tokens, settings ---------
    # (bootstrapping by command line is tested in test_end_to_end.py and test_cli.py;
    # here it is done on the database directly: the commands used are disclosure's)
    operator = Party(tmp_path / "operator")
    tokens = _bootstrap(postgres_db)
    settings = tmp_path / "registry.toml"
    settings.write_text(
        "[disclosure]\nembargo_days = 90\ngrace_days = 30\n"
        '[[disclosure.authorities]]\norg = "aisi"\njurisdictions = ["EU"]\n'
        "[webhooks]\nallow_private_addresses = true\n"
    )
    clock = Clock(tmp_path / "clock.txt")
    port = _port()
    registry = f"http://127.0.0.1:{port}"
    clocked = ["--db", postgres_db, "--clock", str(clock.path), "--config", str(settings)]
    env = dict(operator.env, PYTHONPATH=str(ROOT))
    processes.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.registry._clocked",
                "serve",
                *clocked,
                "--port",
                str(port),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    _wait(f"{registry}/v1/health", processes[-1])

    def party(slug: str) -> Party:
        return Party(
            tmp_path / slug, ASSAY_REGISTRY_URL=registry, ASSAY_REGISTRY_TOKEN=tokens[slug]
        )

    developer, tester, authority = party("acme"), party("lab"), party("aisi")
    public = httpx.Client(base_url=registry, timeout=30)
    api = {
        slug: httpx.Client(
            base_url=registry, timeout=30, headers={"Authorization": f"Bearer {tokens[slug]}"}
        )
        for slug in tokens
    }

    def ok(slug: str, method: str, path: str, body: Any = None) -> Any:
        response = api[slug].request(method, path, json=body)
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json()

    # ---- keys and webhooks by command line; a released version and a public audit -----
    developer.run("registry", "keys", "publish", "--signing-key", "gateway")
    tester.run("registry", "keys", "publish")
    authority.run("registry", "keys", "publish", "--signing-key", "authority")
    for slug, who in (("acme", developer), ("aisi", authority)):
        receivers[slug].secret = who.last_line("registry", "webhooks", "add", receivers[slug].url)
    model_id = ok("acme", "POST", "/v1/models", {"name": "acme-1"})["id"]
    version_id = str(
        ok(
            "acme",
            "POST",
            f"/v1/models/{model_id}/versions",
            {
                "version": "2026-03",
                "release_status": "api",
                "fingerprints": [{"algorithm": FINGERPRINT[0], "digest": FINGERPRINT[1]}],
            },
        )["id"]
    )
    service = ok(
        "lab",
        "POST",
        "/v1/services",
        {"name": "Misuse audit", "tiers": ["grey"], "suites": ["toy_suite"], "plans": ["quick"]},
    )
    engagement = str(
        ok(
            "acme",
            "POST",
            "/v1/engagements",
            {
                "service_id": service["id"],
                "version_id": int(version_id),
                "scope": {"tier": "grey", "suites": ["toy_suite"], "plan": "quick"},
            },
        )["id"]
    )
    ok("lab", "POST", f"/v1/engagements/{engagement}/accept", {})
    key = next(k for k in ok("lab", "GET", "/v1/orgs/lab/keys") if k["kind"] == "sealing")
    sealed = seal(base64.b64decode(key["public_key"]), b"asy_placeholder_token")
    ok(
        "acme",
        "POST",
        f"/v1/engagements/{engagement}/access",
        {
            "gateway_url": "http://gateway.invalid/v1",
            "tier": "grey",
            "recipient_key_id": key["id"],
            "sealed_token_b64": base64.b64encode(sealed).decode(),
        },
    )
    ok("lab", "POST", f"/v1/engagements/{engagement}/start", {})
    with monkeypatch.context() as m:
        m.setenv("ASSAY_HOME", str(tester.home))  # the audit is signed with the tester's key
        envelope, report = audit_folder(tmp_path / "audit")
    submission = str(
        ok(
            "lab",
            "POST",
            f"/v1/engagements/{engagement}/submissions",
            {"attestation": envelope, "report": report, "visibility": "public"},
        )["id"]
    )

    # ---- the tester files a national-security finding ---------------------------------
    finding_file = tmp_path / "finding.json"
    finding_file.write_text(
        json.dumps(
            {
                "version_id": int(version_id),
                "engagement_id": int(engagement),
                "submission_id": int(submission),
                "title": "Safeguards give way to a placeholder jailbreak",
                "summary": "Under a role-play framing the model answers placeholder requests "
                "in the misuse category that it refuses otherwise.",
                "description": "EMBARGOED DETAIL: Step 1: obtain the placeholder reagent X.",
                "policy_violation": "answers requests its usage policy says it refuses",
                "risk_area": "misuse_safeguards",
                "severity": "critical",
                "national_security": True,
                "prevalence": {
                    "category": "common",
                    "submission_id": int(submission),
                    "suite": "toy_suite",
                    "metric": "accuracy",
                },
                "impacts": ["physical"],
                "impacted_stakeholders": ["general public"],
                "detection": {"tier": "grey", "technique": "jailbreak_robustness suite"},
            }
        )
    )
    repro = tmp_path / "repro.txt"
    repro.write_text("SECRET-REPRO: role-play prompt, placeholder only\n")
    first = tester.last_line(
        "registry", "findings", "file", str(finding_file), "--reproduction", str(repro)
    )

    # the developer and the authority are told at once, by signed webhooks
    for slug in ("acme", "aisi"):
        got = _until(f"{slug}'s webhook", lambda s=slug: receivers[s].processed)
        event = next(iter(got.values()))
        assert event["type"] == "finding.filed" and event["data"]["finding"]["id"] == int(first)
        assert event["data"]["finding"]["national_security"] is True

    # ... and see it in their inboxes, with its embargo timer and their steps
    dev_page = _login(chromium, registry, "admin@acme", PASSWORDS["acme"])
    inbox = dev_page.content()
    assert "Safeguards give way" in inbox and "publishes in 90 days" in inbox
    assert "Claim a fix" in inbox and "national security" in inbox
    _shot(dev_page, tmp_path, "registry-inbox")
    auth_page = _login(chromium, registry, "admin@aisi", PASSWORDS["aisi"])
    assert "Safeguards give way" in auth_page.content()
    auth_page.goto(f"{registry}/findings/{first}")
    assert "EMBARGOED DETAIL" in auth_page.content() and "aisi" in auth_page.content()

    # the public: nothing on the scorecard, in the feed, the findings or the API
    anonymous = chromium.new_context(viewport={"width": 1100, "height": 900})
    public_page = anonymous.new_page()
    public_page.goto(f"{registry}/versions/{version_id}")
    assert "Safeguards give way" not in public_page.content()
    assert "Safeguards give way" not in public.get("/feed.atom").text
    assert public.get(f"/v1/findings/{first}").status_code == 404

    # ---- the developer claims a fix, the tester confirms: in the browser -------------
    clock.advance(timedelta(days=20))  # browser sessions last 12 hours: sign in again
    dev_page = _login(chromium, registry, "admin@acme", PASSWORDS["acme"])
    dev_page.goto(f"{registry}/findings/{first}")
    dev_page.locator("#step-claim-fix textarea").fill("refusal training extended to role-play")
    dev_page.get_by_role("button", name="Claim a fix").click()
    dev_page.wait_for_url(f"{registry}/findings/{first}")
    assert "fix claimed" in dev_page.content()
    lab_page = _login(chromium, registry, "admin@lab", PASSWORDS["lab"])
    lab_page.goto(f"{registry}/findings/{first}")
    lab_page.locator("#step-confirm-fix textarea").fill("re-ran the suite: it refuses now")
    lab_page.get_by_role("button", name="Confirm the fix").click()
    lab_page.wait_for_url(f"{registry}/findings/{first}")
    assert "fix confirmed" in lab_page.content() and "publishes in 30 days" in lab_page.content()
    assert public.get(f"/v1/findings/{first}").status_code == 404

    # the grace period ends; a sweep (here a separate process) publishes it
    clock.advance(timedelta(days=30))
    swept = json.loads(_python("sweep", *clocked, env=env).stdout)
    published = public.get(f"/v1/findings/{first}")
    assert published.status_code == 200, swept
    shown = published.json()
    assert shown["sight"] == "summary" and shown["state"] == "published"
    public_page.goto(f"{registry}/findings/{first}")
    text = public_page.content()
    assert "role-play framing" in text and "EMBARGOED DETAIL" not in text
    assert "SECRET-REPRO" not in text
    assert public.get(f"/v1/findings/{first}/reproduction").status_code == 404
    assert "Safeguards give way" in public.get("/feed.atom").text
    # the recipients open the sealed material; it is what the tester sealed
    developer.run("registry", "findings", "open", first, "--out", str(tmp_path / "opened"))
    assert (tmp_path / "opened" / "repro.txt").read_text() == repro.read_text()

    # the publication is in the log; its inclusion proof verifies against the log key
    proof = public.get(f"/v1/findings/{first}/proof").json()
    log = public.get("/v1/log").json()
    verified = verify_log_proof(
        proof["proof"],
        proof["entry"].encode(),
        {log["key_id"]: load_pem_public_key(log["public_key"].encode())},
    )
    assert verified.leaf_index == proof["log_index"]
    checked = Party(tmp_path / "public").run(
        "registry", "findings", "verify", first, "--registry", registry
    )
    assert f"verified: finding #{first} published" in checked.stdout
    assert proof["record"]["published_at"].startswith(
        (START + timedelta(days=50)).date().isoformat()
    )

    # ---- a second finding: no fix; an extension both parties agreed to -----------------
    second_file = tmp_path / "second.json"
    body = json.loads(finding_file.read_text())
    body.update(
        title="Placeholder bias in hiring advice",
        summary="A placeholder summary of a discriminatory behaviour.",
        national_security=False,
        severity="medium",
        risk_area="harmful_discrimination",
        prevalence={"category": "rare"},
    )
    second_file.write_text(json.dumps(body))
    second = tester.last_line("registry", "findings", "file", str(second_file))
    developer.run("registry", "findings", "step", second, "acknowledge")
    developer.run(
        "registry",
        "findings",
        "step",
        second,
        "propose-extension",
        "--days",
        "14",
        "--reason",
        "retraining takes longer",
    )
    tester.run("registry", "findings", "step", second, "agree-extension", "--reason", "agreed")
    clock.advance(timedelta(days=90))
    assert json.loads(_python("sweep", *clocked, env=env).stdout) == []
    assert public.get(f"/v1/findings/{second}").status_code == 404
    clock.advance(timedelta(days=14))
    # the sweep process and the registry's own worker race for it: one publishes it
    _python("sweep", *clocked, env=env)
    assert public.get(f"/v1/findings/{second}").status_code == 200
    entries = public.get("/v1/log/entries", params={"limit": 1000}).json()
    publications = [
        e for e in entries if e["subject_type"] == "finding" and e["subject_id"] == int(second)
    ]
    assert len(publications) == 1
    later = public.get(f"/v1/findings/{second}").json()
    assert [e["action"] for e in later["trail"]] == [
        "filed",
        "acknowledged",
        "extension_proposed",
        "extended",
        "published",
    ]

    # ---- the pages the docs show, and readable on a phone ------------------------------
    public_page.goto(f"{registry}/versions/{version_id}")
    scorecard = public_page.content()
    assert "<svg" in scorecard and "Safeguards give way" in scorecard
    _shot(public_page, tmp_path, "registry-scorecard")
    public_page.goto(f"{registry}/log")
    assert "Transparency log" in public_page.content()
    _shot(public_page, tmp_path, "registry-log")
    phone = chromium.new_context(viewport={"width": 400, "height": 800}).new_page()
    for path in (f"/versions/{version_id}", "/log", f"/findings/{first}", "/findings"):
        phone.goto(f"{registry}{path}")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, (path, width)

    # every delivery verified (the receivers refuse others), each event once per receiver
    for slug, receiver in receivers.items():
        assert len(receiver.received) == len(set(receiver.received)) >= 1, slug
    types = [e["type"] for e in receivers["aisi"].processed.values()]
    assert types[:3] == ["finding.filed", "finding.fix_claimed", "finding.fix_confirmed"]
