"""backtest: fresh clones per fit group, exact scores on a tiny panel, a year-long run."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from eval_doubles import (
    ConstantForecaster,
    CountingForecaster,
    UniformForecaster,
)

from hotspots.errors import ConfigError, DataValidationError
from hotspots.evaluation import (
    CURVE_COVERAGES,
    BacktestResult,
    Fold,
    backtest,
    rolling_origin_folds,
)
from hotspots.features import Panel

WEEK4 = pd.Timestamp("2024-01-29")  # A + B = [3, 1, 1, 0, 0, 2, 0]
WEEK5 = pd.Timestamp("2024-02-05")  # no events


def _row(result: BacktestResult, model: str, as_of: pd.Timestamp, cutoff: str) -> pd.Series:
    f = result.per_fold
    rows = f[(f["model"] == model) & (f["as_of"] == as_of) & (f["cutoff"] == cutoff)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_tied_forecasts_flag_the_lowest_cell_ids(tiny_result: BacktestResult) -> None:
    # constant forecast: cells 0 and 1 (3 + 1 events) at k=2, cells 0..3 (5 events) at 50%
    k2 = _row(tiny_result, "constant", WEEK4, "k=2")
    assert (k2.n_events, k2.flagged, k2.hits) == (7, 2, 4)
    assert (k2.hit_rate, k2.pai, k2.pei) == pytest.approx((4 / 7, 2.0, 4 / 5))
    half = _row(tiny_result, "constant", WEEK4, "50%")
    assert (half.flagged, half.hits) == (4, 5)  # round(3.5) = 4 cells
    assert (half.hit_rate, half.pai, half.pei) == pytest.approx((5 / 7, 1.25, 5 / 7))


def test_the_oracle_is_perfect(tiny_result: BacktestResult) -> None:
    k2 = _row(tiny_result, "oracle", WEEK4, "k=2")
    assert (k2.hits, k2.pei) == (5, 1.0)
    assert k2.pai == pytest.approx((5 / 7) / (2 / 7))
    dev = tiny_result.deviance
    oracle_dev = dev[(dev["model"] == "oracle") & (dev["as_of"] == WEEK4)]["deviance"].item()
    assert oracle_dev == pytest.approx(0.0, abs=1e-8)
    assert tiny_result.best("pei", "k=2") == "oracle"
    assert tiny_result.best("deviance") == "oracle"


def test_a_week_without_events_is_excluded_and_counted(tiny_result: BacktestResult) -> None:
    assert math.isnan(_row(tiny_result, "constant", WEEK5, "k=2").hit_rate)
    table = tiny_result.table("k=2")
    assert table.loc["constant", "n_folds"] == 1
    assert table.loc["constant", "n_excluded"] == 1
    assert table.loc["constant", "pai"] == pytest.approx(2.0)  # the mean of week 4 only
    assert table.loc["constant", "pai_ci_low"] == table.loc["constant", "pai_ci_high"]


def test_deviance_uses_both_weeks(tiny_result: BacktestResult) -> None:
    # constant mu = 1. Week 4, y = [3, 1, 1, 0, 0, 2, 0]: 2(3 ln 3 - 2) + 0 + 0 + 2 + 2
    # + 2(2 ln 2 - 1) + 2, over 7 cells. Week 5 (all zero): 2 per cell.
    week4 = (2 * (3 * math.log(3) - 2) + 6 + 2 * (2 * math.log(2) - 1)) / 7
    table = tiny_result.table("k=2")
    assert table.loc["constant", "deviance"] == pytest.approx((week4 + 2.0) / 2)


def test_summary_and_table_shapes(tiny_result: BacktestResult) -> None:
    s = tiny_result.summary
    assert len(s) == 2 * (2 * 3 + 1)  # models x (cutoffs x ranking metrics + deviance)
    assert list(tiny_result.table("50%").index) == ["oracle", "constant"]
    assert len(tiny_result.per_fold) == 2 * 2 * 2  # models x folds x cutoffs
    with pytest.raises(ConfigError, match="'1%' was not scored; cutoffs are \\['50%', 'k=2'\\]"):
        tiny_result.table("1%")
    with pytest.raises(ConfigError, match="metric 'auc'"):
        tiny_result.best("auc", "k=2")
    with pytest.raises(ConfigError, match="'nope'"):
        tiny_result.best("pai", "k=2", among=["nope"])
    assert tiny_result.best("pai", "k=2", among=["constant"]) == "constant"


def test_targets_must_match_and_actuals_follow_the_target(tiny_panel: Panel) -> None:
    folds = rolling_origin_folds(tiny_panel.periods, 2)
    mixed = {"a": ConstantForecaster(target=("A",)), "b": ConstantForecaster(target=("B",))}
    with pytest.raises(ConfigError, match="share their target.*'a': \\['A'\\], 'b': \\['B'\\]"):
        backtest(mixed, tiny_panel, folds)
    only_b = backtest({"b": ConstantForecaster(target=("B",))}, tiny_panel, folds, budgets=(2,))
    assert only_b.target == ("B",)
    assert only_b.last_fold.actual.tolist() == [0] * 7  # week 5
    assert _row(only_b, "b", WEEK4, "k=2").n_events == 1


def test_folds_must_be_panel_periods(tiny_panel: Panel) -> None:
    models = {"c": ConstantForecaster()}
    bad = [Fold(pd.Timestamp("2024-01-31"), pd.Timestamp("2024-01-29"))]
    with pytest.raises(ConfigError, match="as_of 2024-01-31 .* not a 'W' period start"):
        backtest(models, tiny_panel, bad)
    with pytest.raises(ConfigError, match="at least one fold"):
        backtest(models, tiny_panel, [])
    with pytest.raises(ConfigError, match="k=8 exceeds the 7 study cells"):
        backtest(models, tiny_panel, rolling_origin_folds(tiny_panel.periods, 1), budgets=(8,))


@pytest.mark.parametrize(("refit_every", "lengths"), [(None, [2]), (2, [2, 4]), (1, [2, 3, 4, 5])])
def test_each_fit_group_gets_one_fresh_clone(
    tiny_panel: Panel,
    counting: type[CountingForecaster],
    refit_every: int | None,
    lengths: list[int],
) -> None:
    original = counting()
    calls: list[tuple[str, int, int]] = []
    folds = rolling_origin_folds(tiny_panel.periods, 4, refit_every=refit_every)
    result = backtest(
        {"m": original}, tiny_panel, folds, progress=lambda *a: calls.append(a), budgets=(1,)
    )
    fitted = [m for m, _ in counting.fits]  # held, so their ids cannot be reused
    ids = [id(m) for m in fitted]
    assert [n for _, n in counting.fits] == lengths
    assert len(set(ids)) == len(ids) and id(original) not in ids
    assert not hasattr(original, "cells_")
    assert result.fitted["m"] is fitted[-1]
    assert calls == [("m", i, 4) for i in range(1, 5)]


def test_year_backtest_oracle_uniform_and_history_mean(
    year_result: BacktestResult, year_panel: Panel
) -> None:
    t = year_result.table("1%")
    assert (t["pei"].loc["oracle"], t["pei_ci_low"].loc["oracle"]) == (1.0, 1.0)
    f = year_result.per_fold
    rates = f[f["cutoff"] == "5%"].pivot(index="as_of", columns="model", values="hit_rate")
    assert (rates["oracle"] >= rates["mean"]).all() and (rates["oracle"] >= rates["uniform"]).all()
    curves = year_result.curves
    # a chance ranking has PAI 1 in expectation (15.5%..20% of the cells); one seed's 12 folds
    # still vary by 0.05-0.08 with the city, so the mean of eight seeds' rankings is held to it
    folds = rolling_origin_folds(year_panel.periods, 12, refit_every=4, min_train_periods=8)
    chance = [
        backtest({"u": UniformForecaster(seed=s)}, year_panel, folds, budgets=(50,), seed=5)
        .curves["pai"]
        .iloc[-10:]
        .mean()
        for s in range(8)
    ]
    assert np.mean(chance) == pytest.approx(1.0, abs=0.1)
    assert year_result.table("10%").loc["mean", "pai"] > 3.0  # the city has hotspots
    assert year_result.best("pai", "1%", among=["uniform", "mean"]) == "mean"
    assert len(curves) == 3 * CURVE_COVERAGES.size
    oracle_rate = curves[curves["model"] == "oracle"]["hit_rate"].to_numpy()
    assert np.all(np.diff(oracle_rate) >= 0)
    assert year_result.last_fold.actual.tolist() == year_panel.total()[-1].tolist()
    np.testing.assert_array_equal(year_result.last_fold.cells, year_panel.cells)
    cal = year_result.calibration["oracle"].table
    np.testing.assert_allclose(cal["mean_predicted"], cal["mean_observed"])
    assert year_result.kinds == {
        "oracle": "test_oracle_eval",
        "uniform": "test_uniform_eval",
        "mean": "test_mean_eval",
    }
    assert year_result.fitted["mean"].fit_end_ == year_panel.periods[-5]  # last refit: 4 folds


def test_to_dict_is_plain_json(tiny_result: BacktestResult) -> None:
    data = json.loads(json.dumps(tiny_result.to_dict(), allow_nan=False))
    assert data["cutoffs"] == ["50%", "k=2"]
    assert data["folds"][0] == {"as_of": "2024-01-29T00:00:00", "fit_until": "2024-01-29T00:00:00"}
    week5 = [r for r in data["per_fold"] if r["as_of"] == "2024-02-05T00:00:00"]
    assert week5 and all(r["hit_rate"] is None and r["pai"] is None for r in week5)
    summary = {(r["model"], r["cutoff"], r["metric"]): r for r in data["summary"]}
    assert summary[("constant", "k=2", "pai")]["mean"] == pytest.approx(2.0)
    assert summary[("constant", "k=2", "pai")]["n_excluded"] == 1
    assert len(data["last_fold"]["cells"][0]) == 15  # H3 strings at the edges
    assert data["last_fold"]["expected"]["constant"] == [1.0] * 7
    assert data["calibration"]["oracle"]["total_observed"] == 7.0


def test_nan_forecasts_are_refused_naming_the_model(tiny_panel: Panel) -> None:
    folds = rolling_origin_folds(tiny_panel.periods, 1)
    with pytest.raises(DataValidationError, match="model 'broken' forecast 7 NaN counts"):
        backtest({"broken": ConstantForecaster(value=float("nan"))}, tiny_panel, folds)
