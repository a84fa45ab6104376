"""Progress bars whose time estimate keeps moving."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


class EtaColumn(ProgressColumn):
    """Time left at the average rate of this run, recomputed at every refresh.

    Rich's own estimate uses the speed of recent updates only, so it stops changing
    when no item finishes for a while (long generations, one slow batch): the display
    froze although time passed. Here a bar's clock starts when its first item finishes
    (see :func:`audit_progress`), and the rate is the items finished since then over
    the time since then: the estimate grows while nothing finishes and shrinks when
    items do. Items already done when the bar was created (a resumed audit) do not
    count.
    """

    max_refresh = 0.5

    def render(self, task: Task) -> Text:
        if task.finished:
            return Text("done", style="progress.remaining")
        left = None
        if task.total is not None and task.started:
            left = seconds_left(
                task.total,
                task.completed,
                float(task.fields.get("first_finished_at", task.completed)),
                task.elapsed or 0.0,
            )
        if left is None:
            return Text("eta -:--:--", style="progress.remaining")
        return Text(f"eta {timedelta(seconds=round(left))}", style="progress.remaining")


def seconds_left(
    total: float, completed: float, counted_from: float, elapsed: float
) -> float | None:
    """Time left at the rate of the items finished after ``counted_from`` in
    ``elapsed`` seconds; None until one has."""
    finished = completed - counted_from
    if finished <= 0 or elapsed <= 0:
        return None
    return (total - completed) * elapsed / finished


def audit_progress(
    console: Console, *, disable: bool = False, get_time: Callable[[], float] | None = None
) -> Progress:
    """One bar per suite: name, bar, items done of planned, time elapsed, time left."""
    return Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        EtaColumn(),
        console=console,
        disable=disable,
        get_time=get_time,
    )


def advance(progress: Progress, task_id: TaskID, amount: float = 1) -> None:
    """Count finished items; a bar's clock starts with its first finished item (the
    time before it is waiting for other suites and the model, not this suite's pace)."""
    task = next(t for t in progress.tasks if t.id == task_id)
    if not task.started:
        progress.start_task(task_id)
        progress.update(task_id, first_finished_at=task.completed + amount)
    progress.advance(task_id, amount)
