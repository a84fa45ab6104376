"""The gateway's handle on a fine-tuning worker process (:mod:`._worker`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class WorkerSettings:
    """How fine-tuning workers run and how their jobs are kept alive.

    ``threads`` and ``nice``: the worker's torch threads and scheduling niceness (it
    runs below the gateway's own priority, so answering requests comes first).
    ``max_attempts``: how many times a job is started before a worker (or gateway)
    dying under it fails it. ``lease_s``: a running job whose gateway process showed no
    sign of life for this long is taken over by another. ``poll_s``: how often an idle
    gateway looks for such jobs and for adapters finished by other processes.
    """

    threads: int = 1
    nice: int = 10
    max_attempts: int = 2
    lease_s: float = 120.0
    poll_s: float = 5.0
    hold: Path | None = None  # tests: steps wait while this file exists


class WorkerDied(Exception):
    """The worker process ended (or never started)."""


class WorkerProcess:
    """A running worker: JSON commands in, JSON events out."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @classmethod
    async def start(cls, model_dir: Path, settings: WorkerSettings) -> WorkerProcess:
        args = [
            "-m",
            "assay.gateway.finetuning._worker",
            "--model",
            str(model_dir),
            "--threads",
            str(settings.threads),
            "--nice",
            str(settings.nice),
        ]
        if settings.hold is not None:
            args += ["--hold", str(settings.hold)]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 20,
        )
        worker = cls(process)
        ready = await worker.next_event()
        if ready is None or ready.get("event") != "ready":
            code = await worker.wait()
            raise WorkerDied(
                f"the fine-tuning worker did not start (exit code {code}); "
                "its error is in the gateway's output"
            )
        return worker

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def exited(self) -> bool:
        return self._process.returncode is not None

    async def send(self, command: dict[str, Any]) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write((json.dumps(command) + "\n").encode())
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerDied(f"the fine-tuning worker is gone ({exc})") from None

    async def next_event(self) -> dict[str, Any] | None:
        """The worker's next event; ``None`` once it has ended."""
        stdout = self._process.stdout
        assert stdout is not None
        while True:
            line = await stdout.readline()
            if not line:
                return None
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not ours
            if isinstance(event, dict):
                return event

    async def wait(self) -> int:
        return await self._process.wait()

    async def stop(self, timeout: float = 10.0) -> None:
        """Ask the worker to finish (stdin closes); kill it if it has not after
        ``timeout`` seconds (at once with ``timeout=0``: a job it is training is lost
        and will be run again)."""
        if self._process.returncode is not None:
            return
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
