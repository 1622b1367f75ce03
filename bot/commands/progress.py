"""Progress bars for long commands, drawn by rich on stderr only when stderr is a terminal: a
script or a pipe sees exactly the output it saw before. rich.progress is imported only then, so
the many short commands run by scripts do not pay for it at start-up."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def on_terminal() -> bool:
    return sys.stderr.isatty()


def _progress(total_known: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total_known:
        columns += [BarColumn(), MofNCompleteColumn()]
    return Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True)


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Yield the items, advancing a bar (of `total`, when known) on a terminal."""
    if not on_terminal():
        yield from items
        return
    with _progress(total is not None) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)


@contextmanager
def working(description: str) -> Iterator[None]:
    """A spinner with the elapsed time for a step that cannot count its items."""
    if not on_terminal():
        yield
        return
    with _progress(False) as progress:
        progress.add_task(description, total=None)
        yield
