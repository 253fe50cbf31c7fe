"""Training jobs: the panel a spec builds, model selection against baselines, covariates."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.evaluation import Cutoff
from hotspots.grid import cells_to_latlng, cells_to_strings
from hotspots.jobs.gain import _event_base, measured_gain
from hotspots.jobs.spec import TrainingSpec, check_spec, spec_from_dict
from hotspots.jobs.train import (
    _fold_base,
    candidate_models,
    prepare,
    report_meta,
    run_backtest,
    run_selection,
    select_model,
    selection_folds,
    skipped_challengers,
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


def fake_result(
    pai: dict[str, float],
    per_fold: dict[str, list[float]] | None = None,
    at5: dict[str, list[float]] | None = None,
) -> Any:
    """A stand-in BacktestResult scored at 1% and 5%: PAI per fold at 1% (default: ``pai``
    in each of three folds) and at 5% (default: the same as at 1%); the table holds the
    means (``pai`` at 1%)."""
    per_fold = per_fold or {m: [v] * 3 for m, v in pai.items()}
    at5 = at5 or per_fold
    n = len(next(iter(per_fold.values())))
    as_of = pd.date_range("2023-10-02", periods=n, freq="7D")
    rows = pd.DataFrame(
        [
            # one cell of 100 flagged, 100 events a fold: PAI v is v hits
            {
                "model": m,
                "as_of": as_of[i],
                "cutoff": cutoff,
                "pai": v,
                "hits": v,
                "flagged": 1,
                "n_events": 100,
            }
            for cutoff, folds in (("1%", per_fold), ("5%", at5))
            for m, values in folds.items()
            for i, v in enumerate(values)
        ]
    )
    tables = {
        "1%": pd.DataFrame({"pai": pai}),
        "5%": pd.DataFrame({"pai": {m: float(np.mean(v)) for m, v in at5.items()}}),
    }
    return SimpleNamespace(
        cutoffs=(Cutoff.coverage(0.01), Cutoff.coverage(0.05)),
        table=lambda cutoff: tables[cutoff],
        folds=tuple(as_of),
        per_fold=rows,
    )


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
    selection = select_model(fake_result(scores), year_spec(year_city_dir))
    assert selection.name == chosen and selection.cutoff == "1%"
    assert ("instead" in selection.reason) == (chosen != "lightgbm")
    assert selection.basis == "reported"
    assert "reported folds (select_folds is 0, or no room before them)" in selection.reason


def test_select_says_how_sure_it_is(year_city_dir: Path) -> None:
    spec = year_spec(year_city_dir)
    # lightgbm ahead in 4 of 5 folds, by more than it loses in the fifth
    per_fold = {"lightgbm": [5.0, 5.0, 5.0, 5.0, 1.0], "kde": [4.0, 4.0, 4.0, 4.0, 2.0]}
    result = fake_result({"lightgbm": 4.2, "kde": 3.6}, per_fold)
    selection = select_model(result, spec, basis="selection")
    assert selection.name == "lightgbm" and selection.n_folds == 5
    assert selection.win_share is not None and 0.85 < selection.win_share < 1.0
    assert (
        "5 selection folds before the reported ones (500 events; the top 1% is 1 cell a fold)"
        in selection.reason
    )
    assert f"ahead in {selection.win_share:.0%} of fold resamples" in selection.reason
    always = fake_result({"lightgbm": 5.0, "kde": 4.0})
    assert select_model(always, spec).win_share == 1.0
    tie = select_model(fake_result({"lightgbm": 4.0, "kde": 4.0}), spec)
    assert tie.name == "lightgbm" and tie.win_share == 0.5


def test_measured_gain_is_the_ratio_to_the_best_baseline_with_an_interval(
    year_city_dir: Path,
) -> None:
    per_fold = {
        "lightgbm": [5.0, 6.0, 4.0, 5.0],
        "kde": [4.0, 5.0, 4.0, 3.0],
        "last_period": [1.0, 1.0, 1.0, 1.0],
    }
    result = fake_result({"lightgbm": 5.0, "kde": 4.0, "last_period": 1.0}, per_fold)
    gain = measured_gain(result, year_spec(year_city_dir), "1%")
    assert gain["gain_baseline"] == "kde" and gain["gain_ratio"] == pytest.approx(1.25)
    assert 1.0 <= gain["gain_ci_low"] < 1.25 < gain["gain_ci_high"] <= 5.0 / 3.0 + 1e-9
    assert gain["measured_gain"].startswith("lightgbm PAI@1% is 1.250x the best baseline's (kde)")
    assert "over the 4 reported folds" in gain["measured_gain"]
    assert (gain["gain_hits"], gain["gain_baseline_hits"], gain["gain_events"]) == (20, 16, 400)
    # the interval (1.06-1.50) is above 1: the folds tell them apart, and no verdict is added
    assert gain["gain_undecided"] is False and "cannot tell" not in gain["measured_gain"]
    assert measured_gain(fake_result({"kde": 4.0}), year_spec(year_city_dir), "1%") == {}


def test_measured_gain_says_when_the_interval_has_no_upper_bound(year_city_dir: Path) -> None:
    # a thin export: the best baseline catches an event in one reported fold of four, so some
    # resamples of the folds hold none of its catches (the line read "0.000-4.5e303")
    per_fold = {"lightgbm": [0.0, 3.0, 3.0, 0.0], "kde": [6.0, 0.0, 0.0, 0.0]}
    result = fake_result({"lightgbm": 1.5, "kde": 1.5}, per_fold)
    gain = measured_gain(result, year_spec(year_city_dir), "1%")
    assert gain["gain_ratio"] == pytest.approx(1.0) and gain["gain_ci_high"] == float("inf")
    assert gain["gain_undecided"] is True
    assert gain["measured_gain"] == (
        "lightgbm PAI@1% is 1.000x the best baseline's (kde), 95% interval 0.000 and up, "
        "unbounded (in some resamples of the folds kde caught no event), over the 4 reported "
        "folds; their flagged cells (1 cell a fold) caught 6 (lightgbm) and 6 (kde) of the "
        "folds' 400 events: the interval holds 1, so these folds cannot tell lightgbm and kde apart"
    )


def test_measured_gain_says_when_the_baseline_caught_nothing(year_city_dir: Path) -> None:
    # a thin export: the best baseline's flagged cell caught no event in any reported fold, so
    # there is no ratio; the line read "nanx ..., 95% interval nan and up, unbounded (in some
    # resamples of the folds kde caught no event)"
    per_fold = {"lightgbm": [1.0, 2.0, 0.0], "kde": [0.0, 0.0, 0.0]}
    result = fake_result({"lightgbm": 1.0, "kde": 0.0}, per_fold)
    gain = measured_gain(result, year_spec(year_city_dir), "1%")
    assert np.isnan(gain["gain_ratio"]) and gain["gain_baseline"] == "kde"
    assert "nan" not in gain["measured_gain"] and "unbounded" not in gain["measured_gain"]
    assert gain["measured_gain"] == (
        "lightgbm PAI@1% has no ratio to the best baseline's (kde): kde caught no event in the "
        "3 reported folds; their flagged cells (1 cell a fold) caught 3 (lightgbm) and 0 (kde) "
        "of the folds' 300 events"
    )


def test_the_events_a_choice_rests_on_are_written_with_thousands_separators() -> None:
    # Houston's burglaries: "(3205 events; ...)" and "of the folds' 3186 events" beside a
    # panel line of "17,474 events"
    rows = pd.DataFrame(
        {
            "model": ["lightgbm", "kde"] * 2,
            "cutoff": "1%",
            "hits": [600.0, 610.0, 629.0, 620.0],
            "n_events": [1600.0, 1600.0, 1605.0, 1605.0],
            "flagged": [18, 18, 18, 18],
        }
    )
    assert _event_base(rows, "lightgbm", "kde")["sentence"] == (
        "their flagged cells (18 cells a fold) caught 1,229 (lightgbm) and 1,230 (kde) of the "
        "folds' 3,205 events"
    )
    assert _fold_base(rows, "1%", "lightgbm") == " (3,205 events; the top 1% is 18 cells a fold)"


def test_selection_folds_come_just_before_the_reported_ones(year_city_dir: Path) -> None:
    prepared = prepare(year_spec(year_city_dir, backtest={"folds": 4, "refit_every": 2}))
    models = candidate_models(prepared)
    inner = selection_folds(prepared, models)
    periods = prepared.panel.periods
    assert [f.as_of for f in inner] == list(periods[-8:-4])  # 4 folds, as many as reported
    assert [f.fit_until for f in inner] == [periods[-8]] * 2 + [periods[-6]] * 2
    none = prepare(year_spec(year_city_dir, backtest={"folds": 4, "select_folds": 0}))
    assert selection_folds(none, models) == ()
    # a window with no room for them before the reported folds: none either
    crowded = prepare(year_spec(year_city_dir, backtest={"folds": 40, "select_folds": 10}))
    assert selection_folds(crowded, models) == ()
    result = run_selection(prepare(year_spec(year_city_dir, backtest={"folds": 2})), models)
    assert result is not None and [c.label for c in result.cutoffs] == ["1%", "5%"]
    assert [f.as_of for f in result.folds] == list(periods[-4:-2])


@pytest.mark.parametrize(
    ("scores", "published", "learned"),
    [
        ({"lightgbm": 5.0, "ensemble": 5.5, "kde": 4.0}, "ensemble", "ensemble"),
        ({"lightgbm": 5.0, "ensemble": 5.0, "kde": 4.0}, "lightgbm", "lightgbm"),  # tie: main
        ({"lightgbm": 3.0, "ensemble": 3.5, "kde": 4.0}, "kde", "ensemble"),
        ({"lightgbm": 5.0, "kde": 4.0}, "lightgbm", "lightgbm"),  # challenger not run
    ],
)
def test_a_challenger_is_published_when_it_wins_the_selection(
    year_city_dir: Path, scores: dict[str, float], published: str, learned: str
) -> None:
    spec = year_spec(year_city_dir, model={"challengers": ["ensemble"]})
    selection = select_model(fake_result(scores), spec, basis="selection")
    assert (selection.name, selection.learned) == (published, learned)
    # the other learned model is never the baseline the winner is measured against
    assert ("challenger ensemble beat lightgbm (1.375x > 1.250x)" in selection.reason) == (
        scores.get("ensemble", 0) == 5.5
    )
    assert "best baseline kde" in selection.reason
    gain = measured_gain(fake_result(scores), spec, "1%", selection.learned)
    assert gain["gain_baseline"] == "kde"
    assert gain["gain_ratio"] == pytest.approx(scores[learned] / 4.0)


def test_challengers_are_checked_and_left_out_where_the_data_cannot_feed_them(
    year_city_dir: Path,
) -> None:
    with pytest.raises(ConfigError, match=r"model.challengers \['kde'\] must be learned kinds"):
        check_spec(year_spec(year_city_dir, model={"challengers": ["kde"]}))
    with pytest.raises(ConfigError, match="other than model.kind 'lightgbm'"):
        check_spec(year_spec(year_city_dir, model={"challengers": ["lightgbm"]}))
    weekly = prepare(year_spec(year_city_dir, model={"challengers": ["hawkes", "ensemble"]}))
    assert skipped_challengers(weekly) == {}
    assert list(candidate_models(weekly))[:3] == ["lightgbm", "hawkes", "ensemble"]
    monthly = prepare(
        year_spec(
            year_city_dir,
            grid={"resolution": 8, "period": "M"},
            model={"challengers": ["hawkes", "ensemble"]},
        )
    )
    skipped = skipped_challengers(monthly)
    assert set(skipped) == {"hawkes", "ensemble"}
    assert "daily or weekly panel" in skipped["hawkes"]
    assert skipped["ensemble"].startswith("ensemble member hawkes: ")
    assert "hawkes" not in candidate_models(monthly)
    lgbm = candidate_models(monthly)["lightgbm"]
    assert lgbm.unusable_reason(monthly.panel) is None
    assert "event_times = true" in str(
        lgbm.set_params(event_times=True).unusable_reason(monthly.panel)
    )


def test_select_coverage_must_be_backtested(year_city_dir: Path) -> None:
    spec = year_spec(year_city_dir, backtest={"folds": 2, "select_coverage": 0.02})
    with pytest.raises(ConfigError, match="select_coverage 0.02"):
        select_model(fake_result({"lightgbm": 1.0}), spec)


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
    cov = prepared.panel.covariates  # data of the panel, not a parameter of the model
    assert cov is not None and list(cov.columns) == ["bars"]
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


def test_an_until_inside_a_week_snaps_back_to_the_week_start(year_city_dir: Path) -> None:
    # 2023-07-04 is a Tuesday: a one-day "week" 2023-07-03 would be scored as a whole fold
    prepared = prepare(year_spec(year_city_dir, window={"until": "2023-07-04"}))
    assert prepared.until == pd.Timestamp("2023-07-03")
    assert prepared.panel.periods[-1] == pd.Timestamp("2023-06-26")
    [note] = prepared.notes
    assert "--until 2023-07-04 (Tuesday)" in note and "training stops at 2023-07-03" in note
    assert prepared.data_summary()["window_notes"] == [note]


def test_a_start_inside_a_month_moves_on_to_the_next_month(year_city_dir: Path) -> None:
    spec = year_spec(year_city_dir, window={"start": "2023-02-10", "until": "2023-09-15"})
    prepared = prepare(
        spec.model_copy(update={"grid": spec.grid.model_copy(update={"period": "M"})})
    )
    assert prepared.panel.periods[0] == pd.Timestamp("2023-03-01")
    assert prepared.panel.periods[-1] == pd.Timestamp("2023-08-01")
    assert prepared.until == pd.Timestamp("2023-09-01")
    assert len(prepared.notes) == 2


def test_bounds_on_period_starts_leave_no_note(year_city_dir: Path) -> None:
    prepared = prepare(
        year_spec(year_city_dir, window={"start": "2023-01-02", "until": "2023-07-03"})
    )
    assert prepared.notes == ()
    assert prepared.panel.periods[0] == pd.Timestamp("2023-01-02")


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


@pytest.mark.parametrize(
    ("at5", "select_also", "chosen"),
    [
        # a hair behind at 1% (0.975x), well ahead at 5% (1.2x): mean 1.0875x
        ({"lightgbm": [2.4] * 3, "kde": [2.0] * 3, "last_period": [1.0] * 3}, None, "lightgbm"),
        ({"lightgbm": [2.4] * 3, "kde": [2.0] * 3, "last_period": [1.0] * 3}, [], "kde"),
        # behind at 5% too: the best baseline at 1% is published
        ({"lightgbm": [1.9] * 3, "kde": [2.0] * 3, "last_period": [1.0] * 3}, None, "kde"),
        # at 5% the rival is last_period (3.0), not kde: 2.4 / 3.0 = 0.8, mean 0.8875x
        ({"lightgbm": [2.4] * 3, "kde": [2.0] * 3, "last_period": [3.0] * 3}, None, "kde"),
    ],
)
def test_the_choice_weighs_every_select_coverage_against_its_own_best_baseline(
    year_city_dir: Path, at5: dict[str, list[float]], select_also: list[float] | None, chosen: str
) -> None:
    backtest = {} if select_also is None else {"select_also": select_also}
    spec = year_spec(year_city_dir, backtest=backtest)
    scores = {"lightgbm": 3.9, "kde": 4.0, "last_period": 2.0}
    selection = select_model(fake_result(scores, at5=at5), spec, basis="selection")
    assert selection.name == chosen and selection.learned == "lightgbm"
    assert selection.cutoff == "1%" and selection.scores == scores
    if select_also is None:
        rival5 = max(("kde", "last_period"), key=lambda k: at5[k][0])
        mean = (3.9 / 4.0 + at5["lightgbm"][0] / at5[rival5][0]) / 2
        assert f"PAI@5% {at5['lightgbm'][0]:.2f} against best baseline {rival5}" in selection.reason
        assert f"mean {mean:.3f}x {'>=' if chosen == 'lightgbm' else '<'} 1" in selection.reason
        # every fold the same: sure either way
        assert selection.win_share == (1.0 if chosen == "lightgbm" else 0.0)
    else:
        assert "PAI@5%" not in selection.reason and "0.975x < 1" in selection.reason


def test_select_also_must_be_backtested_and_fractions(year_city_dir: Path) -> None:
    spec = year_spec(year_city_dir, backtest={"coverages": [0.01, 0.1]})
    with pytest.raises(ConfigError, match=r"select_also 0.05 is not one of the backtest cov"):
        check_spec(spec)  # before any data is read
    with pytest.raises(ConfigError, match=r"select_also 0.1 is not one of the backtest cov"):
        select_model(  # a result without it
            fake_result({"lightgbm": 1.0, "kde": 1.0}),
            year_spec(year_city_dir, backtest={"select_also": [0.1]}),
        )
    check_spec(year_spec(year_city_dir, backtest={"coverages": [0.01, 0.1], "select_also": []}))
    with pytest.raises(
        ConfigError, match=r"select_also must be fractions in \(0, 1\], got \[5.0\]"
    ):
        year_spec(year_city_dir, backtest={"select_also": [5]})
