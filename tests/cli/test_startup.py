"""Every ``assay`` command pays the CLI's import once; the heavy packages load only in
the commands that use them (``assay --help`` took 1.4 s when the gateway's imports
were at the top of ``assay.cli``)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fastapi", "sqlalchemy", "torch", "transformers", "inspect_ai", "openai", "ray")


def test_importing_the_cli_loads_no_heavy_package() -> None:
    probe = f"import sys, assay.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_help_lists_every_command_group() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "assay", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for group in ("audit", "gateway", "campaign", "registry", "verify", "keys", "plan"):
        assert group in shown


# What `assay audit` needs before it can refuse a bad argument: its command module, the
# audit package and the target parser. The evaluation stack (Inspect, scipy, the
# gateway's web app, torch) loads only once an audit runs (3.9 s of CPU per refused
# `assay audit --target nope` when assay.audit imported all of it).
AUDIT_HEAVY = ("inspect_ai", "scipy.stats", "assay.gateway._app", "torch", "transformers")


def test_importing_the_audit_command_loads_no_evaluation_stack() -> None:
    probe = (
        "import sys\n"
        "import assay.cli._audit, assay.audit\n"
        "from assay._util.errors import UsageError\n"
        "from assay.models import parse_target\n"
        "try:\n"
        "    parse_target('nope')\n"
        "except UsageError:\n"
        "    pass\n"
        "else:\n"
        "    raise SystemExit('the bad target was accepted')\n"
        f"print(','.join(m for m in {AUDIT_HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_a_bad_target_is_refused_without_the_evaluation_stack() -> None:
    probe = (
        "import sys\n"
        "from assay.cli import main\n"
        "sys.argv = ['assay', 'audit', '--target', 'nope']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        f"print(code, ','.join(m for m in {AUDIT_HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.split() == ["2"], result.stdout + result.stderr
    assert "has no scheme" in result.stderr
