"""A plan built from the Lagrangian-priced areas of ``plan_bound``: how close to its ceiling a
plan can get, measured against ``grow_areas`` (``benchmarks/plan_scatter.py --priced-plan``).

Each priced step (``plan_bound.priced_rounds``) gives the N best areas under that step's cell
prices; where they are disjoint they are a plan within the ceiling's gap of the best. Where
they overlap, a repair makes a plan of them: the areas in turn (best first) keep their cells
not yet used, the connected part with their best cell, then grow back by the best adjacent
free cell while it fits; areas still missing are grown with ``grow_areas`` over the free cells.
The plan kept is the best of ``grow_areas``' and every step's repaired one, so it never holds
less than ``grow_areas``. Seconds per plan where hot cells cluster (each step is a branch and
bound over the roots): a measurement, not the service's growth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hotspots.errors import ConfigError
from hotspots.evaluation.plan_bound import priced_rounds
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
class PricedPlan:
    """``areas``: positions of each area's cells; ``held``: the score they hold; ``grown``: what
    ``grow_areas`` holds; ``ceiling``: no plan holds more; ``steps``: priced steps run;
    ``disjoint``: some step's priced areas were themselves a plan; ``inexact``: roots whose
    search fell back to a looser bound (a step with one has no plan to repair)."""

    areas: list[IntArray]
    held: float
    grown: float
    ceiling: float
    steps: int
    disjoint: bool
    inexact: int


def priced_plan(
    cells: CellArray,
    score: FloatArray,
    cell_km2: FloatArray,
    budget: PlanBudget,
    iterations: int = 60,
    max_nodes: int = 200_000,
) -> PricedPlan:
    """The best plan of ``grow_areas`` and of the areas of ``iterations`` priced steps, repaired
    to be disjoint (``cells`` sorted and unique, ``score`` and ``cell_km2`` aligned). A budget
    with ``total_km2`` is a ConfigError: the pricing knows only the limit per area."""
    if budget.total_km2 is not None:
        raise ConfigError(f"total_km2 {budget.total_km2:g}: a priced plan takes a km2 per area")
    score = np.asarray(score, dtype=np.float64)
    cell_km2 = np.asarray(cell_km2, dtype=np.float64)
    best = grow_areas(cells, score, cell_km2, budget)
    grown = held = sum(float(score[m].sum()) for m in best)
    nbrs = neighbour_table(cells).tolist()
    ceiling, steps, disjoint, inexact = held, 0, False, 0
    for step in priced_rounds(cells, score, cell_km2, budget, grown, iterations, max_nodes):
        ceiling, steps, inexact = step.ceiling, steps + 1, step.inexact
        sets = [m for m in step.sets if m is not None]
        if len(sets) < len(step.sets):
            continue
        disjoint |= len({c for m in sets for c in m}) == sum(len(m) for m in sets)
        plan = _repair(sets, cells, score, cell_km2, nbrs, budget)
        value = sum(float(score[m].sum()) for m in plan)
        if value > held + 1e-12 * abs(held):
            best, held = plan, value
    return PricedPlan(best, held, grown, ceiling, steps, disjoint, inexact)


def _repair(
    sets: list[list[int]],
    cells: CellArray,
    score: FloatArray,
    km2: FloatArray,
    nbrs: list[list[int]],
    budget: PlanBudget,
) -> list[IntArray]:
    """Disjoint, contiguous areas within the limit made of ``sets`` (each led by its best cell)."""
    limit = budget.per_area_km2() * (1 + _SLACK)
    free = np.ones(score.size, dtype=bool)
    areas: list[IntArray] = []
    for members in sets[: budget.areas]:
        kept = {c for c in members if free[c]}
        if not kept:
            continue
        part = _fill(_component(kept, members[0], score, nbrs), score, km2, nbrs, free, limit)
        free[part] = False
        areas.append(np.sort(np.asarray(part, dtype=np.int64)))
    if len(areas) < budget.areas and free.any():
        left = np.flatnonzero(free)
        more = PlanBudget(budget.areas - len(areas), budget.per_area_km2())
        areas += [left[m] for m in grow_areas(cells[left], score[left], km2[left], more)]
    return areas


def _component(kept: set[int], root: int, score: FloatArray, nbrs: list[list[int]]) -> list[int]:
    """The cells of ``kept`` connected to ``root`` (to the best kept cell when it is gone)."""
    start = root if root in kept else max(kept, key=lambda c: (score[c], -c))
    seen, stack = {start}, [start]
    while stack:
        for q in nbrs[stack.pop()]:
            if q in kept and q not in seen:
                seen.add(q)
                stack.append(q)
    return sorted(seen)


def _fill(
    members: list[int],
    score: FloatArray,
    km2: FloatArray,
    nbrs: list[list[int]],
    free: npt.NDArray[np.bool_],
    limit: float,
) -> list[int]:
    """``members`` grown by the best adjacent free cell (ties to the lower position) while one
    fits under ``limit``."""
    inside, size = set(members), float(km2[members].sum())
    frontier = {q for p in members for q in nbrs[p] if q >= 0 and free[q]} - inside
    while True:
        fits = [q for q in frontier if size + km2[q] <= limit]
        if not fits:
            return sorted(inside)
        q = max(fits, key=lambda q: (score[q], -q))
        inside.add(q)
        size += float(km2[q])
        frontier.discard(q)
        frontier.update(r for r in nbrs[q] if r >= 0 and free[r] and r not in inside)
