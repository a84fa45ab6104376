"""`assay registry` bootstrapping on a database: one clear error per bad input."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from assay._util.errors import UsageError
from assay.cli import app

runner = CliRunner()


def _run(*args: str) -> Result:
    return runner.invoke(app, ["registry", *args])


def test_bootstrap_prints_the_token_alone_on_the_last_line(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "r.sqlite")]
    assert _run("org", "create", "lab", "--kind", "tester", *db).exit_code == 0
    assert _run("user", "add", "lab", "me@lab", "--role", "admin", *db).exit_code == 0
    issued = _run("token", "issue", "--user", "me@lab", "--scope", "submit", *db)
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip().splitlines()[-1]
    assert token.startswith("asr_") and " " not in token
    listing = _run("org", "list", *db)
    assert "lab" in listing.output and "tester" in listing.output


def test_bad_bootstrap_input_is_a_usage_error(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "r.sqlite")]
    for args, message in (
        (("org", "create", "lab", "--kind", "lab"), "unknown kind"),
        (("org", "create", "Bad Name", "--kind", "tester"), "invalid organisation name"),
        (("user", "add", "nowhere", "me", "--role", "admin"), "no organisation named"),
        (("token", "issue", "--user", "nobody"), "no user named"),
    ):
        result = _run(*args, *db)
        assert isinstance(result.exception, UsageError), (args, result.output)
        assert message in result.exception.message
    _run("org", "create", "lab", "--kind", "tester", *db)
    _run("user", "add", "lab", "member@lab", *db)
    result = _run("token", "issue", "--user", "member@lab", "--scope", "admin", *db)
    assert isinstance(result.exception, UsageError)
    assert "member cannot hold a token with the admin scope" in result.exception.message


def test_user_password_sets_an_argon2_hash_from_stdin(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    db = ["--db", str(tmp_path / "r.sqlite")]
    _run("org", "create", "lab", "--kind", "tester", *db)
    _run("user", "add", "lab", "me@lab", *db)
    done = runner.invoke(
        app, ["registry", "user", "password", "me@lab", "--stdin", *db], input="a long passphrase\n"
    )
    assert done.exit_code == 0, done.output
    with create_engine(f"sqlite:///{tmp_path / 'r.sqlite'}").connect() as c:
        stored = c.execute(text("SELECT password_hash FROM users WHERE name = 'me@lab'")).scalar()
    assert stored.startswith("$argon2id$")
    short = runner.invoke(
        app, ["registry", "user", "password", "me@lab", "--stdin", *db], input="short\n"
    )
    assert isinstance(short.exception, UsageError) and "at least 12" in short.exception.message


def test_worker_once_runs_a_round_and_bad_settings_are_usage_errors(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "r.sqlite")]
    done = _run("worker", "--once", *db)
    assert done.exit_code == 0, done.output
    assert "published findings: none; notifications sent: 0" in done.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[disclosure]\ngrace_days = 'soon'\n")
    refused = _run("worker", "--once", "--config", str(bad), *db)
    assert isinstance(refused.exception, UsageError)
    assert "grace_days must be a non-negative number of days" in refused.exception.message


def test_reproduction_material_round_trips_and_its_commitment_binds_it(tmp_path: Path) -> None:
    import base64

    from assay.registry import load_or_create_sealing_key
    from assay.registry._reproduction import (
        commitment,
        envelope,
        open_box,
        read_material,
        sealed_boxes,
    )

    repro = tmp_path / "repro.txt"
    repro.write_text("placeholder prompt\n")
    plaintext = envelope(repro)
    assert commitment(envelope(repro)) != commitment(plaintext)  # salted: no guessing
    key = load_or_create_sealing_key("dev")
    recipients = [
        {"org": "acme", "required": True, "key_id": key.key_id, "public_key": key.public_b64},
        {"org": "lab", "required": False, "key_id": None, "public_key": None},
    ]
    sealed = sealed_boxes(plaintext, recipients)
    assert [b["recipient_key_id"] for b in sealed["boxes"]] == [key.key_id]
    _, material = open_box(key, sealed["boxes"][0]["sealed_b64"], sealed["commitment"])
    assert material.filename == "repro.txt" and material.content == b"placeholder prompt\n"
    try:
        read_material(plaintext, "sha256:" + "0" * 64)
        raise AssertionError("a wrong commitment must be refused")
    except UsageError as exc:
        assert "does not match the finding's commitment" in exc.message
    missing = [dict(recipients[0], key_id=None, public_key=None)]
    try:
        sealed_boxes(plaintext, missing)
        raise AssertionError("a required recipient without a key must be refused")
    except UsageError as exc:
        assert "acme has no sealing key registered" in exc.message
    assert base64.b64decode(sealed["boxes"][0]["sealed_b64"])
