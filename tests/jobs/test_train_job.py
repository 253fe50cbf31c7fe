"""Training jobs: the panel a spec builds, model selection against baselines, covariates."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.evaluation import Cutoff
from hotspots.grid import cells_to_latlng, cells_to_strings
from hotspots.jobs.spec import TrainingSpec, spec_from_dict
from hotspots.jobs.train import (
    candidate_models,
    prepare,
    report_meta,
    run_backtest,
    select_model,
)
from hotspots.synthetic import COLUMN_MAP, TIMEZONE


def year_spec(year_city_dir: Path, **extra: object) -> TrainingSpec:
    raw: dict[str, object] = {
        "name": "t",
        "data": {"events": str(year_city_dir / "events.csv.gz"), "map": COLUMN_MAP},
        "target": {"categories": ["Burglary Residential"]},
        "grid": {"resolution": 8, "period": "W"},
        "backtest": {"folds": 2},
        **extra,
    }
    raw["data"]["timezone"] = TIMEZONE  # type: ignore[index]
    return spec_from_dict(raw)


def test_prepare_cuts_at_the_last_whole_week(year_city_dir: Path) -> None:
    prepared = prepare(year_spec(year_city_dir))
    assert prepared.until == pd.Timestamp("2024-01-01")  # the data end Sunday 31 December
    assert len(prepared.panel.periods) == 52 and prepared.panel.freq == "W"
    assert prepared.target == ("Burglary Residential",)
    summary = prepared.data_summary()
    assert summary["target_events_in_panel"] == prepared.target_events > 1000
    assert summary["study_cells"] == prepared.panel.cells.size
    json.dumps(summary)


def test_prepare_honours_until(year_city_dir: Path) -> None:
    prepared = prepare(year_spec(year_city_dir, window={"until": "2023-07-03"}))
    assert prepared.panel.periods[-1] == pd.Timestamp("2023-06-26")


def fake_result(pai: dict[str, float]) -> SimpleNamespace:
    table = pd.DataFrame({"pai": pai})
    return SimpleNamespace(cutoffs=(Cutoff.coverage(0.01),), table=lambda cutoff: table)


@pytest.mark.parametrize(
    ("scores", "chosen"),
    [
        ({"lightgbm": 5.0, "kde": 4.0, "last_period": 3.0}, "lightgbm"),
        ({"lightgbm": 4.0, "kde": 4.0}, "lightgbm"),  # a tie keeps the main model
        ({"lightgbm": 3.9, "kde": 4.0, "last_period": 2.0}, "kde"),
        ({"lightgbm": float("nan"), "kde": 1.0}, "kde"),
    ],
)
def test_select_never_worse_than_the_best_baseline(
    year_city_dir: Path, scores: dict[str, float], chosen: str
) -> None:
    selection = select_model(fake_result(scores), year_spec(year_city_dir))  # type: ignore[arg-type]
    assert selection.name == chosen and selection.cutoff == "1%"
    assert ("instead" in selection.reason) == (chosen != "lightgbm")


def test_select_coverage_must_be_backtested(year_city_dir: Path) -> None:
    spec = year_spec(year_city_dir, backtest={"folds": 2, "select_coverage": 0.02})
    with pytest.raises(ConfigError, match="select_coverage 0.02"):
        select_model(fake_result({"lightgbm": 1.0}), spec)  # type: ignore[arg-type]


def test_covariate_layers_reach_the_model(year_city_dir: Path, tmp_path: Path) -> None:
    base = prepare(year_spec(year_city_dir))
    lat, lng = cells_to_latlng(base.panel.cells[:3])
    points = [
        {"type": "Feature", "properties": {"kind": "bar"},
         "geometry": {"type": "Point", "coordinates": [float(x), float(y)]}}  # x=lng, y=lat
        for y, x in zip(lat, lng, strict=True)
    ]  # fmt: skip
    layer = tmp_path / "bars.geojson"
    layer.write_text(json.dumps({"type": "FeatureCollection", "features": points}))
    spec = year_spec(
        year_city_dir,
        covariates=[{"path": str(layer), "kind": "count", "name": "bars"}],
        model={"kind": "lightgbm", "params": {"n_estimators": 5}},
    )
    prepared = prepare(spec)
    main = candidate_models(prepared)["lightgbm"]
    cov = main.get_params()["covariates"]
    assert list(cov.columns) == ["bars"]
    assert cov.loc[base.panel.cells[:3], "bars"].tolist() == [1.0, 1.0, 1.0]
    assert float(cov["bars"].sum()) == 3.0
    main.fit(prepared.panel)
    assert "cov_bars" in main.feature_names_


def test_covariates_need_lightgbm(year_city_dir: Path, tmp_path: Path) -> None:
    spec = year_spec(
        year_city_dir,
        covariates=[{"path": str(tmp_path / "x.geojson"), "kind": "count", "name": "x"}],
        model={"kind": "kde"},
    )
    with pytest.raises(ConfigError, match="covariates need model kind 'lightgbm'"):
        candidate_models(prepare(spec))


def test_a_truth_file_adds_the_oracle_which_is_never_published(year_city_dir: Path) -> None:
    spec = year_spec(
        year_city_dir,
        model={"kind": "historical_mean", "baselines": ["kde"]},
        backtest={"folds": 3, "truth": str(year_city_dir / "truth_W.parquet")},
    )
    prepared = prepare(spec)
    result = run_backtest(prepared)
    assert result.models == ("historical_mean", "kde")
    assert result.references == ("oracle",)
    # the oracle's forecasts are the file's burglary truth of each fold's week (resolution 9)
    # summed into the panel's resolution-8 cells
    truth = pd.read_parquet(year_city_dir / "truth_W.parquet")
    truth = truth[truth["category"] == "Burglary Residential"]
    truth["parent"] = truth["cell"].map(
        {c: h3.cell_to_parent(c, 8) for c in truth["cell"].unique()}
    )
    cells = cells_to_strings(prepared.panel.cells)
    for i, fold in enumerate(result.folds):
        week = truth[truth["period_start"] == fold.as_of].groupby("parent")["expected"].sum()
        np.testing.assert_allclose(result.forecasts["oracle"][i], week.reindex(cells).fillna(0))
    print(
        result.table("10%", references=True)[["pai", "pei"]],
        result.table("1%", references=True)[["pai", "pei"]],
    )
    # a truth is not the outcome: the oracle's PEI is below 1
    oracle = result.table("1%", references=True).loc["oracle"]
    assert 0 < oracle["pei"] < 1
    selection = select_model(result, spec)
    assert selection.name in {"historical_mean", "kde"} and "oracle" not in selection.scores
    assert report_meta(prepared, selection)["truth (oracle)"] == "truth_W.parquet"
