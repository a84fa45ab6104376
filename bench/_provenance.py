"""What every benchmark records: the code it measured and what a run cost."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def git_commit() -> str:
    """The checked-out commit, short form; read it before anything runs, so a result is
    never labelled with a commit made while the benchmark ran."""
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    ).stdout.strip()


def timed_run(command: list[str], **run_options: Any) -> dict[str, float]:
    """Run ``command`` to completion (``subprocess.run`` options, ``check=True``): its wall
    seconds, the user and system CPU seconds of it and its children (what other load on
    the machine does not inflate), and the load average when it ended."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, **run_options)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": wall,
        "user": after.ru_utime - before.ru_utime,
        "sys": after.ru_stime - before.ru_stime,
        "load": os.getloadavg()[0],
    }
