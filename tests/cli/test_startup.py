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
