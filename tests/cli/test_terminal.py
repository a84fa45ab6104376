"""The CLI in an 80-column terminal: nothing that identifies or decides is cut, help
keeps its square brackets, an audit says what it is doing from its first seconds, and
Ctrl-C ends it at once. Run through a real pseudo-terminal (see ``_pty``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from rich.console import Console

from assay.cli import command
from assay.report import print_summary
from assay.suites import all_suites
from tests.cli._pty import run_in_pty
from tests.report._sample import sample_report

COLUMNS = 80
_CUT = re.compile(r"…|\.\.\.$")


def _commands() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        found.append(path)
        for name, child in getattr(cmd, "commands", {}).items():
            walk(child, [*path, name])

    walk(command(), [])
    return found


def _help(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    monkeypatch.setenv("COLUMNS", str(COLUMNS))
    with pytest.raises(SystemExit) as exit_info:
        command().main([*args, "--help"], prog_name="assay")
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("args", _commands(), ids=lambda c: " ".join(c) or "assay")
def test_help_fits_80_columns_and_cuts_nothing(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(args, monkeypatch, capsys)
    cmd = command()
    for name in args:
        cmd = cmd.commands[name]
    # an author's own "..." (e.g. "The full items file ...") is not a cut
    own = [getattr(p, "help", None) or "" for p in cmd.params]
    written = tuple(h[-12:] for h in own if h.endswith("..."))
    for line in text.splitlines():
        assert len(line) <= COLUMNS, line
        if not line.startswith("Usage:") and not line.endswith(written or ("\0",)):
            assert not _CUT.search(line), f"cut: {line!r}"
    for param in cmd.params:
        for option in param.opts:
            assert option in text, f"{option} missing from the help of {' '.join(args)}"


def test_help_keeps_square_brackets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rich markup ate "[model]" and "[storage]": "(overrides )", "(default:  of --config"."""
    text = " ".join(_help(["gateway", "serve"], monkeypatch, capsys).split())
    assert "(overrides [model])" in text
    assert "(default: [storage] of --config" in text


def test_help_in_a_real_80_column_terminal() -> None:
    run = run_in_pty(["gateway", "serve", "--help"], columns=COLUMNS, timeout=120)
    assert run.returncode == 0, run.text
    assert all(len(line) <= COLUMNS for line in run.lines)
    assert "[storage]" in run.text and "[model]" in run.text


@pytest.mark.slow
def test_suites_list_never_cuts_ids_at_80_columns() -> None:
    """`assay suites list` showed `election…` three times at 80 columns."""
    run = run_in_pty(["suites", "list"], columns=COLUMNS, timeout=120)
    assert run.returncode == 0, run.text
    # the table fits; digest lines are printed whole and left to the terminal to wrap
    assert all(len(line) <= COLUMNS for line in run.lines if "sha256:" not in line), run.text
    assert "…" not in run.text
    first_words = {line.split()[0] for line in run.lines if line.strip()}
    for suite in all_suites():
        assert suite.id in first_words, suite.id
        assert f"{suite.id} {suite.version} {suite.data_digest}" in run.text


def test_summary_never_cuts_findings_or_ids_at_80_columns() -> None:
    """The summary table cut the finding itself (`safegua… inadequ…`)."""
    console = Console(width=COLUMNS, record=True, force_terminal=False)
    report = sample_report()
    print_summary(report, console)
    text = console.export_text()
    assert "…" not in text
    assert all(len(line) <= COLUMNS for line in text.splitlines())
    words = " ".join(text.split())
    for suite in report.suites:
        assert re.search(rf"(^|\s){suite.id}(\s|$)", text, re.M), suite.id
        finding = suite.decision.outcome.replace("_", " ")
        # a finding may wrap between its words, never inside one
        for word in finding.split():
            assert re.search(rf"\s{word}\s", f" {text} "), (suite.id, word)
    assert (
        "discrimination: n = 79: all 120 planned items scored; the estimate uses 79 explicit-fill items"
        in words
    )


@pytest.mark.slow
def test_an_audit_at_80_columns(tiny_model_dir: Path, tmp_path: Path, assay_home: Path) -> None:
    """Progress, summary and messages in a real 80-column terminal: says what it is doing
    before any result (the screen stayed blank ~20 s), and cuts no id or finding."""
    run = run_in_pty(
        ["audit", "--target", f"hf:{tiny_model_dir}", "--suite", "misuse_refusal",
         "--suite", "election_evenhandedness", "--limit", "4", "--out", str(tmp_path / "out")],
        columns=COLUMNS,
        timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.text
    first_time, first_text = run.chunks[0]
    assert "starting" in first_text, "the first thing on screen says the audit is starting"
    assert first_time < 15, f"{first_time:.0f} s of blank screen"
    phases = ["starting", "loading hf:", "probing", "preparing 2 suite(s)", "starting Inspect"]
    positions = [run.text.index(p) for p in phases]
    assert positions == sorted(positions)
    summary = run.text[run.text.index("assay audit of") :]
    assert "…" not in summary
    assert all(len(line) <= COLUMNS for line in summary.splitlines())
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    for suite in report["suites"]:
        assert re.search(rf"^\s*{suite['id']}\s", summary, re.M), suite["id"]
        for word in suite["decision"]["outcome"].split("_"):
            assert re.search(rf"\s{word}\s", summary), (suite["id"], word)


@pytest.mark.slow
def test_ctrl_c_ends_an_audit_at_once(tiny_model_dir: Path, tmp_path: Path) -> None:
    run = run_in_pty(
        [
            "audit",
            "--target",
            f"hf:{tiny_model_dir}",
            "--limit",
            "30",
            "--out",
            str(tmp_path / "out"),
        ],
        columns=COLUMNS,
        timeout=600,
        interrupt_when=lambda out: re.search(r"\s[1-9]\d*/\d+\s", out) is not None,
    )
    assert run.interrupted_at is not None
    assert run.returncode == 130, run.text[-2000:]
    assert "interrupted" in run.text
    assert run.exited_after_interrupt is not None and run.exited_after_interrupt < 15


BUSY_MODEL_THREAD = textwrap.dedent(
    """
    import sys, time
    import assay.audit
    from assay.gateway.backends._thread import model_thread

    def spin():  # a batch that would generate for a minute
        end = time.monotonic() + 60
        while time.monotonic() < end:
            pass

    def interrupted_audit(config, console=None):
        model_thread().submit(spin)
        time.sleep(0.5)
        print(time.monotonic(), flush=True)
        raise KeyboardInterrupt

    assay.audit.run_audit = interrupted_audit
    sys.argv = ["assay", "audit", "--quiet"]
    from assay.cli import main
    main()
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("stderr_closed", [False, True], ids=["stderr", "stderr-closed"])
def test_interrupted_audit_does_not_wait_for_the_model_thread(stderr_closed: bool) -> None:
    """After Ctrl-C the process kept a core busy for ~45 s: the normal interpreter exit
    joins the model thread, which was still generating replies nobody would read. Also
    when stderr is a pipe whose reader is gone (``assay audit 2>&1 | tee`` after Ctrl-C):
    the error message then fails to print, and that must not lead to a normal exit."""
    process = subprocess.Popen(
        [sys.executable, "-c", BUSY_MODEL_THREAD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None and process.stdout is not None
    if stderr_closed:
        process.stderr.close()
        stderr = ""
    else:
        stderr = process.stderr.read()
    interrupted_at = float(process.stdout.readline())  # CLOCK_MONOTONIC: system-wide
    code = process.wait(timeout=180)
    elapsed = time.monotonic() - interrupted_at
    assert code == 130, stderr
    if not stderr_closed:
        assert stderr.strip() == "error: interrupted"
    # the busy batch runs for 60 s after the interrupt; exiting well before is the point
    assert elapsed < 30, f"exit took {elapsed:.0f} s: it waited for the model thread"
