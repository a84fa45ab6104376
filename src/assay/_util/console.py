"""Consoles for tables: full width in a terminal, unabridged when piped."""

from __future__ import annotations

from rich.console import Console

PIPED_WIDTH = 200


def table_console(*, stderr: bool = False) -> Console:
    """A console whose tables are not truncated to 80 columns when output is piped."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=PIPED_WIDTH)
    return console
