"""Patrol areas: N contiguous, non-overlapping areas of H3 cells holding the most of a score.

The pure algorithm, below publishing (which builds the plan document from it) and evaluation
(which scores plans in a backtest), so both use one implementation.

Algorithm: greedy region growing over H3 adjacency. Each area starts at the free cell whose
disk of about one area's size holds the most free score (``seed="window"``, the default: one
vectorised ``bincount`` per area), or at the highest-scoring free cell (``seed="cell"``); it
then grows by its best adjacent unassigned study cell (highest score, ties to the lower cell
id) while that cell still fits under the area limit; when no neighbour fits, the next area
starts. Neighbours are looked up only for the cells an area takes (a few per area), so the
work is a few vectorised passes plus a few hundred small steps, never a Python loop over every
cell of the city. The window seed avoids spending an area on a lone one-cell spike: in the
backtests of benchmarks/plan_capture.py it captures 0.03-0.11 more of what the top cells of
the same area capture than the cell seed under a spiky forecast (historical mean).

Greedy growth is not optimal (an area may take a weak bridging cell to reach a strong one only
if the weak one is the best neighbour at that step), but it is fast, deterministic and easy to
explain; ``top_cells_at_area`` is the free, non-contiguous upper reference it is measured
against (benchmarks/plans.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import h3
import numpy as np
import numpy.typing as npt

from hotspots.errors import ConfigError
from hotspots.grid.cells import grid_disk_table

CellArray = npt.NDArray[np.uint64]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_SLACK = 1e-9
"""Relative slack on area limits, so a limit of exactly k cells' area admits k cells."""


@dataclass(frozen=True)
class PlanBudget:
    """How much ground the patrols can cover.

    ``areas`` areas of at most ``max_area_km2`` each; with ``total_km2`` the areas together cover
    at most that much (each still under ``max_area_km2`` when given, else ``total_km2 / areas``);
    an area then leaves at least one cell's area for each area still to come.
    """

    areas: int
    max_area_km2: float | None = None
    total_km2: float | None = None

    def per_area_km2(self) -> float:
        """The largest one area may be."""
        if self.max_area_km2 is not None:
            return float(self.max_area_km2)
        if self.total_km2 is None:
            raise ConfigError("a plan budget needs max_area_km2 or total_km2")
        return float(self.total_km2) / self.areas

    def total_limit_km2(self) -> float:
        """The most all areas together may cover."""
        per_area = self.per_area_km2() * self.areas
        return per_area if self.total_km2 is None else min(per_area, float(self.total_km2))

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "areas": self.areas,
            "max_area_km2": self.max_area_km2,
            "total_km2": self.total_km2,
        }


def check_budget(budget: PlanBudget, cell_km2: FloatArray, resolution: int) -> None:
    """ConfigError naming the value when no plan can meet ``budget`` on these cells."""
    if budget.areas < 1:
        raise ConfigError(f"--areas {budget.areas}: a plan needs at least one area")
    for name, value in (("max_area_km2", budget.max_area_km2), ("total_km2", budget.total_km2)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{name} {value}: must be a positive number of km2")
    if budget.areas > cell_km2.size:
        raise ConfigError(
            f"--areas {budget.areas}: more areas than the model's {cell_km2.size:,} cells"
        )
    smallest = float(cell_km2.min())
    if budget.per_area_km2() * (1 + _SLACK) < smallest:
        raise ConfigError(
            f"an area of at most {budget.per_area_km2():.4g} km2 is smaller than one cell "
            f"({smallest:.4g} km2 at H3 resolution {resolution}); allow at least that much"
        )
    if budget.total_limit_km2() * (1 + _SLACK) < smallest * budget.areas:
        raise ConfigError(
            f"a total of {budget.total_limit_km2():.4g} km2 cannot hold {budget.areas} areas of "
            f"at least one cell ({smallest:.4g} km2 each at H3 resolution {resolution})"
        )


SEEDS: tuple[str, ...] = ("cell", "window")
"""How an area's first cell is chosen: the highest free cell, or the free cell whose disk of
about one area's size holds the most free score (fewer isolated one-cell spikes)."""


def grow_areas(
    cells: CellArray,
    score: FloatArray,
    cell_km2: FloatArray,
    budget: PlanBudget,
    seed: str = "window",
) -> list[IntArray]:
    """Positions into ``cells`` of each area, in the order built (greedy region growing).

    ``cells`` must be sorted and unique (a study area's cells); ``score`` and ``cell_km2`` align
    with them. ``seed`` is one of ``SEEDS``. Call ``check_budget`` first for a clear message on
    impossible budgets.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    score = np.asarray(score, dtype=np.float64)
    if cells.size > 1 and not (np.diff(cells.astype(np.int64)) > 0).all():
        raise ValueError("cells must be sorted and unique")
    if seed not in SEEDS:
        raise ConfigError(f"seed {seed!r}: must be one of {list(SEEDS)}")
    taken = np.zeros(cells.size, dtype=bool)
    per_area, total_left = budget.per_area_km2(), budget.total_limit_km2()
    smallest = float(cell_km2.min()) if cell_km2.size else 0.0
    pick = _seed_picker(cells, score, cell_km2, per_area, taken, seed)
    areas: list[IntArray] = []
    while len(areas) < budget.areas:
        first = pick()
        if first is None:
            break
        reserve = (budget.areas - len(areas) - 1) * smallest  # one cell for each area to come
        limit = min(per_area, total_left - reserve) * (1 + _SLACK)
        if cell_km2[first] > limit:
            break
        members = _grow_one(cells, score, cell_km2, taken, first, limit)
        total_left -= float(cell_km2[members].sum())
        areas.append(members)
    return areas


def _seed_picker(
    cells: CellArray,
    score: FloatArray,
    cell_km2: FloatArray,
    per_area: float,
    taken: npt.NDArray[np.bool_],
    seed: str,
) -> Callable[[], int | None]:
    """A function giving the next area's first cell (None when every cell is taken)."""
    if seed == "cell":
        order = np.lexsort((cells, -score))  # best first, ties to the lower cell id
        cursor = [0]

        def next_cell() -> int | None:
            while cursor[0] < order.size and taken[order[cursor[0]]]:
                cursor[0] += 1
            return int(order[cursor[0]]) if cursor[0] < order.size else None

        return next_cell
    radius = 0  # the largest disk (1, 7, 19, 37 ... cells) that fits one area
    while (1 + 3 * (radius + 1) * (radius + 2)) * float(cell_km2.mean()) <= per_area:
        radius += 1
    rows, nbrs = grid_disk_table(cells, radius)
    pos = np.minimum(np.searchsorted(cells, nbrs), cells.size - 1)
    ok = cells[pos] == nbrs
    rows, pos = rows[ok], pos[ok]

    def next_window() -> int | None:
        if taken.all():
            return None
        free = np.where(taken, 0.0, score)
        sums = np.bincount(rows, weights=free[pos], minlength=cells.size)
        sums[taken] = -np.inf
        return int(np.argmax(sums))  # ties to the lower cell id

    return next_window


def _grow_one(
    cells: CellArray,
    score: FloatArray,
    cell_km2: FloatArray,
    taken: npt.NDArray[np.bool_],
    seed: int,
    limit: float,
) -> IntArray:
    """Grow one area from ``seed`` by its best adjacent free cell until nothing more fits."""
    members = [seed]
    taken[seed] = True
    size = float(cell_km2[seed])
    frontier: dict[int, float] = {}
    _add_neighbours(cells, score, taken, seed, frontier)
    while frontier:
        fits = [p for p in frontier if size + cell_km2[p] <= limit]
        if not fits:
            break
        best = max(fits, key=lambda p: (frontier[p], -p))
        del frontier[best]
        members.append(best)
        taken[best] = True
        size += float(cell_km2[best])
        _add_neighbours(cells, score, taken, best, frontier)
    return np.sort(np.asarray(members, dtype=np.int64))


def _add_neighbours(
    cells: CellArray,
    score: FloatArray,
    taken: npt.NDArray[np.bool_],
    pos: int,
    frontier: dict[int, float],
) -> None:
    """Put the free study cells next to ``cells[pos]`` into ``frontier`` (position -> score)."""
    ring = np.fromiter(
        (h3.str_to_int(c) for c in h3.grid_ring(h3.int_to_str(int(cells[pos])), 1)),
        dtype=np.uint64,
    )
    at = np.searchsorted(cells, ring)
    inside = at < cells.size
    at, ring = at[inside], ring[inside]
    for p in at[cells[at] == ring].tolist():
        if not taken[p]:
            frontier[p] = float(score[p])


def top_cells_at_area(score: FloatArray, cell_km2: FloatArray, total_km2: float) -> IntArray:
    """Positions of the highest-scoring cells whose areas add up to at most ``total_km2``.

    The non-contiguous reference a plan is measured against: same ground, no contiguity.
    """
    order = np.lexsort((np.arange(score.size), -np.asarray(score, dtype=np.float64)))
    cumulative = np.cumsum(np.asarray(cell_km2, dtype=np.float64)[order])
    return np.sort(order[: int(np.searchsorted(cumulative, total_km2 * (1 + _SLACK), "right"))])


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
