"""The audit's progress bars: a time estimate that keeps moving."""

from __future__ import annotations

import io

from rich.console import Console

from assay._util.progress import advance, audit_progress, seconds_left


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _eta(progress, task) -> str:  # type: ignore[no-untyped-def]
    console = Console(width=120, record=True, force_terminal=False, file=io.StringIO())
    console.print(progress.make_tasks_table([progress.tasks[task]]))
    return console.export_text().split("eta")[-1].strip()


def test_progress_eta_does_not_freeze() -> None:
    """Rich's estimate used the speed of recent updates only: with no item finishing
    it stopped changing. Ours grows while nothing finishes and falls when items do."""
    clock = Clock()
    progress = audit_progress(Console(file=io.StringIO()), get_time=clock)
    task = progress.add_task("misuse_refusal", total=100, completed=0, start=False)
    clock.now = 30.0  # waiting for other suites: not this suite's pace
    advance(progress, task)
    assert _eta(progress, task) == "-:--:--"
    clock.now = 40.0
    advance(progress, task, 9)  # 9 items in 10 s after the first
    first = _eta(progress, task)
    assert first == "0:01:40"  # 90 left at 0.9/s
    clock.now = 60.0  # 20 s and nothing finished
    later = _eta(progress, task)
    assert later != first and later == "0:05:00"
    clock.now = 61.0
    advance(progress, task, 30)
    assert _eta(progress, task) == "0:00:48"  # 60 left at 39 items in 31 s


def test_seconds_left_ignores_items_done_before_this_run() -> None:
    assert seconds_left(100, 50, 50, 10) is None
    assert seconds_left(100, 60, 50, 10) == 40
