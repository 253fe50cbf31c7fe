"""Specs that share a panel on a cluster: prepared once, then taken by each spec on a worker.

Specs alike in ``[data]``, ``[grid]``, ``[window]`` and covariates (``jobs.prepare.panel_key``)
make the same events and panel; the first started is prepared, each other takes its prepared
data (``tasks.share``: no second read) and is outlined from them once the first is outlined.
Before, every spec read and counted the same events on a worker of its own choosing, and the
workers held a copy each.
Where a spec's panel is decides where most of its small tasks run (its baselines' blocks,
assembling, summaries, report), so the taking specs go to the worker holding the fewest
specs' panels, ties to the one holding this panel: the other worker fetches one copy, which
every spec taking it there shares. A panel too large to copy cheaply (``spread.spreads``)
stays on its worker.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from hotspots.jobs.prepare import panel_key

if TYPE_CHECKING:
    from distributed import Client, Future

    from hotspots.jobs.spec import TrainingSpec


class Panels:
    """The specs started, by panel: which spec prepares each, which others wait for it."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.first: dict[str, int] = {}  # panel_key -> the spec that prepares it
        self.waiting: dict[int, list[int]] = {}  # that spec -> the specs taking its panel
        self.held: Counter[str] = Counter()  # specs' panels on each worker

    def start(self, i: int, spec: TrainingSpec) -> int | None:
        """The spec whose panel spec ``i`` takes once it is outlined, or None: ``i`` is
        the first of its panel and prepares it."""
        key = panel_key(spec)
        if (first := self.first.get(key)) is None:
            self.first[key] = i
            return None
        self.waiting.setdefault(first, []).append(i)
        return first

    def outlined(self, i: int, prepared: Future, spread: bool) -> list[tuple[int, str | None]]:
        """Spec ``i``'s panel is prepared and outlined: the specs waiting for it, each with
        the worker to take it on (None: Dask chooses, as no worker holds it now). ``spread``:
        whether a copy is cheap enough for another worker to fetch."""
        holders = sorted(self.client.who_has([prepared]).get(prepared.key, ()))
        if holders:
            self.held[holders[0]] += 1
        threads = self.client.nthreads()
        taking = []
        for j in self.waiting.pop(i, []):
            worker = self._choose(holders, threads) if spread else next(iter(holders), None)
            if worker is not None:
                self.held[worker] += 1
            taking.append((j, worker))
        return taking

    def _choose(self, holders: list[str], threads: dict[str, int]) -> str | None:
        if not threads:
            return next(iter(holders), None)

        def rank(worker: str) -> tuple[float, bool, str]:
            return self.held[worker] / threads[worker], worker not in holders, worker

        return min(threads, key=rank)
