"""Progress bars for the long stages (rich, on stderr), silent when stderr is not a terminal.

Log lines carry the numbers; the bar only shows where a stage is and how long it has left.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["bar"]


@contextmanager
def bar(
    label: str, total: int, done: int = 0, *, enabled: bool = True
) -> Iterator[Callable[[], None]]:
    """``with bar("SFT", 2000, done) as advance: … advance()`` — one call per finished step."""
    if not enabled or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as prog:
        task = prog.add_task(label, total=total, completed=done)
        yield lambda: prog.advance(task)
