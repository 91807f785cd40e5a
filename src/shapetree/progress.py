"""A progress bar on stderr for long work (hidden when stderr is not a terminal)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_bar(label: str, total: int, unit: str, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Yield ``update(completed)``; shows ``label [bar] completed/total unit elapsed``."""
    if not enabled:
        yield lambda completed: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total} " + unit),
                  TimeElapsedColumn(), transient=True, console=console,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=total)
        yield lambda completed: bar.update(task, completed=completed)
