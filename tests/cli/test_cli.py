"""The command line contract: help everywhere, exit codes, one-line errors."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay import __version__
from assay.cli import app

runner = CliRunner()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assay", *args], capture_output=True, text=True, timeout=600
    )


def _all_commands() -> list[list[str]]:
    """Every command and group of the CLI, found by walking the Click tree."""
    import typer.main

    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        found.append(path)
        for name, child in getattr(command, "commands", {}).items():
            walk(child, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


COMMANDS = _all_commands()


def test_the_cli_has_the_documented_commands() -> None:
    names = {" ".join(c) for c in COMMANDS}
    for expected in (
        "audit", "verify", "compare", "rerun", "disclose", "plan show", "plan validate",
        "plan power", "keys generate", "keys show", "keys export", "commit", "attest cosign",
        "gateway serve", "gateway token issue", "gateway log verify", "suites list",
    ):  # fmt: skip
        assert expected in names, expected


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "assay")
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"assay {__version__}"


@pytest.mark.slow
def test_token_issue_prints_the_secret_alone_on_the_last_line(assay_home: Path) -> None:
    result = run("gateway", "token", "issue", "--engagement", "acme-2026", "--tier", "grey")
    assert result.returncode == 0, result.stderr
    secret = result.stdout.rstrip("\n").splitlines()[-1]
    assert secret.startswith("asy_") and " " not in secret
    listing = run("gateway", "token", "list")
    assert "acme-2026" in listing.stdout and secret not in listing.stdout
    token_id = secret.split("_")[1]
    assert run("gateway", "token", "revoke", token_id).returncode == 0
    assert "revoked" in run("gateway", "token", "list").stdout


# Every error path a user reported or the CLI documents: exit code and the words that
# say what is wrong. {tmp}, {empty}, {notpem} and {busy_port} are filled in per test.
ERRORS = [
    (["audit", "--target", "nonsense"], 2, "no scheme"),
    (["audit", "--target", "ftp:thing"], 2, "unknown target scheme"),
    (["audit", "--target", "bogus:x"], 2, "unknown target scheme"),
    (["audit", "--target", "builtin:gpt5"], 2, "unknown built-in model"),
    (["audit", "--target", "openai:localhost"], 2, "http(s) URL"),
    (["audit", "--target", "hf:/nonexistent"], 2, "no model folder at /nonexistent"),
    (["audit", "--target", "hf:{empty}"], 2, "is not a model folder: it has no config.json"),
    (["audit", "--plan", "nope"], 2, "unknown plan"),
    (["audit", "--suite", "nope"], 2, "unknown suite"),
    (["audit", "--tier", "purple"], 2, "purple"),
    (["audit", "--limit", "0"], 2, "--limit"),
    (["audit", "--dry-run", "--plan", "nope"], 2, "unknown plan 'nope'"),
    (["audit", "--dry-run", "--target", "hf:/nonexistent"], 2, "no model folder at /nonexistent"),
    (["audit", "--dry-run", "--price-in", "-1", "--price-out", "1"], 2, "--price-in must be a price per million tokens"),
    (["audit", "--dry-run", "--price-in", "cheap", "--price-out", "1"], 2, "Invalid value for '--price-in'"),
    (["audit", "--dry-run", "--price-in", "1"], 2, "give both --price-in and --price-out"),
    (["audit", "--price-in", "1", "--price-out", "1"], 2, "go with --dry-run"),
    (["audit", "--target", "openai:http://127.0.0.1:9/v1"], 1, "cannot reach"),
    (["gateway", "token", "issue", "--engagement", "e", "--expires-in", "soon"], 2, "invalid duration"),
    (["gateway", "token", "revoke", "nope"], 2, "no token"),
    (["gateway", "serve", "--target", "builtin:smollm2", "--port", "{busy_port}"], 2, "cannot listen on 127.0.0.1:{busy_port}"),
    (["verify", "missing.json"], 2, "no such file"),
    (["verify", "{notpem}", "--key", "{notpem}"], 2, "is not a PEM public key"),
    (["rerun", "{notpem}", "--key", "{notpem}"], 2, "is not a PEM public key"),
    (["plan", "validate", "missing.yaml"], 2, "no such file"),
    (["nonsense-command"], 2, "No such command"),
]  # fmt: skip


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize(("args", "code", "fragment"), ERRORS, ids=lambda v: str(v)[:60])
def test_errors_are_one_line_with_exit_codes(
    args: list[str], code: int, fragment: str, tmp_path: Path, busy_port: int
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notpem.pem").write_text("not a key\n")
    fill = {"tmp": str(tmp_path), "empty": str(tmp_path / "empty"),
            "notpem": str(tmp_path / "notpem.pem"), "busy_port": str(busy_port)}  # fmt: skip
    result = run(*[a.format(**fill) for a in args])
    assert result.returncode == code, (result.stdout, result.stderr)
    assert fragment.format(**fill) in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error:")
    assert result.stderr.strip().count("\n") == 0, "one line"
    # nothing was announced before the error (e.g. "serving ..." on a port in use)
    assert "serving" not in result.stdout + result.stderr


def test_bare_assay_prints_its_help() -> None:
    """`assay` alone printed "error:  (see 'assay --help')"."""
    result = run()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: assay [OPTIONS] COMMAND")
    assert "audit" in result.stdout and result.stderr == ""
    group = run("gateway")
    assert group.returncode == 0 and group.stdout.startswith("Usage: assay gateway")


@pytest.mark.slow
def test_another_audits_folder_is_refused_before_the_model_loads(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """A configuration mismatch used to be reported only after the model had loaded
    (~20 s for SmolLM2): here the second target cannot even be loaded, so only a check
    made before loading can answer with the mismatch."""
    out = tmp_path / "audit"
    first = run("audit", "--target", f"hf:{tiny_model_dir}", "--suite", "hazard_knowledge",
                "--limit", "2", "--out", str(out), "--quiet")  # fmt: skip
    assert first.returncode == 0, first.stderr
    other = tmp_path / "other-model"
    other.mkdir()
    (other / "config.json").write_text("{}")
    second = run("audit", "--target", f"hf:{other}", "--suite", "hazard_knowledge",
                 "--limit", "2", "--out", str(out), "--quiet")  # fmt: skip
    assert second.returncode == 2, second.stderr
    assert "holds an audit with a different configuration (target:" in second.stderr
    assert "--fresh" in second.stderr
    seed = run("audit", "--target", f"hf:{tiny_model_dir}", "--suite", "hazard_knowledge",
               "--limit", "2", "--out", str(out), "--quiet", "--seed", "7")  # fmt: skip
    assert seed.returncode == 2 and "(seed: 0 there, 7 now)" in seed.stderr


@pytest.mark.slow
def test_verify_end_to_end(tiny_model_dir: Path, tmp_path: Path, assay_home: Path) -> None:
    out = tmp_path / "audit"
    audit = run(
        "audit",
        "--target",
        f"hf:{tiny_model_dir}",
        *("--suite", "hazard_knowledge", "--suite", "misuse_refusal"),
        *("--limit", "2", "--out", str(out), "--quiet"),
    )
    assert audit.returncode == 0, audit.stderr
    assert run("verify", str(out / "attestation.json")).returncode == 0
    public = assay_home / "keys" / "tester.pub"
    assert run("verify", str(out / "attestation.json"), "--key", str(public)).returncode == 0
    report = out / "report.json"
    report.write_text(report.read_text().replace('"run_id": "', '"run_id": "tampered-'))
    failed = run("verify", str(out / "attestation.json"))
    assert failed.returncode == 1 and "report.json" in failed.stderr


def test_dry_run_prints_its_estimate_as_text_and_json(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The documented JSON shape (assay-dry-run-1) and the stated assumptions in text."""
    import json

    args = ["audit", "--dry-run", "--target", f"hf:{tiny_model_dir}", "--suite", "hazard_knowledge",
            "--suite", "misuse_refusal", "--limit", "3", "--no-calibrate", "--out", str(tmp_path / "o")]  # fmt: skip
    result = runner.invoke(app, [*args, "--json", "--price-in", "1", "--price-out", "4"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "assay-dry-run-1"
    assert [s["id"] for s in data["suites"]] == ["hazard_knowledge", "misuse_refusal"]
    assert data["total"]["queries"] == {"low": 6, "expected": 6, "high": 6}
    assert data["total"]["generated_tokens"]["high"] == 3 * 1 + 3 * 192
    assert data["money"]["cost"]["high"] > 0 and data["calibration"] is None
    assert set(data["tolerance"]) == {"queries", "prompt_tokens", "generated_tokens", "seconds"}
    assert not (tmp_path / "o").exists()
    text = runner.invoke(app, args)
    assert text.exit_code == 0, text.output
    words = " ".join(text.stdout.split())
    assert "nothing was scored" in words and "Tolerance:" in words
    assert "Prompt tokens counted with the tokenizer of hf:" in words
