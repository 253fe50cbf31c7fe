"""``check_budget`` refuses a km2 limit larger than the whole study area, naming the limit and
the study area's km2; a limit of exactly the study area (as the refusal shows it) is taken."""

from __future__ import annotations

import math
import re

import h3
import numpy as np
import pytest

from hotspots.errors import ConfigError
from hotspots.grid import cells_area_km2
from hotspots.grid.budget import PlanBudget, check_budget, fit_to_study_area
from hotspots.grid.regions import grow_areas

CENTRE = h3.latlng_to_cell(41.85, -87.65, 9)
CELLS = np.sort(np.array([h3.str_to_int(c) for c in h3.grid_disk(CENTRE, 3)], dtype=np.uint64))
KM2 = cells_area_km2(CELLS)  # 37 cells, 3.93 km2: fewer than MAX_AREA_CELLS, so that limit is
WHOLE = float(KM2.sum())  # above the study area and this one is the one that binds
WHERE = "the whole study area (3.927 km2, 37 cells at H3 resolution 9)"


def test_the_study_area_is_what_the_messages_say() -> None:
    assert CELLS.size == 37 and 3.927 <= WHOLE < 3.928


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (
            PlanBudget(2, 1000.0),
            f"max_area_km2 1000: an area of up to 1000 km2 is larger than {WHERE}; ask for at "
            "most that much",
        ),
        (
            PlanBudget(1, total_km2=5.0),
            f"total_km2 5 over 1 areas: an area of up to 5 km2 is larger than {WHERE}",
        ),
        (
            PlanBudget(2, 1.0, total_km2=1e308),  # each area's 1 km2 would bind: still a slip
            f"total_km2 1e+308: more ground than {WHERE}; ask for at most that much",
        ),
        (PlanBudget(3, total_km2=4.0), f"total_km2 4: more ground than {WHERE}"),
    ],
)
def test_a_limit_larger_than_the_study_area_is_refused_naming_both(
    budget: PlanBudget, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        check_budget(budget, KM2, 9)
    assert str(err.value).startswith(message), str(err.value)


def test_the_study_area_shown_is_itself_a_limit_a_plan_takes() -> None:
    with pytest.raises(ConfigError) as err:
        check_budget(PlanBudget(2, 1.0, total_km2=50.0), KM2, 9)
    shown = float(re.search(r"study area \(([0-9.]+) km2", str(err.value))[1])
    assert WHOLE * 0.999 < shown <= WHOLE
    for budget in (PlanBudget(2, shown), PlanBudget(2, 1.0, total_km2=shown)):
        check_budget(budget, KM2, 9)
    # up to the study area a total above what the areas hold does not bind: 2 x 1 km2
    areas = grow_areas(CELLS, np.linspace(1, 2, CELLS.size), KM2, PlanBudget(2, 1.0, WHOLE))
    assert len(areas) == 2 and all(float(KM2[m].sum()) <= 1.0 for m in areas)


def test_the_least_area_shown_is_itself_a_limit_a_plan_takes() -> None:
    """One cell's km2 in the refusal is rounded up: asking for it then plans (it was rounded to
    the nearest, 0.1109 for a cell of 0.110925 km2, and asking for 0.1109 was refused again)."""
    smallest = float(KM2.min())
    assert smallest > float(f"{smallest:.4g}")  # this cell rounds down to the nearest
    for budget in (PlanBudget(2, float(f"{smallest:.4g}")), PlanBudget(3, total_km2=smallest)):
        with pytest.raises(ConfigError, match="one cell") as err:
            check_budget(budget, KM2, 9)
        shown = float(re.search(r"one cell \(([0-9.]+) km2", str(err.value))[1])
        assert smallest <= shown < smallest * 1.001
        check_budget(PlanBudget(budget.areas, shown), KM2, 9)
        check_budget(PlanBudget(budget.areas, total_km2=shown * budget.areas), KM2, 9)


def _first_cells(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A compact study area of ``n`` resolution-9 cells (the nearest to CENTRE), and their km2."""
    near = sorted(h3.grid_disk(CENTRE, 4), key=lambda c: (h3.grid_distance(CENTRE, c), c))
    cells = np.sort(np.array([h3.str_to_int(c) for c in near[:n]], dtype=np.uint64))
    return cells, cells_area_km2(cells)


def test_a_default_that_fits_is_kept() -> None:
    assert fit_to_study_area(PlanBudget(2, 1.0), KM2, 9) == (PlanBudget(2, 1.0), None)


def test_a_default_larger_than_the_study_area_gets_smaller_areas_and_says_so() -> None:
    # 7 cells of ~0.105 km2: 6 areas of 1 km2 ask for 8x the ground there is
    cells, km2 = _first_cells(7)
    whole = float(km2.sum())
    fitted, note = fit_to_study_area(PlanBudget(6, 1.0), km2, 9)
    share = math.floor(whole / 6 * 1e4) / 1e4  # an even share, 4 significant digits, down
    assert fitted == PlanBudget(6, share) and share > float(km2.max())
    assert note == (
        "fitted to the study area (7 cells at H3 resolution 9): the default budget, 6 areas "
        f"of at most 1 km2, asks for more ground than its {math.floor(whole * 1e4) / 1e4:.4g} "
        f"km2; this plan has 6 areas of at most {share:.4g} km2. A budget asked for is not "
        "fitted."
    )
    check_budget(fitted, km2, 9)
    areas = grow_areas(cells, np.linspace(1, 2, cells.size), km2, fitted)
    assert len(areas) == 6 and all(len(m) == 1 for m in areas)
    # 37 cells, 3.93 km2: not refused before, but 6 x 1 km2 is more ground than there is
    fitted, note = fit_to_study_area(PlanBudget(6, 1.0), KM2, 9)
    assert fitted == PlanBudget(6, math.floor(WHOLE / 6 * 1e4) / 1e4) and note is not None


def test_fewer_cells_than_areas_give_one_area_per_cell() -> None:
    cells, km2 = _first_cells(4)
    fitted, note = fit_to_study_area(PlanBudget(6, 1.0), km2, 9)
    assert fitted == PlanBudget(4, float(km2.max()))  # an even share would not hold each cell
    assert note is not None and "asks for more areas than its 4 cells and more ground than" in note
    areas = grow_areas(cells, np.linspace(1, 2, cells.size), km2, fitted)
    assert sorted(int(m[0]) for m in areas) == [0, 1, 2, 3]


@pytest.mark.parametrize("n", range(1, 40))
def test_the_fitted_default_is_a_plan_on_any_small_study_area(n: int) -> None:
    cells, km2 = _first_cells(n)
    for default in (PlanBudget(6, 1.0), PlanBudget(10, 0.5), PlanBudget(3, total_km2=2.0)):
        fitted, _ = fit_to_study_area(default, km2, 9)
        check_budget(fitted, km2, 9)
        assert fitted.areas == min(default.areas, n)
        assert fitted.total_limit_km2() <= max(float(km2.sum()), fitted.areas * float(km2.max()))
        areas = grow_areas(cells, np.linspace(2, 1, n), km2, fitted)
        assert len(areas) == fitted.areas  # every area asked for gets ground


def test_what_was_asked_for_is_not_fitted() -> None:
    """Only the parts left to the default are fitted: an explicit number of areas or km2
    limit larger than the study area is still refused by check_budget, naming it."""
    _, km2 = _first_cells(4)
    kept, note = fit_to_study_area(PlanBudget(6, 1.0), km2, 9, areas=False, km2=False)
    assert (kept, note) == (PlanBudget(6, 1.0), None)
    areas_asked, _ = fit_to_study_area(PlanBudget(6, 1.0), km2, 9, areas=False)
    assert areas_asked.areas == 6
    with pytest.raises(ConfigError, match="--areas 6: more areas than the model's 4 cells"):
        check_budget(areas_asked, km2, 9)
    km2_asked, _ = fit_to_study_area(PlanBudget(6, 1.0), km2, 9, km2=False)
    assert km2_asked == PlanBudget(4, 1.0)
    with pytest.raises(ConfigError, match="max_area_km2 1: an area of up to 1 km2 is larger"):
        check_budget(km2_asked, km2, 9)
