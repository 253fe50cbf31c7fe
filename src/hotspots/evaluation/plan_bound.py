"""The most forecast any plan of N contiguous, non-overlapping areas could hold: a proven ceiling.

Used to tell a weak growth rule from a forecast no contiguous plan can follow (scattered
single hot cells), e.g. ``benchmarks/plan_scatter.py``. Every area of a plan has one best cell
(highest score, ties to the lower position), and areas do not overlap, so their best cells
differ. ``OPT(c)``, the most a connected set of at most ``k`` cells holds when ``c`` is its best
cell, is found exactly by branch and bound over the connected sets rooted at ``c`` (each set
listed once, as in Wernicke's ESU); a plan holds at most the sum of the N largest ``OPT(c)``.
Areas may share cells in that sum, so it over-estimates where hot cells cluster (one cluster's
cells count for several areas) and is tight where they are scattered.

Seconds for a spiky forecast of ~8,000 cells and 8-cell areas; a root whose search passes
``max_nodes`` falls back to a looser bound (its score plus the best ``k - 1`` reachable), so
the result stays an upper bound, only less tight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hotspots.grid.regions import (
    _SLACK,
    CellArray,
    FloatArray,
    PlanBudget,
    neighbour_table,
)


@dataclass(frozen=True)
class PlanCeiling:
    """``total``: no plan under the budget holds more score; ``cells_per_area``: the most cells
    one area can hold; ``roots``: roots searched; ``inexact``: roots that fell back to the
    looser bound (0: every root was searched to the end)."""

    total: float
    cells_per_area: int
    roots: int
    inexact: int


def cells_per_area(cell_km2: FloatArray, per_area_km2: float) -> int:
    """The most cells one area of at most ``per_area_km2`` can hold (the smallest cells first)."""
    sizes = np.cumsum(np.sort(np.asarray(cell_km2, dtype=np.float64)))
    return int(np.searchsorted(sizes, per_area_km2 * (1 + _SLACK), "right"))


def plan_ceiling(
    cells: CellArray,
    score: FloatArray,
    cell_km2: FloatArray,
    budget: PlanBudget,
    max_nodes: int = 200_000,
) -> PlanCeiling:
    """An upper bound on the score ``budget.areas`` contiguous, non-overlapping areas of at most
    ``budget.per_area_km2()`` each can hold over ``cells`` (sorted, unique; ``score`` aligned)."""
    score = np.asarray(score, dtype=np.float64)
    k = cells_per_area(cell_km2, budget.per_area_km2())
    if k == 0 or score.size == 0:
        return PlanCeiling(0.0, k, 0, 0)
    order = np.lexsort((np.arange(score.size), -score))
    rank = np.empty(score.size, dtype=np.int64)
    rank[order] = np.arange(score.size)
    search = _RootSearch(neighbour_table(cells).tolist(), score.tolist(), rank.tolist(), k)
    found: list[float] = []
    roots = inexact = 0
    for c in order.tolist():
        nth = sorted(found, reverse=True)[budget.areas - 1] if len(found) >= budget.areas else 0.0
        if k * max(search.score[c], 0.0) <= nth:
            break  # every later root ranks lower: its area holds at most k times its score
        value, exact = search.best(c, nth, max_nodes)
        found.append(value)
        roots += 1
        inexact += not exact
    return PlanCeiling(float(sum(sorted(found, reverse=True)[: budget.areas])), k, roots, inexact)


class _RootSearch:
    """Branch and bound for ``OPT(c)``: connected sets of at most ``k`` cells whose other cells
    all rank below ``c``."""

    def __init__(self, neighbours: list[list[int]], score: list[float], rank: list[int], k: int):
        self.neighbours, self.score, self.rank, self.k = neighbours, score, rank, k

    def _reach(self, c: int) -> list[float]:
        """Prefix sums of the best scores (clipped at 0) within ``k - 1`` steps of ``c`` through
        cells ranking below it: the most ``j`` more cells can add."""
        below, nbrs = self.rank[c], self.neighbours
        seen, layer = {c}, [c]
        for _ in range(self.k - 1):
            layer = [q for p in layer for q in nbrs[p] if q >= 0 and self.rank[q] > below]
            layer = [q for q in dict.fromkeys(layer) if q not in seen]
            seen.update(layer)
        values = sorted((max(self.score[q], 0.0) for q in seen if q != c), reverse=True)
        return np.concatenate([[0.0], np.cumsum(values[: self.k - 1])]).tolist()

    def best(self, c: int, floor: float, max_nodes: int) -> tuple[float, bool]:
        """``max(OPT(c), floor)`` and whether the search ran to the end (else a looser bound)."""
        score, nbrs, rank, k = self.score, self.neighbours, self.rank, self.k
        prefix = self._reach(c)
        most = len(prefix) - 1
        best = max(floor, score[c])
        if score[c] + prefix[min(k - 1, most)] <= best:
            return best, True
        nodes = 0

        def extend(size: int, total: float, ext: list[int], seen: set[int]) -> None:
            nonlocal best, nodes
            nodes += 1
            if nodes > max_nodes:
                raise _OutOfNodes
            best = max(best, total)
            room = k - size
            if room == 0 or not ext or total + prefix[min(room, most)] <= best:
                return
            ext = sorted(ext, key=lambda q: -score[q])
            for i, w in enumerate(ext):
                if total + score[w] + prefix[min(room - 1, most)] <= best:
                    break  # the later ones score no more
                new = [u for u in nbrs[w] if u >= 0 and rank[u] > rank[c] and u not in seen]
                extend(size + 1, total + score[w], ext[i + 1 :] + new, seen | set(new))

        start = [q for q in nbrs[c] if q >= 0 and rank[q] > rank[c]]
        try:
            extend(1, score[c], start, {c, *start})
        except _OutOfNodes:
            return max(floor, score[c] + prefix[min(k - 1, most)]), False
        return best, True


class _OutOfNodes(Exception):
    """A root's search passed its node budget."""
