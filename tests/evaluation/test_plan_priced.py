"""The priced plan: disjoint, contiguous areas within the limit; never less than grow_areas,
never more than the best plan; the optimum where greedy growth takes the best area first."""

from __future__ import annotations

import h3
import numpy as np
import pytest
from test_plan_bound import CENTRE, best_disjoint_pair, budget_of, disk

from hotspots.errors import ConfigError
from hotspots.evaluation.plan_bound import plan_ceiling
from hotspots.evaluation.plan_priced import PricedPlan, priced_plan
from hotspots.grid import cells_area_km2
from hotspots.grid.regions import PlanBudget, grow_areas, is_contiguous


def assert_a_plan(
    plan: PricedPlan, cells: np.ndarray, score: np.ndarray, budget: PlanBudget
) -> None:
    km2 = cells_area_km2(cells)
    every = np.concatenate(plan.areas)
    assert len(plan.areas) == budget.areas
    assert np.unique(every).size == every.size  # disjoint
    assert all(is_contiguous(cells[m]) for m in plan.areas)
    assert all(km2[m].sum() <= budget.per_area_km2() * (1 + 1e-9) for m in plan.areas)
    assert plan.held == pytest.approx(score[every].sum())


def test_a_row_of_four_the_priced_plan_splits_it_where_growth_takes_the_middle() -> None:
    """Four cells in a row scoring 1, 3, 3, 1 and two areas of two cells: growth takes the
    middle pair (6) and then one end and a cold cell (1.01); the best plan is the two halves (8),
    which the priced areas find, and the ceiling proves it the best."""
    cells = disk(4)
    km2 = cells_area_km2(cells)
    score = np.full(cells.size, 0.01)
    row = h3.grid_path_cells(CENTRE, sorted(h3.grid_ring(CENTRE, 3))[0])
    for cell, value in zip(row, [1.0, 3.0, 3.0, 1.0], strict=True):
        score[np.searchsorted(cells, h3.str_to_int(cell))] = value
    budget = budget_of(2, 2, km2)
    grown = sum(score[m].sum() for m in grow_areas(cells, score, km2, budget))
    plan = priced_plan(cells, score, km2, budget)
    assert grown == pytest.approx(7.01) and plan.grown == pytest.approx(7.01)
    assert plan.held == pytest.approx(8.0) and plan.ceiling == pytest.approx(8.0)
    assert plan.disjoint and plan.inexact == 0
    assert sorted(sorted(score[m].tolist()) for m in plan.areas) == [[1.0, 3.0], [1.0, 3.0]]
    assert_a_plan(plan, cells, score, budget)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_priced_plan_lies_between_growth_and_the_best_plan(seed: int) -> None:
    cells = disk(2)
    km2 = cells_area_km2(cells)
    score = np.random.default_rng(seed).gamma(0.5, size=cells.size)
    budget = budget_of(2, 3, km2)
    plan = priced_plan(cells, score, km2, budget, iterations=30)
    grown = sum(score[m].sum() for m in grow_areas(cells, score, km2, budget))
    best = best_disjoint_pair(cells, score)
    assert grown - 1e-9 <= plan.held <= best + 1e-9 <= plan.ceiling + 1e-9
    assert plan.ceiling == pytest.approx(
        plan_ceiling(cells, score, km2, budget, iterations=30).total
    )
    assert_a_plan(plan, cells, score, budget)


def test_a_total_km2_budget_is_refused_naming_it() -> None:
    cells = disk(1)
    km2 = cells_area_km2(cells)
    with pytest.raises(ConfigError, match="total_km2 0.5: a priced plan takes a km2 per area"):
        priced_plan(cells, np.ones(cells.size), km2, PlanBudget(2, total_km2=0.5))
