"""How a fetch run shows itself: a live progress bar on a terminal, plain lines otherwise.

The only module that imports rich. Under cron (stdout not a terminal) nothing but plain, parseable
lines is printed: one per source, then a summary.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


class FetchProgress:
    """A context manager with `started(name)` and `finished(line, is_error)` callbacks for a fetch run."""

    def __init__(self, total: int, *, quiet: bool = False) -> None:
        self.total = total
        self.quiet = quiet
        self.live = not quiet and sys.stdout.isatty() and total > 1
        self._console: Console | None = None  # the rich consoles of a live bar
        self._errors: Console | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._running: list[str] = []

    def __enter__(self) -> FetchProgress:
        if self.live:
            # imported here: rich is 50 modules, and a run under cron prints plain lines
            from rich import console, progress

            self._console = console.Console(stderr=False, highlight=False)
            self._errors = console.Console(stderr=True, highlight=False)
            self._progress = progress.Progress(
                progress.SpinnerColumn(),
                progress.TextColumn("[bold]fetching"),
                progress.BarColumn(),
                progress.MofNCompleteColumn(),
                progress.TimeElapsedColumn(),
                progress.TextColumn("{task.description}", style="dim"),
                console=self._console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=self.total)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def started(self, name: str) -> None:
        """A source began: show it among the ones in flight."""
        self._running.append(name)
        self._describe()

    def finished(self, name: str, line: str, *, is_error: bool) -> None:
        """A source ended: print its line (errors to stderr) and advance the bar."""
        if name in self._running:
            self._running.remove(name)
        if is_error:
            self._print_error(line)
        elif not self.quiet:
            self._print(line)
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
        self._describe()

    def warning(self, line: str) -> None:
        """Something about the whole run, on stderr even under -q: it is for whoever looks after the machine."""
        self._print_error(line, style="yellow")

    def detail(self, line: str) -> None:
        """A warning or detail shown under -v, on stderr."""
        self._print_error(line, style="dim")

    def _describe(self) -> None:
        if self._progress is not None and self._task is not None:
            shown = ", ".join(self._running[:3]) + (f" +{len(self._running) - 3}" if len(self._running) > 3 else "")
            self._progress.update(self._task, description=shown)

    def _print(self, line: str) -> None:
        if self._console is not None:
            self._console.print(line, markup=False, soft_wrap=True)
        else:
            print(line, flush=True)

    def _print_error(self, line: str, style: str = "red") -> None:
        if self._errors is not None:
            self._errors.print(line, markup=False, style=style, soft_wrap=True)
        else:
            print(line, file=sys.stderr, flush=True)


@contextmanager
def working(message: str, *, quiet: bool = False) -> Iterator[None]:
    """A spinner saying `message` while a step with no progress of its own runs; on a terminal only, and gone
    when the step ends (regrouping a 100k-post store after a fetch takes seconds)."""
    if quiet or not sys.stdout.isatty():
        yield
        return
    from rich.console import Console

    with Console(highlight=False).status(message):
        yield
