"""The most forecast any plan of N contiguous, non-overlapping areas could hold: a proven ceiling.

Used to tell a weak growth rule from a forecast no contiguous plan can follow (scattered
single hot cells), e.g. ``benchmarks/plan_scatter.py``. Every area of a plan has one best cell
(highest score, ties to the lower position), and areas do not overlap, so their best cells
differ. ``OPT(c)``, the most a connected set of at most ``k`` cells holds when ``c`` is its best
cell, is found exactly by branch and bound over the connected sets rooted at ``c`` (each set
listed once, as in Wernicke's ESU, and only those within the km2 limit: counting ``k`` cells,
the most the smallest cells allow, would let 9 cells of 0.111 km2 into 1 km2 where the smallest
cell is 0.1109); a plan holds at most the sum of the N largest ``OPT(c)``.
Areas may share cells in that sum, so it over-estimates where hot cells cluster (one cluster's
cells count for several areas) and is tight where they are scattered.

``iterations`` tightens it by Lagrangian relaxation of "each cell in one area at most": for any
prices ``lam >= 0``, a plan holds at most ``sum(lam)`` plus the same sum of the N best areas
scored ``score - lam`` (a cell in several of them is then paid for). Subgradient steps (Polyak's,
towards what ``grow_areas`` holds) raise the price of cells counted twice and lower it on cells
unused; the least value seen is the ceiling.

Seconds for a spiky forecast of ~8,000 cells and 8-cell areas; a root whose search passes
``max_nodes`` falls back to a looser bound (its score plus the best ``k - 1`` reachable), so
the result stays an upper bound, only less tight.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from hotspots.grid.regions import (
    _SLACK,
    CellArray,
    FloatArray,
    IntArray,
    PlanBudget,
    grow_areas,
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
    iterations: int = 0,
) -> PlanCeiling:
    """An upper bound on the score ``budget.areas`` contiguous, non-overlapping areas of at most
    ``budget.per_area_km2()`` each can hold over ``cells`` (sorted, unique; ``score`` aligned),
    tightened by ``iterations`` Lagrangian steps (0: the plain bound, no pricing)."""
    score = np.asarray(score, dtype=np.float64)
    k = cells_per_area(cell_km2, budget.per_area_km2())
    held = 0.0
    if iterations:
        held = sum(float(score[m].sum()) for m in grow_areas(cells, score, cell_km2, budget))
    rounds = priced_rounds(cells, score, cell_km2, budget, held, iterations, max_nodes)
    last = functools.reduce(lambda _, r: r, rounds, PricedRound(0.0, [], 0, 0))
    return PlanCeiling(last.ceiling, k, last.roots, last.inexact)


@dataclass(frozen=True)
class PricedRound:
    """One Lagrangian step: ``ceiling``, the least bound so far; ``sets``, the N best areas
    under this step's prices (positions; None: a root's looser bound, no area); ``roots`` searched
    at the first step and ``inexact`` roots so far."""

    ceiling: float
    sets: list[list[int] | None]
    roots: int
    inexact: int


def priced_rounds(
    cells: CellArray,
    score: FloatArray,
    cell_km2: FloatArray,
    budget: PlanBudget,
    held: float,
    iterations: int,
    max_nodes: int = 200_000,
) -> Iterator[PricedRound]:
    """The plain bound, then up to ``iterations`` priced steps (Polyak steps towards ``held``,
    what a known plan holds); stops early when the prices leave no cell counted twice or unused
    yet priced. Disjoint ``sets`` are a plan within the ceiling's gap of the best."""
    score = np.asarray(score, dtype=np.float64)
    k = cells_per_area(cell_km2, budget.per_area_km2())
    if k == 0 or score.size == 0:
        return
    order = np.lexsort((np.arange(score.size), -score))
    rank = np.empty(score.size, dtype=np.int64)
    rank[order] = np.arange(score.size)
    limit = budget.per_area_km2() * (1 + _SLACK)
    km2 = np.asarray(cell_km2, dtype=np.float64).tolist()
    search = _RootSearch(neighbour_table(cells).tolist(), rank.tolist(), k, max_nodes, km2, limit)
    best, sets, roots, inexact = search.best_areas(score, order, budget.areas)
    yield PricedRound(best, sets, roots, inexact)
    lam, step, stalled = np.zeros(score.size), 2.0, 0
    for _ in range(iterations if best > 0 else 0):
        if any(m is None for m in sets):
            break  # a looser root bound has no area to price
        count = np.zeros(score.size)
        for m in sets:
            count[m] += 1
        grad = 1.0 - count  # d(value) / d(lam)
        grad[(lam <= 0) & (grad > 0)] = 0.0
        if not grad.any() or best - held <= 1e-12 * abs(best):
            break
        lam = np.maximum(lam - step * (best - held) / float((grad**2).sum()) * grad, 0.0)
        value, sets, _, more = search.best_areas(score - lam, order, budget.areas)
        value += float(lam.sum())
        inexact += more
        if value < best - 1e-12 * abs(best):
            best, stalled = value, 0
        else:
            stalled += 1
            if stalled == 5:
                step, stalled = step / 2, 0
        yield PricedRound(best, sets, roots, inexact)


class _RootSearch:
    """Branch and bound for ``OPT(c)``: connected sets of at most ``k`` cells and ``limit`` km2
    whose other cells all rank below ``c`` (in the order of the original score, whatever score is
    searched)."""

    def __init__(
        self,
        neighbours: list[list[int]],
        rank: list[int],
        k: int,
        max_nodes: int,
        km2: list[float],
        limit: float,
    ) -> None:
        self.neighbours, self.rank, self.k, self.max_nodes = neighbours, rank, k, max_nodes
        self.km2, self.limit = km2, limit

    def best_areas(
        self, score: FloatArray, order: IntArray, areas: int
    ) -> tuple[float, list[list[int] | None], int, int]:
        """The sum of the ``areas`` largest positive ``OPT(c)``, their sets (None: a looser
        bound), the roots searched and how many fell back to a looser bound."""
        values = score.tolist()
        ranked = np.maximum(score[order], 0.0)
        below = np.maximum.accumulate(ranked[::-1])[::-1].tolist()  # best score ranked >= c
        found: list[tuple[float, list[int] | None]] = []
        roots = inexact = 0
        for j, c in enumerate(order.tolist()):
            nth = sorted(v for v, _ in found)[-areas] if len(found) >= areas else 0.0
            if self.k * below[j] <= nth:
                break  # no later root's area can hold more than k times the best score left
            value, cells = self.best(c, values, nth)
            roots += 1
            inexact += cells is None
            if value > nth:
                found.append((value, cells))
        top = sorted(found, key=lambda f: -f[0])[:areas]
        return float(sum(v for v, _ in top)), [m for _, m in top], roots, inexact

    def _reach(self, c: int, score: list[float]) -> list[float]:
        """Prefix sums of the best scores (clipped at 0) within ``k - 1`` steps of ``c`` through
        cells ranking below it: the most ``j`` more cells can add."""
        below, nbrs = self.rank[c], self.neighbours
        seen, layer = {c}, [c]
        for _ in range(self.k - 1):
            layer = [q for p in layer for q in nbrs[p] if q >= 0 and self.rank[q] > below]
            layer = [q for q in dict.fromkeys(layer) if q not in seen]
            seen.update(layer)
        values = sorted((max(score[q], 0.0) for q in seen if q != c), reverse=True)
        return np.concatenate([[0.0], np.cumsum(values[: self.k - 1])]).tolist()

    def best(self, c: int, score: list[float], floor: float) -> tuple[float, list[int] | None]:
        """``OPT(c)`` and its cells when it beats ``floor`` (else ``floor`` or less, and its best
        set found); a looser bound and None when the search passes ``max_nodes``."""
        nbrs, rank, k, limit = self.neighbours, self.rank, self.k, self.limit
        km2 = self.km2
        prefix = self._reach(c, score)
        most = len(prefix) - 1
        best, cells = score[c], [c]
        if score[c] + prefix[min(k - 1, most)] <= floor:
            return best, cells
        nodes = 0

        def extend(
            members: list[int], total: float, size: float, ext: list[int], seen: set[int]
        ) -> None:
            nonlocal best, cells, nodes
            nodes += 1
            if nodes > self.max_nodes:
                raise _OutOfNodes
            if total > best:
                best, cells = total, list(members)
            ext = [w for w in ext if size + km2[w] <= limit]  # too large now, too large later
            room, bar = k - len(members), max(best, floor)
            if room == 0 or not ext or total + prefix[min(room, most)] <= bar:
                return
            ext = sorted(ext, key=lambda q: -score[q])
            for i, w in enumerate(ext):
                if total + score[w] + prefix[min(room - 1, most)] <= max(best, floor):
                    break  # the later ones score no more
                new = [u for u in nbrs[w] if u >= 0 and rank[u] > rank[c] and u not in seen]
                members.append(w)
                extend(
                    members, total + score[w], size + km2[w], ext[i + 1 :] + new, seen | set(new)
                )
                members.pop()

        start = [q for q in nbrs[c] if q >= 0 and rank[q] > rank[c]]
        try:
            extend([c], score[c], km2[c], start, {c, *start})
        except _OutOfNodes:
            return score[c] + prefix[min(k - 1, most)], None
        return best, cells


class _OutOfNodes(Exception):
    """A root's search passed its node budget."""
