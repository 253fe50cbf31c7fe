"""Where a spec's learning fits run: spread over the workers by the client, not all where the
spec's panel was prepared.

Dask runs a task where its inputs are, and a spec's input is its prepared panel: every fit of
the spec queued on one worker, its backtests' LightGBM blocks one after the other and its
final fit after them, while the other worker could be idle. Dask's work stealing moves a
queued task only when the victim's estimated work exceeds the thief's by 1.5 times the task's
(``distributed.stealing``), which two fits of ~5 s, one running, never do: in a profile of the
8-spec batch one worker waited 6-7 s for the last spec's second block. The panel of 5k cells
is ~26 MB (0.03 s to pickle); a worker that runs a fit of a spec it did not prepare fetches
it once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client, Future

    from hotspots.cluster.tasks import Outline

MAX_CELL_PERIODS = 8_000_000
"""Specs whose panel has up to this many cell-periods are spread: a copy of the prepared data
up to ~270 MB (~34 bytes a cell-period: 26 MB at 5k cells x 156 weeks). Larger ones keep
their fits where they were prepared, as a copy costs memory (3.4 GiB at 500k cells)."""


def spreads(outline: Outline) -> bool:
    """Whether the spec outlined may have its learning fits spread (``MAX_CELL_PERIODS``)."""
    return outline.cells * outline.periods <= MAX_CELL_PERIODS


class Spread:
    """The learning fits (not the baselines', which take ~0.05 s) the client has sent each
    worker and that have not ended; a new one goes to the worker with the fewest per thread,
    ties to one holding the spec's panel. A preference, not a restriction: Dask still runs
    the fit elsewhere should that worker leave, and may still steal it."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.load: dict[str, int] = {}
        self.sent: dict[str, str] = {}  # task key -> worker

    def choose(self, key: str, panel: Future) -> str | None:
        """The worker for the fit ``key`` of the spec whose prepared data are ``panel``
        (None: no worker is there, Dask decides)."""
        threads = self.client.nthreads()
        if not threads:
            return None
        held = set(self.client.who_has([panel]).get(panel.key, ()))

        def rank(worker: str) -> tuple[float, bool, str]:
            return self.load.get(worker, 0) / threads[worker], worker not in held, worker

        worker = min(threads, key=rank)
        self.load[worker] = self.load.get(worker, 0) + 1
        self.sent[key] = worker
        return worker

    def ended(self, key: str) -> None:
        """The task ``key`` ended (or was given up)."""
        if (worker := self.sent.pop(key, None)) is not None:
            self.load[worker] -= 1
