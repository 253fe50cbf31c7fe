"""Patrol plans in the backtest: each fold's contiguous areas against the top cells of the same
area, per model and fold, in the result, its JSON and report.html."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hotspots.evaluation.plans as plans_module
from hotspots.errors import ConfigError
from hotspots.evaluation import BacktestResult, plan_summary, score_plans, write_report
from hotspots.grid import cells_area_km2, grid_disk_cells
from hotspots.grid.regions import PlanBudget, grow_areas, is_contiguous, top_cells_at_area


def test_one_row_per_model_and_fold_as_recomputed(year_result: BacktestResult) -> None:
    scored = score_plans(year_result, PlanBudget(3, 3.0))
    plans = scored.plans
    assert len(plans) == 3 * 12  # models x folds
    assert scored.plan_budget == {
        "areas": 3,
        "max_area_km2": 3.0,
        "total_km2": None,
        "seed": "area",
        "stop": "cap",
    }
    assert year_result.plans.empty  # the input is left as it was
    cells = year_result.last_fold.cells
    km2 = cells_area_km2(cells)
    i = 5
    expected, actual = year_result.forecasts["mean"][i], year_result.actual[i]
    members = grow_areas(cells, expected, km2, PlanBudget(3, 3.0))
    assert all(is_contiguous(cells[m]) and km2[m].sum() <= 3.0 + 1e-9 for m in members)
    plan = np.concatenate(members)
    top = top_cells_at_area(expected, km2, float(km2[plan].sum()))
    # the top cells cover the plan's very km2: whole cells, then part of the next best one
    rest = float(km2[plan].sum() - km2[top].sum())
    order = np.lexsort((np.arange(cells.size), -expected))
    following = order[top.size]
    assert 0 <= rest < km2[following]
    top_hits = actual[top].sum() + actual[following] * rest / km2[following]
    row = plans[(plans["model"] == "mean") & (plans["as_of"] == year_result.folds[i].as_of)]
    row = row.iloc[0]
    assert row["areas"] == 3 and row["area_km2"] == pytest.approx(km2[plan].sum())
    assert row["plan_hits"] == actual[plan].sum()
    assert row["top_hits"] == pytest.approx(top_hits)
    assert row["n_events"] == actual.sum() > 0
    share = km2[plan].sum() / km2.sum()
    assert row["plan_hit_rate"] == pytest.approx(actual[plan].sum() / actual.sum())
    assert row["plan_pai"] == pytest.approx(row["plan_hit_rate"] / share)
    assert row["top_pai"] == pytest.approx(top_hits / actual.sum() / share)
    summary = plan_summary(plans)
    mine = plans[plans["model"] == "mean"]
    assert summary.loc["mean", "capture_ratio"] == pytest.approx(
        mine["plan_hits"].sum() / mine["top_hits"].sum()
    )


def test_contiguity_costs_nothing_for_a_blob_and_half_for_two_far_spikes(
    year_result: BacktestResult,
) -> None:
    cells = year_result.last_fold.cells
    km2 = cells_area_km2(cells)
    centre = int(cells[cells.size // 2])
    disk = np.isin(cells, grid_disk_cells(np.array([centre], dtype=np.uint64), 1))
    assert disk.sum() == 7
    blob = np.where(disk, 1.0, 0.0)
    far = np.zeros(cells.size)
    far[[0, cells.size - 1]] = 1.0  # two cells at the ends of the sorted ids: not neighbours
    n = len(year_result.folds)
    forecasts = {"blob": np.tile(blob, (n, 1)), "spikes": np.tile(far, (n, 1))}
    result = replace(year_result, forecasts=forecasts)
    one_blob = score_plans(result, PlanBudget(1, float(km2[disk].sum())))
    blob_rows = one_blob.plans[one_blob.plans["model"] == "blob"]
    assert (blob_rows["plan_forecast"] == 1.0).all() and (blob_rows["top_forecast"] == 1.0).all()
    assert plan_summary(one_blob.plans).loc["blob", "forecast_ratio"] == 1.0
    # room for 3 cells, not 4 (cell areas differ by far less than 3.5 / 4): the area holds one
    # spike and two empty neighbours; the top cells of that much ground hold both spikes
    assert 4 * km2.min() > 3.5 * km2.max() and 2 * km2.min() > km2.max()
    spiky = score_plans(result, PlanBudget(1, 3.5 * float(km2.max()))).plans
    spikes = spiky[spiky["model"] == "spikes"]
    assert (spikes["plan_forecast"] == 0.5).all() and (spikes["top_forecast"] == 1.0).all()


def test_the_result_json_and_report_carry_the_plans(
    year_result: BacktestResult, tmp_path: Path
) -> None:
    scored = score_plans(year_result, PlanBudget(3, 3.0))
    data = scored.to_dict()
    assert data["plan_budget"]["areas"] == 3 and len(data["plans"]) == 36
    assert set(data["plans"][0]) >= {"plan_hit_rate", "top_hit_rate", "plan_pai", "top_pai"}
    paths = write_report(scored, tmp_path, title="t")
    page = paths["html"].read_text()
    assert (
        "Patrol plans against the top cells of the same area (3 areas of at most 3 km2 each)"
        in page
    )
    assert "Capture ratio (events)" in page and "Per fold: " in page
    assert page.count("<tr><td>2023-") >= 12  # one row per fold of the best model
    assert (
        "Patrol plans"
        not in write_report(year_result, tmp_path / "no", title="t")["html"].read_text()
    )  # not scored: no section


def test_a_budget_no_plan_can_meet_is_refused(year_result: BacktestResult) -> None:
    with pytest.raises(ConfigError, match="smaller than one cell"):
        score_plans(year_result, PlanBudget(3, 0.01))


def test_areas_grown_once_are_reused_where_the_forecast_is_the_same(
    year_result: BacktestResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``grown`` shares the areas of a forecast already planned (a baseline's forecast from
    one as_of, scored on each later period): the same rows, and no growing the second time."""
    budget = PlanBudget(3, 3.0)
    alone = score_plans(year_result, budget).plans
    grown: plans_module.GrownAreas = {}
    first = score_plans(year_result, budget, grown=grown).plans
    assert len(grown) == len(alone)  # every (model, fold) forecast differs here
    calls = []
    real = plans_module.grow_areas
    monkeypatch.setattr(plans_module, "grow_areas", lambda *a: calls.append(1) or real(*a))
    again = score_plans(year_result, budget, grown=grown).plans
    other_stop = score_plans(year_result, budget, stop="top-cells", grown=grown).plans
    pd.testing.assert_frame_equal(first, alone)
    pd.testing.assert_frame_equal(again, alone)
    assert len(calls) == len(alone)  # only for the other stop rule, a plan of its own
    assert not other_stop.equals(alone)
