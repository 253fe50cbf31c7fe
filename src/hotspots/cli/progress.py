"""Progress a person can see: a live line on a terminal, and plain timed lines in a log
(``make demo > log``, a scheduled job), where a live display would print nothing at all."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hotspots.cli.main import console

Update = Callable[[str, int, int | None], None]
"""``update(detail, done, total)``: ``total`` None while it is not known."""
LINE_EVERY_S = 10.0
"""In a log, a progress line at least this often (and at every tenth of the work)."""


@contextmanager
def stage(label: str) -> Iterator[None]:
    """A spinner on a terminal; elsewhere a line when the stage starts and one when it ends."""
    if console.is_terminal:
        with console.status(label):
            yield
        return
    start = time.monotonic()
    console.print(f"{label} ...", soft_wrap=True)
    yield
    console.print(f"{label}: done in {time.monotonic() - start:.1f} s", soft_wrap=True)


@contextmanager
def counted(label: str) -> Iterator[Update]:
    """A bar on a terminal; elsewhere a line per tenth of the work, or every 10 s."""
    if console.is_terminal:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task(label, total=None)

            def show(detail: str, done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total, description=f"{label} {detail}")

            yield show
        return
    start = time.monotonic()
    last = {"at": start, "tenth": -1}

    def line(detail: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        tenth = 10 * done // total if total else -1
        if tenth == last["tenth"] and now - last["at"] < LINE_EVERY_S:
            return
        last.update(at=now, tenth=tenth)
        share = f" ({done / total:.0%})" if total else ""
        of = f"/{total:,}" if total else ""
        console.print(
            f"{label} {detail} {done:,}{of}{share}, {now - start:.0f} s".replace("  ", " "),
            soft_wrap=True,
        )

    yield line
    console.print(f"{label}: done in {time.monotonic() - start:.1f} s", soft_wrap=True)
