"""The ``assay`` command line: one Typer app; each subcommand delegates to a package.

Exit codes: 0 success (an audit that ran to the end, whatever its verdict),
1 failure, 2 usage error, 130 interrupted. Every error is one line on stderr.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

import typer
from rich.console import Console

from assay import __version__
from assay._util.errors import AssayError
from assay.cli._attest import attest_app, commit_app, disclose_command
from assay.cli._audit import audit_command
from assay.cli._campaign import campaign_app
from assay.cli._compare import compare_command
from assay.cli._gateway import gateway_app
from assay.cli._keys import keys_app
from assay.cli._misc import suites_app, verify_command
from assay.cli._plan import plan_app
from assay.cli._registry import registry_app
from assay.cli._rerun import rerun_command

app = typer.Typer(
    name="assay",
    help="Third-party testing of AI models: gateway, suites, decisions, verifiable reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain Click help: Rich markup would swallow text in square brackets ("[storage]")
    # and its option panels cut long lines at 80 columns.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """assay: the open platform for third-party testing of AI models."""


app.command("audit")(audit_command)
app.command("verify")(verify_command)
app.command("disclose")(disclose_command)
app.add_typer(keys_app, name="keys")
app.add_typer(attest_app, name="attest")
app.add_typer(commit_app, name="commit")
app.command("compare")(compare_command)
app.command("rerun")(rerun_command)
app.add_typer(gateway_app, name="gateway")
app.add_typer(suites_app, name="suites")
app.add_typer(plan_app, name="plan")
app.add_typer(registry_app, name="registry")
app.add_typer(campaign_app, name="campaign")

_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


INTERRUPTED = 130


def _fail(message: str, code: int) -> None:
    try:
        _stderr.print(f"[bold red]error:[/] {message}", markup=True)
    finally:  # even when stderr is gone (a closed pipe after Ctrl-C)
        if code == INTERRUPTED:
            _exit_now(code)
    sys.exit(code)


def _exit_now(code: int) -> None:
    """Exit without waiting for worker threads. After Ctrl-C the model thread may still
    be generating replies nobody will read (a continuous batch keeps admitting queued
    requests), and a normal exit joins it: a core stayed busy for a minute or more.
    Every scored sample is already committed, so nothing is lost."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _terminate(_signum: int, _frame: object) -> None:
    # SIGTERM stops an audit like Ctrl-C does: scored samples are already saved.
    raise KeyboardInterrupt


def main() -> None:
    """Entry point of the ``assay`` console script."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        result = command().main(prog_name="assay", standalone_mode=False)
    except AssayError as exc:
        _fail(_escape(exc.one_line()), exc.exit_code)
    except typer.Exit as exc:
        if exc.exit_code == INTERRUPTED:
            _fail("interrupted", INTERRUPTED)
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("interrupted", INTERRUPTED)
    except typer.TyperException as exc:  # bad options and arguments (exit 2)
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            # `assay` or a command group alone asks for its help: not an error
            typer.echo(ctx.get_help())
            sys.exit(0)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        _fail(_escape(message) + hint, int(getattr(exc, "exit_code", 2)))
    except KeyboardInterrupt:
        _fail("interrupted", INTERRUPTED)
    except Exception as exc:
        if os.environ.get("ASSAY_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        _fail(
            f"unexpected {type(exc).__name__}: {_escape(first)} (set ASSAY_DEBUG=1 for a traceback)",
            1,
        )
    if result == INTERRUPTED:  # Typer returns Ctrl-C as exit code 130, silently
        _fail("interrupted", INTERRUPTED)
    sys.exit(result if isinstance(result, int) else 0)


def command() -> Any:
    """The Click command tree of :data:`app`, with every command's one-line summary in
    full: Click would cut it to the terminal's width with "..." in ``--help`` listings."""
    import typer.main

    root = typer.main.get_command(app)

    def complete(cmd: Any) -> None:
        if not cmd.short_help and cmd.help:
            cmd.short_help = _first_sentence(cmd.help)
        for child in getattr(cmd, "commands", {}).values():
            complete(child)

    complete(root)
    return root


def _first_sentence(text: str) -> str:
    paragraph = " ".join(text.split("\n\n", maxsplit=1)[0].split())
    end = paragraph.find(". ")
    return paragraph if end == -1 else paragraph[: end + 1]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


__all__ = ["app", "command", "main"]
