"""Run the real ``assay`` command in a pseudo-terminal of a chosen size.

What a user sees depends on the terminal: Rich and Click read its width from the
tty, draw live progress only on a tty, and Ctrl-C reaches the process through the
terminal driver. Piped subprocesses test none of that.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


@dataclass
class PtyRun:
    raw: str
    returncode: int
    seconds: float
    interrupted_at: float | None = None  # seconds after start
    exited_after_interrupt: float | None = None
    chunks: list[tuple[float, str]] = field(default_factory=list)  # (seconds, text)

    @property
    def text(self) -> str:
        """The output without colours, cursor movements and carriage returns."""
        return _ANSI.sub("", self.raw)

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


def run_in_pty(
    args: list[str],
    *,
    columns: int = 80,
    rows: int = 50,
    env: dict[str, str] | None = None,
    timeout: float = 300.0,
    interrupt_when: Callable[[str], bool] | None = None,
    cwd: str | None = None,
) -> PtyRun:
    """Run ``python -m assay ARGS`` in a ``columns`` x ``rows`` terminal; with
    ``interrupt_when``, type Ctrl-C once it returns True for the output so far (without
    colours and cursor movements)."""
    environment = dict(env if env is not None else os.environ)
    environment.pop("COLUMNS", None)  # the width must come from the terminal itself
    environment.pop("LINES", None)
    environment["TERM"] = "xterm-256color"
    pid, fd = pty.fork()
    if pid == 0:  # the child: size the terminal before anything reads it, then run
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            if cwd:
                os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "assay", *args], environment)
        finally:
            os._exit(127)
    start = time.monotonic()
    chunks: list[tuple[float, str]] = []
    raw = ""
    interrupted_at: float | None = None
    status: int | None = None
    try:
        while True:
            now = time.monotonic() - start
            if now > timeout:
                os.kill(pid, signal.SIGKILL)
                raise TimeoutError(f"assay {' '.join(args)} ran over {timeout} s:\n{raw[-3000:]}")
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the child closed the terminal
                    data = b""
                if not data:
                    break
                text = data.decode("utf-8", "replace")
                raw += text
                chunks.append((now, text))
            if (
                interrupt_when is not None
                and interrupted_at is None
                and interrupt_when(_ANSI.sub("", raw))
            ):
                os.write(fd, b"\x03")
                interrupted_at = time.monotonic() - start
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = code
                # drain what is left
                while select.select([fd], [], [], 0.1)[0]:
                    try:
                        data = os.read(fd, 65536)
                    except OSError:
                        break
                    if not data:
                        break
                    raw += data.decode("utf-8", "replace")
                break
    finally:
        if status is None:
            _, status = os.waitpid(pid, 0)
        os.close(fd)
    seconds = time.monotonic() - start
    return PtyRun(
        raw=raw,
        returncode=os.waitstatus_to_exitcode(status),
        seconds=seconds,
        interrupted_at=interrupted_at,
        exited_after_interrupt=None if interrupted_at is None else seconds - interrupted_at,
        chunks=chunks,
    )
