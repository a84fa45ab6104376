"""Errors that reach the user as one clear line and a documented exit code."""

from __future__ import annotations


class AssayError(Exception):
    """A failure the user can act on; the CLI prints it as one line (exit 1)."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and, when there is one, what to do about it."""
        return f"{self.message}; {self.hint}" if self.hint else self.message


class UsageError(AssayError):
    """Bad arguments or input files (exit 2)."""

    exit_code = 2
