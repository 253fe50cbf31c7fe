"""Progress a person can see: a live line on a terminal, and plain timed lines in a log
(``make demo > log``, a scheduled job), where a live display would print nothing at all."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hotspots.cli.main import console

Update = Callable[[str, int, int | None], None]
"""``update(detail, done, total)``: ``total`` None while it is not known."""
QUIET_S = 2.0
"""In a log, nothing for work shorter than this: a quick failure stays one error line."""
LINE_EVERY_S = 10.0
"""In a log, a progress line this often, and one as each part of the work ends."""


@contextmanager
def stage(label: str) -> Iterator[None]:
    """A spinner on a terminal; elsewhere a line every 10 s while it runs and one at the end
    (none for work under 2 s)."""
    if console.is_terminal:
        with console.status(label):
            yield
        return
    start = time.monotonic()
    done = threading.Event()

    def beat() -> None:
        while not done.wait(LINE_EVERY_S):
            console.print(f"{label} ... {time.monotonic() - start:.0f} s", soft_wrap=True)

    beater = threading.Thread(target=beat, name="progress", daemon=True)
    beater.start()
    try:
        yield
    finally:
        done.set()
        beater.join()
    _done(label, start)


@contextmanager
def counted(label: str) -> Iterator[Update]:
    """A bar on a terminal; elsewhere, after the first 2 s, a line every 10 s and as each
    part (a model's folds, a file) ends, and one at the end."""
    if console.is_terminal:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task(label, total=None)

            def show(detail: str, done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total, description=f"{label} {detail}")

            yield show
        return
    start = time.monotonic()
    last_at = start
    last_ended: tuple[str, int, int] | None = None

    def line(detail: str, done: int, total: int | None) -> None:
        nonlocal last_at, last_ended
        now = time.monotonic()
        # a part ends once: a gzip reader says "all bytes read" at each batch it still parses
        ended = (detail, done, total) if total is not None and done >= total else None
        finished = ended is not None and ended != last_ended
        if now - start < QUIET_S or not (finished or now - last_at >= LINE_EVERY_S):
            return
        last_at = now
        last_ended = ended or last_ended
        share = f" ({done / total:.0%})" if total else ""
        of = f"/{total:,}" if total else ""
        console.print(f"{label} {detail} {done:,}{of}{share}, {now - start:.0f} s", soft_wrap=True)

    yield line
    _done(label, start)


def _done(label: str, start: float) -> None:
    """The closing line of work that was long enough to be shown."""
    took = time.monotonic() - start
    if took >= QUIET_S:
        console.print(f"{label}: done in {took:.1f} s", soft_wrap=True)
