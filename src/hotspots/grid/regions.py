"""Patrol areas: N contiguous, non-overlapping areas of H3 cells holding the most of a score.

The pure algorithm, below publishing (which builds the plan document from it) and evaluation
(which scores plans in a backtest), so both use one implementation.

Algorithm: greedy region growing over H3 adjacency, one area after another. An area grows
from its first cell by its best adjacent free study cell (highest score, ties to the lower
position), or by a pair -- an adjacent free cell and its best free neighbour beyond -- when the
pair's mean score beats that best single cell, so a weak cell is taken to reach a strong one
behind it; it stops when nothing more fits under the area limit (``stop="cap"``, the default:
the most forecast the budget holds) or also when the next step scores below the least of the
top cells the whole budget would hold (``stop="top-cells"``: areas may be smaller than the
limit, with no filler cells; fewer km2 and less forecast in all, but more per km2).

The first cell (``seed``): ``"area"`` (the default) grows an area from each of the best few
free cells and the best few free disks of about one area's size and keeps the one that holds
the most (net of the stop's floor); ``"window"`` starts at the free cell whose disk holds the
most; ``"cell"`` at the highest free cell. A grown candidate is kept for the next area while
none of the cells it looked at is taken, so later areas regrow only a few. Neighbours come
from one vectorised table; each step looks at a few dozen cells, never at every cell of the city.

Greedy growth is not optimal, but it is fast, deterministic and easy to explain;
``top_cells_sum_at_area`` (the highest cells covering the plan's very km2, scattered) is the
reference it is measured against (benchmarks/plan_capture.py, benchmarks/plans.py).

The budget the areas grow under, and its checks, are ``grid.budget`` (re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import h3
import numpy as np
import numpy.typing as npt

from hotspots.errors import ConfigError
from hotspots.grid.budget import _SLACK as _SLACK  # re-exported: the budget, grid.budget
from hotspots.grid.budget import PlanBudget as PlanBudget
from hotspots.grid.budget import _check_km2, _check_largest
from hotspots.grid.budget import check_budget as check_budget
from hotspots.grid.budget import fit_to_study_area as fit_to_study_area
from hotspots.grid.cells import grid_disk_table
from hotspots.plan_limits import MAX_AREA_CELLS as MAX_AREA_CELLS  # grid.budget enforces it

CellArray = npt.NDArray[np.uint64]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SEEDS: tuple[str, ...] = ("cell", "window", "area")
"""How an area's first cell is chosen: the highest free cell; the free cell whose disk of about
one area's size holds the most free score; or (the default) the candidate, among the best free
cells and the best disks, whose area as grown holds the most."""
STOPS: tuple[str, ...] = ("cap", "top-cells")
"""When an area stops growing: when nothing more fits under its limit (the most forecast the
budget can hold), or also when the next cell scores below the least of the top cells the whole
budget would hold (areas may then be smaller than the limit; no filler cells)."""
CANDIDATES = 8
"""Seed ``area``: how many of the best free cells, and of the best disks, are grown and compared."""


def grow_areas(
    cells: CellArray,
    score: FloatArray,
    cell_km2: FloatArray,
    budget: PlanBudget,
    seed: str = "area",
    stop: str = "cap",
) -> list[IntArray]:
    """Positions into ``cells`` of each area, in the order built (greedy region growing).

    ``cells`` must be sorted and unique (a study area's cells); ``score`` and ``cell_km2`` align
    with them. ``seed`` is one of ``SEEDS``, ``stop`` one of ``STOPS``. A km2 limit that is not
    a positive finite number, or that lets one area hold more than ``MAX_AREA_CELLS`` cells, is
    a ConfigError (a ValueError) naming it, so no caller can start a growth that takes minutes;
    call ``check_budget`` first for a clear message on the other impossible budgets.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    score = np.asarray(score, dtype=np.float64)
    cell_km2 = np.asarray(cell_km2, dtype=np.float64)
    if cells.size > 1 and not (np.diff(cells.astype(np.int64)) > 0).all():
        raise ValueError("cells must be sorted and unique")
    if seed not in SEEDS:
        raise ConfigError(f"seed {seed!r}: must be one of {list(SEEDS)}")
    if stop not in STOPS:
        raise ConfigError(f"stop {stop!r}: must be one of {list(STOPS)}")
    _check_km2(budget)
    if cells.size == 0:
        return []
    _check_largest(budget, float(cell_km2.min()), h3.get_resolution(h3.int_to_str(int(cells[0]))))
    per_area, total_left = budget.per_area_km2(), budget.total_limit_km2()
    floor = -math.inf
    if stop == "top-cells":
        top = top_cells_at_area(score, cell_km2, total_left)
        floor = float(score[top].min()) if top.size else -math.inf
    grower = _Grower(cells, score, cell_km2, floor)
    pick = _seed_picker(grower, per_area, seed)
    smallest = float(cell_km2.min())
    areas: list[IntArray] = []
    while len(areas) < budget.areas and not grower.full():
        reserve = (budget.areas - len(areas) - 1) * smallest  # one cell for each area to come
        limit = min(per_area, total_left - reserve) * (1 + _SLACK)
        members = pick(limit)
        if members is None:
            break
        grower.take(members)
        total_left -= float(cell_km2[members].sum())
        areas.append(np.sort(np.asarray(members, dtype=np.int64)))
    return areas


class _Grower:
    """Grows one area from a first cell over the free cells (``take`` marks an area's cells).

    Growth takes the best adjacent free cell, or a pair (an adjacent free cell and its best
    free neighbour beyond) when the pair's mean score beats the best single cell: a weak
    bridging cell is taken only to reach a strong one. It stops when nothing fits under the
    limit, or when the next step's score per cell is below ``floor``.
    """

    def __init__(self, cells: CellArray, score: FloatArray, km2: FloatArray, floor: float) -> None:
        self.cells = cells
        self.table = neighbour_table(cells)
        # -1 (no neighbour) indexes the last, never free, slot of ``_free``
        self.neighbours: list[list[int]] = self.table.tolist()
        padded = np.append(score, -np.inf)
        self.pair_bound: list[float] = ((score + padded[self.table].max(axis=1)) / 2).tolist()
        """The best a pair starting at each cell could score per cell (free or not)."""
        self.score: list[float] = score.tolist()
        self.km2: list[float] = km2.tolist()
        self.floor = floor
        self.taken = np.zeros(cells.size, dtype=bool)
        self._free = bytearray(b"\x01") * cells.size + b"\x00"
        self._left = cells.size

    def full(self) -> bool:
        return self._left == 0

    def take(self, members: list[int]) -> None:
        for p in members:
            self._free[p] = 0
        self.taken[members] = True
        self._left -= len(members)

    def grow(self, first: int, limit: float) -> tuple[list[int], set[int]]:
        """The area grown from ``first`` under ``limit`` km2, and every cell looked at (the
        result stands while none of them is taken)."""
        score, km2, nbrs, free = self.score, self.km2, self.neighbours, self._free
        members, inside = [first], {first}
        size = km2[first]
        frontier = {q for q in nbrs[first] if free[q]}
        seen = {first} | frontier
        while frontier:
            room = limit - size
            fits = [q for q in frontier if km2[q] <= room]
            if not fits:
                break
            one = max(fits, key=lambda q: (score[q], -q))
            step, value = [one], score[one]
            bound = self.pair_bound
            for q in fits:  # a pair: q and its best free neighbour beyond the frontier
                if bound[q] <= value:
                    continue
                beyond = [r for r in nbrs[q] if free[r] and r not in inside and r not in frontier]
                seen.update(beyond)
                if not beyond:
                    continue
                r = max(beyond, key=lambda r: (score[r], -r))
                mean = (score[q] + score[r]) / 2
                if mean > value and km2[q] + km2[r] <= room:
                    step, value = [q, r], mean
            if value < self.floor:
                break
            for q in step:
                members.append(q)
                inside.add(q)
                frontier.discard(q)
                size += km2[q]
                new = [r for r in nbrs[q] if free[r] and r not in inside]
                frontier.update(new)
                seen.update(new)
        return members, seen


def _seed_picker(
    grower: _Grower, per_area: float, seed: str
) -> Callable[[float], list[int] | None]:
    """A function giving the next area's cells under a limit (None when none can be made)."""
    score = np.asarray(grower.score)
    taken = grower.taken
    order = np.lexsort((np.arange(score.size), -score))  # best first, ties to the lower position
    cursor = [0]

    def best_cells(n: int) -> list[int]:
        while cursor[0] < order.size and taken[order[cursor[0]]]:
            cursor[0] += 1
        out: list[int] = []
        for p in order[cursor[0] :].tolist():
            if not taken[p]:
                out.append(p)
                if len(out) == n:
                    break
        return out

    window = _window_sums(grower, per_area) if seed != "cell" else None
    cache: dict[int, tuple[float, list[int], set[int]]] = {}

    def grown(first: int, limit: float) -> list[int]:
        hit = cache.get(first)
        if hit is None or hit[0] != limit or taken[list(hit[2])].any():
            members, seen = grower.grow(first, limit)
            hit = cache[first] = (limit, members, seen)
        return hit[1]

    def next_area(limit: float) -> list[int] | None:
        if seed == "cell":
            starts = best_cells(1)
        elif seed == "window":
            starts = [] if window is None else window(1)
        else:
            starts = sorted(set(best_cells(CANDIDATES)) | set(window(CANDIDATES) if window else []))
        starts = [p for p in starts if grower.km2[p] <= limit]
        if not starts:
            return None
        floor = grower.floor if math.isfinite(grower.floor) else 0.0
        best = max(
            (grown(p, limit) for p in starts),
            key=lambda m: (float(score[m].sum()) - floor * len(m), -m[0]),
        )
        for p in best:
            cache.pop(p, None)
        return best

    return next_area


def neighbour_table(cells: CellArray) -> IntArray:
    """Positions into ``cells`` of each cell's (up to six) neighbours among them; -1: none."""
    rows, nbrs = grid_disk_table(cells, 1)
    pos = np.minimum(np.searchsorted(cells, nbrs), cells.size - 1)
    ok = (cells[pos] == nbrs) & (pos != rows)
    rows, pos = rows[ok], pos[ok]  # rows ascend: the disk table lists each cell's disk in turn
    slot = np.arange(rows.size) - np.searchsorted(rows, rows)
    table = np.full((cells.size, 6), -1, dtype=np.int64)
    table[rows, slot] = pos
    return table


def _window_sums(grower: _Grower, per_area: float) -> Callable[[int], list[int]]:
    """The free cells whose disk of about one area's size holds the most free score, best first."""
    km2 = np.asarray(grower.km2)
    score = np.asarray(grower.score)
    taken = grower.taken
    radius = 0  # the largest disk (1, 7, 19, 37 ... cells) that fits one area
    while (1 + 3 * (radius + 1) * (radius + 2)) * float(km2.mean()) <= per_area:
        radius += 1
    size = score.size
    if radius == 1:  # the neighbour table already holds the 1-disk
        table = grower.table
        rows = np.repeat(np.arange(size), table.shape[1])
        pos = table.ravel()
        ok = pos >= 0
        rows = np.concatenate([np.arange(size), rows[ok]])
        pos = np.concatenate([np.arange(size), pos[ok]])
    else:
        rows, nbrs = grid_disk_table(grower.cells, radius)
        at = np.minimum(np.searchsorted(grower.cells, nbrs), size - 1)
        ok = grower.cells[at] == nbrs
        rows, pos = rows[ok], at[ok]

    def best(n: int) -> list[int]:
        free = np.where(taken, 0.0, score)
        sums = np.bincount(rows, weights=free[pos], minlength=size)
        sums[taken] = -np.inf
        if n >= size:
            top = np.argsort(-sums, kind="stable")
        else:
            part = np.argpartition(-sums, n - 1)[:n]
            top = part[np.lexsort((part, -sums[part]))]
        return [p for p in top.tolist() if not taken[p]][:n]

    return best


def top_cells_at_area(score: FloatArray, cell_km2: FloatArray, total_km2: float) -> IntArray:
    """Positions of the highest-scoring cells whose areas add up to at most ``total_km2``.

    The non-contiguous reference a plan is measured against: same ground, no contiguity.
    """
    order = np.lexsort((np.arange(score.size), -np.asarray(score, dtype=np.float64)))
    cumulative = np.cumsum(np.asarray(cell_km2, dtype=np.float64)[order])
    return np.sort(order[: int(np.searchsorted(cumulative, total_km2 * (1 + _SLACK), "right"))])


def top_cells_sum_at_area(
    values: FloatArray, score: FloatArray, cell_km2: FloatArray, total_km2: float
) -> float:
    """The sum of ``values`` over the highest-scoring cells covering exactly ``total_km2``: the
    whole cells ``top_cells_at_area`` gives, plus the share of the next cell that fills the
    rest. A plan is compared with this, so the reference covers its very km2, not up to one
    cell less."""
    values = np.asarray(values, dtype=np.float64)
    order = np.lexsort((np.arange(values.size), -np.asarray(score, dtype=np.float64)))
    cumulative = np.cumsum(np.asarray(cell_km2, dtype=np.float64)[order])
    whole = int(np.searchsorted(cumulative, total_km2 * (1 + _SLACK), "right"))
    held = float(values[order[:whole]].sum())
    if whole == values.size:
        return held
    rest = total_km2 - (float(cumulative[whole - 1]) if whole else 0.0)
    next_km2 = float(cumulative[whole]) - (float(cumulative[whole - 1]) if whole else 0.0)
    return held + float(values[order[whole]]) * min(1.0, max(0.0, rest / next_km2))


def is_contiguous(cells: CellArray) -> bool:
    """True when ``cells`` form one edge-connected group of H3 cells (one component)."""
    members = {int(c) for c in np.asarray(cells, dtype=np.uint64)}
    if not members:
        return False
    start = next(iter(members))
    seen, stack = {start}, [start]
    while stack:
        here = h3.int_to_str(stack.pop())
        for n in h3.grid_ring(here, 1):
            value = h3.str_to_int(n)
            if value in members and value not in seen:
                seen.add(value)
                stack.append(value)
    return seen == members
