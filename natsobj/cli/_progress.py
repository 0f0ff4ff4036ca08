"""Progress bars for transfers: bytes, percentage, rate and ETA, on stderr.

A bar is drawn only when it helps: both stdout and stderr are terminals, ``--quiet`` is
off, the data does not go to stdout, and the transfer is big enough to take a moment
(``THRESHOLD`` bytes: known up front from the sizes, or reached while streaming stdin).
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING

from ._output import human_size, printable

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn, Task, TaskID

__all__ = ["THRESHOLD", "Transfer", "terminal"]

THRESHOLD = 1024 * 1024
"""Transfers smaller than this get no bar (they are over before one could be read)."""


def terminal() -> bool:
    """Whether stdout and stderr are both terminals."""
    return sys.stdout.isatty() and sys.stderr.isatty()


class Transfer:
    """Progress of one command's transfers (one or several objects, one bar).

    Use as a context manager; call ``advance(n)`` as bytes move and ``next_item(label)``
    when a new object starts. ``elapsed`` and ``done`` feed the summary line.
    """

    def __init__(self, *, enabled: bool, total: int | None, label: str) -> None:
        self._enabled = enabled
        self._total = total
        self._label = printable(label)  # object names come from the wire
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._started = time.monotonic()
        self.done = 0

    def __enter__(self) -> Transfer:
        self._started = time.monotonic()
        if self._total is not None and self._total >= THRESHOLD:
            self._show()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(finished=exc_type is None)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def rate(self) -> str:
        """The average rate so far, e.g. ``"212.4 MiB/s"``."""
        elapsed = self.elapsed
        return f"{human_size(self.done / elapsed)}/s" if elapsed > 0 else "-"

    def _show(self) -> None:
        if not self._enabled or self._progress is not None:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TaskProgressColumn(),
            DownloadColumn(binary_units=True),
            _rate_column(),
            TimeRemainingColumn(),
            console=Console(stderr=True, highlight=False),
            transient=False,
            refresh_per_second=8,
        )
        self._task = self._progress.add_task(self._label, total=self._total, completed=self.done)
        self._progress.start()

    def advance(self, count: int) -> None:
        self.done += count
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=count)
        elif self.done >= THRESHOLD:
            self._show()

    def add_total(self, count: int) -> None:
        """Add ``count`` bytes to the expected total (an object whose size is now known)."""
        self._total = (self._total or 0) + count
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=self._total)
        elif self._total >= THRESHOLD:
            self._show()

    def next_item(self, label: str) -> None:
        self._label = label = printable(label)
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=label)

    def close(self, *, finished: bool = True) -> None:
        """Stop drawing; the last state of the bar stays on the screen."""
        progress, self._progress = self._progress, None
        if progress is not None and self._task is not None:
            if finished and self._total is None:
                # Unknown size (stdin): the bar ends full once the stream has ended.
                progress.update(self._task, total=self.done, completed=self.done)
            progress.stop()


def _rate_column() -> ProgressColumn:
    """A column with the current rate in binary units (``MiB/s``), like the sizes."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            if speed is None and task.finished and task.elapsed:
                speed = task.completed / task.elapsed  # finished by update(), not advance()
            text = "?/s" if speed is None else f"{human_size(speed)}/s"
            return Text(text, style="progress.data.speed")

    return RateColumn()
