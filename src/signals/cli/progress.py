"""A progress bar on stderr when it is a terminal; silent otherwise."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_bar(label: str, *, unit: str = "items", total: int | None = None
                 ) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; draws a rich progress bar only when stderr is a TTY."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn(f"{label}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
               TimeElapsedColumn()]
    with Progress(*columns, transient=True, redirect_stdout=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
