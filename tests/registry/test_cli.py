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
