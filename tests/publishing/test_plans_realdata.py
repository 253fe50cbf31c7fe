"""Patrol plans on real extracts: minute-precision Chicago gives shift blocks and hours,
month-only Greater Manchester gives "unknown"; areas stay contiguous, disjoint and within the
limit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotspots.features import events_to_panel
from hotspots.forecasters import make_forecaster
from hotspots.grid import cells_area_km2, strings_to_cells
from hotspots.jobs.data import ingest_options, load_events
from hotspots.publishing import PlanBudget, build_plan, is_contiguous

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.slow,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"real data folder {DATA} is absent"),
]

CASES = {
    "chicago": (
        "chicago_aggravated_assaults/chicago_aggravated_assaults_2010-2019.csv.gz",
        {
            "map": "time=date,lat=latitude,lng=longitude",
            "category_name": "aggravated assault",
            "timezone": "America/Chicago",
        },
        9,
        "W",
        "2019-07-01",
        1.0,
    ),
    "gmp": (
        "gmp_burglary_policeuk/gmp_burglary_2016-02_2019-01.csv.gz",
        {"preset": "police-uk", "map": "category=Crime.type"},
        8,
        "M",
        "2018-07-01",
        3.0,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_real_plan(case: str) -> None:
    path, options, resolution, freq, as_of, limit = CASES[case]
    events = load_events(DATA / path, ingest_options(**options)).events
    panel = events_to_panel(events, resolution, freq)
    [target] = panel.categories if len(panel.categories) == 1 else [panel.categories[0]]
    model = make_forecaster("historical_mean", target=(target,)).fit(panel, as_of)
    day = pd.Timestamp(as_of)
    frame = model.predict(panel, day).assign(as_of=day)
    plan = build_plan(
        {target: frame},
        model.cells_,
        resolution,
        events,
        as_of=day,
        freq=freq,
        budget=PlanBudget(areas=5, max_area_km2=limit),
        categories={target: (target,)},
        seed="window",
    )
    assert len(plan["areas"]) == 5
    seen: set[str] = set()
    for area in plan["areas"]:
        cells = strings_to_cells(area["cells"])
        assert is_contiguous(cells) and not seen & set(area["cells"])
        seen |= set(area["cells"])
        assert area["area_km2"] == pytest.approx(cells_area_km2(cells).sum(), abs=1e-3)
        assert area["area_km2"] <= limit
        assert area["expected_by_type"][target] == pytest.approx(area["expected_count"], abs=1e-3)
        if case == "gmp":
            assert area["when"] == "unknown"
        else:
            # 1,600-1,800 assaults an area: too few to single out an hour of the week (the
            # 168 hours' busiest reach 2-2.8x by chance alone) but the evening hours of the
            # day stand out
            when = area["when"]
            assert when["events_with_time"] > 1000 and when["top_hours_of_day"]
            assert all(1.3 < h["lift"] < 2.0 for h in when["top_hours_of_day"])
            assert len(when["top_hours"]) <= 3
            # while 6-hour blocks of the week (28, the default shifts) do stand out, each on
            # about a hundred assaults, and of the day the evening leads in every area
            assert plan["shifts"] == [0, 6, 12, 18] and when["top_blocks"]
            assert all(1.3 < b["lift"] < 2.0 and b["events"] >= 60 for b in when["top_blocks"])
            assert when["top_blocks_of_day"][0]["label"] == "18:00-00:00"
        assert area["reasons"]
    # the areas hold the forecast the document says, and no more than the top cells of that km2
    expected = frame.set_index("cell")["expected_count"]
    held = expected.loc[strings_to_cells(sorted(seen))].sum()
    summary = plan["summary"]
    assert summary["expected_count"] == pytest.approx(held, abs=1e-3)
    assert summary["share_of_forecast"] == pytest.approx(held / expected.sum(), abs=1e-4)
    assert 0 < summary["share_of_forecast"] <= summary["top_cells_share_same_area"] + 1e-4
    assert np.isfinite(summary["score"])
