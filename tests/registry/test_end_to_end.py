"""The registry's "done when": separate processes talking real HTTP, on PostgreSQL.

A registry (`assay registry serve`), a developer's gateway (`assay gateway serve` on
a tiny random model), and the parties' command lines, each with its own ASSAY_HOME:
the developer registers a model version with its model card, the tester publishes a
service, the developer requests an engagement, the tester accepts, the developer
hands over a white-tier gateway token sealed to the tester's key, the tester runs
`assay audit --engagement ... --registry ...` against the gateway and submits, and a
third party with no account verifies the downloaded attestation with
`assay verify --registry URL`; a tampered copy and a copy signed by another
organisation's key are refused.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assay.testing import build_tiny_llama
from tests.registry.conftest import drop_postgres_database, fresh_postgres_database

ASSAY = str(Path(sys.executable).parent / "assay")
CARD = "# tiny-1 model card\n\nA placeholder card for a tiny random model.\n"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Party:
    """One party's command line: its own ASSAY_HOME and environment."""

    def __init__(self, home: Path, **env: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith("ASSAY_") or k == "ASSAY_DEBUG"
        }
        self.env.update({"ASSAY_HOME": str(home), "HF_HUB_OFFLINE": "1", **env})
        self.home = home

    def run(
        self, *args: str, ok: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [ASSAY, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if ok:
            assert result.returncode == 0, (
                f"assay {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def last_line(self, *args: str) -> str:
        return self.run(*args).stdout.strip().splitlines()[-1]

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [ASSAY, *args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )


def _wait(url: str, process: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited: {process.stderr.read() if process.stderr else ''}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not start")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def postgres_db(postgres_server: str) -> Iterator[str]:
    url, name = fresh_postgres_database(postgres_server)
    yield url
    drop_postgres_database(postgres_server, name)


@pytest.mark.slow
def test_engagement_audit_submission_and_public_verification(
    tmp_path: Path, postgres_db: str, processes: list[subprocess.Popen[str]]
) -> None:
    # ---- the registry, bootstrapped by its operator -------------------------------
    operator = Party(tmp_path / "operator")
    db = ["--db", postgres_db]
    for slug, kind in (("acme", "developer"), ("lab", "tester"), ("lab2", "tester")):
        operator.run("registry", "org", "create", slug, "--kind", kind, *db)
        operator.run("registry", "user", "add", slug, f"admin@{slug}", "--role", "admin", *db)
    tokens = {
        slug: operator.last_line(
            "registry",
            "token",
            "issue",
            "--user",
            f"admin@{slug}",
            "--scope",
            "submit",
            "--scope",
            "admin",
            *db,
        )
        for slug in ("acme", "lab", "lab2")
    }
    registry_port = _port()
    processes.append(operator.start("registry", "serve", *db, "--port", str(registry_port)))
    registry = f"http://127.0.0.1:{registry_port}"
    _wait(f"{registry}/v1/health", processes[-1])

    developer = Party(
        tmp_path / "developer", ASSAY_REGISTRY_URL=registry, ASSAY_REGISTRY_TOKEN=tokens["acme"]
    )
    tester = Party(
        tmp_path / "tester", ASSAY_REGISTRY_URL=registry, ASSAY_REGISTRY_TOKEN=tokens["lab"]
    )
    other = Party(
        tmp_path / "other", ASSAY_REGISTRY_URL=registry, ASSAY_REGISTRY_TOKEN=tokens["lab2"]
    )
    public = Party(tmp_path / "public")  # no account, no token

    # ---- the developer's gateway on a tiny random model ----------------------------
    model_dir = build_tiny_llama(tmp_path / "tiny-1")
    gateway_port = _port()
    processes.append(
        developer.start(
            "gateway", "serve", "--target", f"hf:{model_dir}", "--port", str(gateway_port)
        )
    )
    gateway = f"http://127.0.0.1:{gateway_port}/v1"
    _wait(f"{gateway}/models", processes[-1])

    # ---- developer: keys, model, version with its fingerprint and card ------------
    developer.run("registry", "keys", "publish", "--signing-key", "gateway")
    developer.run("registry", "models", "register", "tiny-1", "--description", "a tiny model")
    model_id = (
        developer.run("registry", "models", "list", "--developer", "acme")
        .stdout.split()[0]
        .lstrip("#")
    )
    version_out = developer.run(
        "registry",
        "models",
        "add-version",
        model_id,
        "1.0",
        "--release",
        "api",
        "--weights",
        str(model_dir),
        "--endpoint",
        gateway,
        "--served-name",
        "tiny-1",
    ).stdout
    version_id = version_out.split("#")[1].split()[0]
    card = tmp_path / "card.md"
    card.write_text(CARD)
    developer.run("registry", "models", "document", version_id, str(card), "--kind", "model_card")

    # ---- tester: keys and a service -------------------------------------------------
    tester.run("registry", "keys", "publish")
    service_id = (
        tester.run(
            "registry",
            "services",
            "publish",
            "Refusal audit",
            "--tier",
            "white",
            "--suite",
            "misuse_refusal",
            "--plan",
            "quick",
            "--price",
            "placeholder price",
        )
        .stdout.split("#")[1]
        .split()[0]
    )

    # ---- the engagement ------------------------------------------------------------
    engagement = developer.last_line(
        "registry",
        "engagements",
        "request",
        "--service",
        service_id,
        "--version",
        version_id,
        "--tier",
        "white",
        "--suite",
        "misuse_refusal",
        "--plan",
        "quick",
    )
    tester.run("registry", "engagements", "accept", engagement)
    gateway_token = developer.last_line(
        "gateway", "token", "issue", "--engagement", f"registry-{engagement}", "--tier", "white"
    )
    grant = subprocess.run(
        [
            ASSAY,
            "registry",
            "engagements",
            "grant",
            engagement,
            "--gateway",
            gateway,
            "--tier",
            "white",
        ],
        env={**developer.env, "ASSAY_GATEWAY_TOKEN": gateway_token},
        capture_output=True,
        text=True,
        check=False,
    )
    assert grant.returncode == 0, grant.stderr
    # the registry holds only the sealed token
    access = httpx.get(
        f"{registry}/v1/engagements/{engagement}/access",
        headers={"Authorization": f"Bearer {tokens['lab']}"},
    ).json()
    assert gateway_token.encode() not in base64.b64decode(access["sealed_token_b64"])

    # ---- tester: audit through the registry's engagement, then submit --------------
    out = tmp_path / "audit"
    tester.run(
        "audit",
        "--engagement",
        engagement,
        "--registry",
        registry,
        "--suite",
        "misuse_refusal",
        "--limit",
        "3",
        "--out",
        str(out),
        "--quiet",
        timeout=900,
    )
    predicate = json.loads(
        base64.b64decode(json.loads((out / "attestation.json").read_text())["payload"])
    )["predicate"]
    assert predicate["target"]["kind"] == "gateway" and predicate["tier"] == "white"
    submission = tester.last_line("registry", "submit", engagement, str(out), "--public")
    shown = json.loads(developer.run("registry", "show", "engagement", engagement).stdout)
    assert [h["to_state"] for h in shown["history"]] == [
        "requested",
        "accepted",
        "access_granted",
        "testing",
        "reported",
    ]

    # ---- a third party with no account -------------------------------------------
    download = tmp_path / "public-copy" / "attestation.json"
    download.parent.mkdir()
    public.run(
        "registry", "show", "attestation", submission, "--registry", registry, "-o", str(download)
    )
    verified = public.run("verify", str(download), "--registry", registry, "--no-suite-check")
    assert "verified" in verified.stdout and "log inclusion" in verified.stdout

    envelope = json.loads(download.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["decision"]["action"] = "deploy"
    tampered = tmp_path / "tampered" / "attestation.json"
    tampered.parent.mkdir()
    tampered.write_text(
        json.dumps(
            dict(envelope, payload=base64.b64encode(json.dumps(statement).encode()).decode())
        )
    )
    refused = public.run(
        "verify", str(tampered), "--registry", registry, "--no-suite-check", ok=False
    )
    assert refused.returncode == 1 and "error:" in refused.stderr

    # the same statement signed by another testing organisation's registered key
    other.run("registry", "keys", "publish", "--signing-key", "other")
    other.run(
        "attest", "cosign", str(download), "--key-name", "other", "-o", str(tmp_path / "x.json")
    )
    foreign_env = json.loads((tmp_path / "x.json").read_text())
    foreign_env["signatures"] = [
        s
        for s in foreign_env["signatures"]
        if s["keyid"] not in {k["id"] for k in httpx.get(f"{registry}/v1/orgs/lab/keys").json()}
    ]
    foreign = tmp_path / "foreign" / "attestation.json"
    foreign.parent.mkdir()
    foreign.write_text(json.dumps(foreign_env))
    refused = public.run(
        "verify", str(foreign), "--registry", registry, "--no-suite-check", ok=False
    )
    assert refused.returncode == 1 and "signature" in refused.stderr
    shutil.rmtree(out / "logs", ignore_errors=True)
