"""The plan ceiling: no plan of N contiguous, non-overlapping areas holds more; exact for one
area (checked against every connected set of a small disk), tight for scattered hot cells."""

from __future__ import annotations

import itertools

import h3
import numpy as np
import pytest

from hotspots.evaluation.plan_bound import cells_per_area, plan_ceiling
from hotspots.grid import cells_area_km2
from hotspots.grid.regions import PlanBudget, grow_areas, is_contiguous

CENTRE = h3.latlng_to_cell(41.85, -87.65, 9)


def disk(k: int) -> np.ndarray:
    return np.sort(np.array([h3.str_to_int(c) for c in h3.grid_disk(CENTRE, k)], dtype=np.uint64))


def budget_of(areas: int, n_cells: int, km2: np.ndarray) -> PlanBudget:
    """Areas that hold any ``n_cells`` of these (near-equal) cells, and no more."""
    budget = PlanBudget(areas, n_cells * float(km2.max()) * (1 + 1e-9))
    assert cells_per_area(km2, budget.per_area_km2()) == n_cells
    return budget


def connected_sets(cells: np.ndarray, most: int) -> list[tuple[int, ...]]:
    """Every connected set of at most ``most`` cells, by brute force."""
    return [
        combo
        for size in range(1, most + 1)
        for combo in itertools.combinations(range(cells.size), size)
        if is_contiguous(cells[list(combo)])
    ]


def test_cells_per_area_counts_the_smallest_cells_that_fit() -> None:
    km2 = np.array([0.3, 0.1, 0.2, 0.25])
    assert cells_per_area(km2, 0.3) == 2  # 0.1 + 0.2
    assert cells_per_area(km2, 0.6) == 3  # 0.1 + 0.2 + 0.25 = 0.55
    assert cells_per_area(km2, 0.05) == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_area_the_ceiling_is_the_best_connected_set(seed: int) -> None:
    cells = disk(2)  # 19 cells
    km2 = cells_area_km2(cells)
    score = np.random.default_rng(seed).gamma(0.5, size=cells.size)
    best = max(score[list(s)].sum() for s in connected_sets(cells, 3))
    ceiling = plan_ceiling(cells, score, km2, budget_of(1, 3, km2))
    assert ceiling.cells_per_area == 3 and ceiling.inexact == 0
    assert ceiling.total == pytest.approx(best)


def best_disjoint_pair(cells: np.ndarray, score: np.ndarray) -> float:
    """The most two non-overlapping connected 3-cell areas hold, by brute force."""
    sets = connected_sets(cells, 3)
    return float(
        max(
            score[list(a)].sum() + score[list(b)].sum()
            for a, b in itertools.combinations(sets, 2)
            if not set(a) & set(b)
        )
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_no_plan_holds_more_than_the_ceiling(seed: int) -> None:
    cells = disk(2)
    km2 = cells_area_km2(cells)
    score = np.random.default_rng(seed).gamma(0.5, size=cells.size)
    best_pair = best_disjoint_pair(cells, score)
    budget = budget_of(2, 3, km2)
    ceiling = plan_ceiling(cells, score, km2, budget)
    greedy = sum(score[m].sum() for m in grow_areas(cells, score, km2, budget))
    assert greedy <= best_pair + 1e-9 <= ceiling.total + 1e-9


def test_scattered_hot_cells_the_ceiling_is_what_greedy_holds() -> None:
    """Three hot cells 6 steps apart: no area reaches two, so each area holds one hot cell and
    its three best neighbours, which greedy growth finds."""
    cells = disk(9)
    km2 = cells_area_km2(cells)
    pos = {int(c): i for i, c in enumerate(cells.tolist())}
    score = np.full(cells.size, 0.01)
    hot = [CENTRE, *sorted(h3.grid_ring(CENTRE, 6))[::9][:2]]
    assert min(h3.grid_distance(a, b) for a, b in itertools.combinations(hot, 2)) >= 6
    for cell in hot:
        score[pos[h3.str_to_int(cell)]] = 1.0
        for i, n in enumerate(sorted(h3.grid_ring(cell, 1))[:3]):
            score[pos[h3.str_to_int(n)]] = 0.1 * (i + 1)  # 0.1, 0.2, 0.3 beside each hot cell
    budget = budget_of(3, 4, km2)
    ceiling = plan_ceiling(cells, score, km2, budget)
    assert ceiling.total == pytest.approx(3 * (1.0 + 0.6))
    greedy = sum(score[m].sum() for m in grow_areas(cells, score, km2, budget))
    assert greedy == pytest.approx(ceiling.total)


def test_a_search_out_of_nodes_gives_a_looser_bound() -> None:
    cells = disk(3)
    km2 = cells_area_km2(cells)
    score = np.random.default_rng(5).gamma(0.5, size=cells.size)
    budget = budget_of(2, 5, km2)
    exact = plan_ceiling(cells, score, km2, budget)
    loose = plan_ceiling(cells, score, km2, budget, max_nodes=3)
    assert exact.inexact == 0 and loose.inexact > 0
    assert loose.total > exact.total


def test_pricing_tightens_the_ceiling_where_hot_cells_cluster() -> None:
    """Seven hot cells (a 1-disk) and three areas of three cells: the plain ceiling counts the
    cluster's best cells for every area (3 x 3); a plan holds at most the 7 hot cells and two
    others (7.02, which splitting the disk into three areas reaches), and pricing the cells
    counted twice brings the ceiling down to near that."""
    cells = disk(4)
    km2 = cells_area_km2(cells)
    score = np.full(cells.size, 0.01)
    score[np.isin(cells, disk(1))] = 1.0
    budget = budget_of(3, 3, km2)
    plain = plan_ceiling(cells, score, km2, budget)
    priced = plan_ceiling(cells, score, km2, budget, iterations=50)
    assert plain.total == pytest.approx(9.0)
    assert 7.02 - 1e-9 <= priced.total < 7.3
    assert priced.inexact == 0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_priced_ceiling_stays_above_every_plan(seed: int) -> None:
    cells = disk(2)
    km2 = cells_area_km2(cells)
    score = np.random.default_rng(seed).gamma(0.5, size=cells.size)
    best_pair = best_disjoint_pair(cells, score)
    budget = budget_of(2, 3, km2)
    plain = plan_ceiling(cells, score, km2, budget)
    priced = plan_ceiling(cells, score, km2, budget, iterations=30)
    assert best_pair - 1e-9 <= priced.total <= plain.total + 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_ceiling_counts_only_areas_within_the_km2_limit(seed: int) -> None:
    """Cells of 0.15 to 0.2 km2 (two of 0.1) and areas of 0.45: three of the smallest fit, three
    of most do not. The ceiling is the best connected set within 0.45 km2, not the best of any
    3 cells."""
    cells = disk(2)
    rng = np.random.default_rng(seed)
    km2 = rng.uniform(0.15, 0.2, size=cells.size)
    km2[0] = km2[1] = 0.1
    score = rng.gamma(0.5, size=cells.size)
    fits = [s for s in connected_sets(cells, 3) if km2[list(s)].sum() <= 0.45]
    budget = PlanBudget(1, 0.45)
    ceiling = plan_ceiling(cells, score, km2, budget)
    assert ceiling.cells_per_area == 3 and ceiling.inexact == 0
    assert ceiling.total == pytest.approx(max(score[list(s)].sum() for s in fits))
    assert ceiling.total < max(score[list(s)].sum() for s in connected_sets(cells, 3))
