"""The spec's backtest scores patrol plans (backtest.plan_areas / plan_max_area_km2)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from test_train_job import year_spec

from hotspots.jobs.train import prepare, run_backtest


@pytest.mark.slow
def test_the_backtest_scores_plans_unless_told_not_to(
    year_city_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = {"folds": 2, "select_folds": 0}
    scored = run_backtest(prepare(year_spec(year_city_dir, backtest=base)))
    assert scored.plan_budget == {"areas": 10, "max_area_km2": 1.0, "total_km2": None,
                                  "seed": "area", "stop": "cap"}  # fmt: skip
    assert len(scored.plans) == len(scored.forecasts) * 2
    assert (scored.plans["areas"] == 10).all()
    off = run_backtest(prepare(year_spec(year_city_dir, backtest={**base, "plan_areas": 0})))
    assert off.plans.empty and off.plan_budget is None
    tiny = {**base, "plan_max_area_km2": 0.01}  # below one resolution-8 cell
    with caplog.at_level(logging.WARNING, logger="hotspots.jobs.train"):
        unmet = run_backtest(prepare(year_spec(year_city_dir, backtest=tiny)))
    assert unmet.plans.empty
    assert (
        "patrol plans not scored: max_area_km2 0.01: an area of at most 0.01 km2 is smaller "
        "than one cell" in caplog.text
    )
    huge = {**base, "plan_max_area_km2": 1e308}  # past MAX_AREA_CELLS: refused, not grown
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hotspots.jobs.train"):
        refused = run_backtest(prepare(year_spec(year_city_dir, backtest=huge)))
    assert refused.plans.empty and refused.plan_budget is None
    assert (
        "patrol plans not scored: max_area_km2 1e+308: an area of up to 1e+308 km2 is larger "
        "than a plan allows (100 cells, 77.65 km2 at H3 resolution 8)" in caplog.text
    )
