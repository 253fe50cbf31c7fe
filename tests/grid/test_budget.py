"""``check_budget`` refuses a km2 limit larger than the whole study area, naming the limit and
the study area's km2; a limit of exactly the study area (as the refusal shows it) is taken."""

from __future__ import annotations

import re

import h3
import numpy as np
import pytest

from hotspots.errors import ConfigError
from hotspots.grid import cells_area_km2
from hotspots.grid.budget import PlanBudget, check_budget
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
