"""A progress bar on stderr when it is a terminal; silent otherwise."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any


class Advance:
    """``advance(n)`` moves the bar; ``with advance.paused():`` clears it while something else is
    printed (events on a terminal stdout, warnings on stderr), so lines and bar never interleave."""

    def __init__(self, bar: Any = None, task: Any = None) -> None:
        self._bar, self._task = bar, task

    def __call__(self, n: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def stage(self, label: str) -> None:
        """A next step with nothing to count (the study after the price fetch): the bar shows
        ``label`` and the time elapsed, so a long step is not taken for a stalled fetch."""
        if self._bar is not None:
            self._bar.update(self._task, description=label, total=None, completed=0, unit=None)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        if self._bar is None or not self._bar.live.is_started:
            yield
            return
        self._bar.stop()  # transient: the bar's lines are erased
        try:
            yield
        finally:
            self._bar.start()


@contextlib.contextmanager
def progress_bar(label: str, *, unit: str = "items", total: int | None = None) -> Iterator[Advance]:
    """Yield an ``Advance``; draws a rich progress bar on stderr only when stderr is a TTY (stdout may
    be a pipe: the bar never touches it)."""
    if not sys.stderr.isatty():
        yield Advance()
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class Count(ProgressColumn):
        """"12/84 tickers"; nothing once a stage has no unit to count."""

        def render(self, task: Any) -> Text:
            unit = task.fields.get("unit")
            if unit is None:
                return Text("")
            total = "?" if task.total is None else f"{int(task.total)}"
            return Text(f"{int(task.completed)}/{total} {unit}", style="progress.download")

    columns = [TextColumn("{task.description}"), BarColumn(), Count(), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True, redirect_stdout=False,
                  redirect_stderr=False) as bar:
        yield Advance(bar, bar.add_task(label, total=total, unit=unit))
