"""``grow_areas`` guards itself: a library caller that skips ``check_budget`` still cannot
start a growth that takes minutes (a huge, infinite or NaN limit), nor a nonsense one."""

from __future__ import annotations

import math

import h3
import numpy as np
import pytest

from hotspots.grid import cells_area_km2
from hotspots.grid.regions import MAX_AREA_CELLS, PlanBudget, grow_areas
from hotspots.plan_limits import MAX_AREA_CELLS as DECLARED

CENTRE = h3.latlng_to_cell(41.85, -87.65, 9)
CELLS = np.sort(
    np.array([h3.str_to_int(c) for c in h3.grid_disk(CENTRE, 14)], dtype=np.uint64)
)  # 631 cells of about 0.105 km2
KM2 = cells_area_km2(CELLS)
SCORE = np.random.default_rng(3).gamma(0.5, 1.0, CELLS.size)
LARGEST = MAX_AREA_CELLS * float(KM2.min())


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (PlanBudget(1, 1e308), "max_area_km2 1e+308: an area of up to 1e+308 km2 is larger"),
        (PlanBudget(1, math.inf), "max_area_km2 inf: must be a positive number of km2"),
        (PlanBudget(1, math.nan), "max_area_km2 nan: must be a positive number of km2"),
        (PlanBudget(1, 0.0), "max_area_km2 0.0: must be a positive number of km2"),
        (PlanBudget(1, -1.0), "max_area_km2 -1.0: must be a positive number of km2"),
        (PlanBudget(2, total_km2=1e308), "total_km2 1e+308 over 2 areas: an area of up to"),
        (PlanBudget(2, total_km2=math.inf), "total_km2 inf: must be a positive number"),
        (PlanBudget(2, total_km2=math.nan), "total_km2 nan: must be a positive number"),
        (PlanBudget(2, 1.0, total_km2=-3.0), "total_km2 -3.0: must be a positive number"),
        (PlanBudget(1, LARGEST * 1.001), f"max_area_km2 {LARGEST * 1.001:g}: an area of up"),
    ],
)
def test_grow_areas_refuses_a_limit_that_would_hang_or_means_nothing(
    budget: PlanBudget, message: str
) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("+", r"\+")) as err:
        grow_areas(CELLS, SCORE, KM2, budget)
    if "larger" in message:  # says the limit it would accept, at the cells' resolution
        assert f"({MAX_AREA_CELLS} cells, " in str(err.value)
        assert "km2 at H3 resolution 9); ask for at most that much" in str(err.value)


def test_an_infinite_limit_is_refused_even_without_cells() -> None:
    empty = np.zeros(0, dtype=np.uint64)
    with pytest.raises(ValueError, match="max_area_km2 inf"):
        grow_areas(empty, np.zeros(0), np.zeros(0), PlanBudget(1, math.inf))
    assert grow_areas(empty, np.zeros(0), np.zeros(0), PlanBudget(1, 1.0)) == []


def test_the_largest_limit_still_grows_and_a_loose_total_does_not_bind() -> None:
    assert MAX_AREA_CELLS == DECLARED  # one declaration, re-exported by the grid
    areas = grow_areas(CELLS, SCORE, KM2, PlanBudget(2, LARGEST))
    assert [m.size <= MAX_AREA_CELLS for m in areas] == [True, True]
    assert max(m.size for m in areas) >= MAX_AREA_CELLS - 1
    # the areas' own 1 km2 binds; a total of 1e308 km2 is only an upper bound on their sum
    loose = grow_areas(CELLS, SCORE, KM2, PlanBudget(2, 1.0, total_km2=1e308))
    assert [float(KM2[m].sum()) <= 1.0 for m in loose] == [True, True]
