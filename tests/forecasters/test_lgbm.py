"""LightGBMForecaster on the year city: skill, calibration, determinism, state, options."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from hotspots.errors import ConfigError, DataValidationError, IntegrityError, NotFittedError
from hotspots.features import Panel
from hotspots.forecasters.base import forecaster_from_state, make_forecaster
from hotspots.forecasters.lgbm import LightGBMForecaster
from hotspots.grid import cells_to_latlng

FAST = {"n_estimators": 40, "learning_rate": 0.1}
LAST = 8  # weeks held out at the end of the year


@pytest.fixture(scope="module")
def fitted(year_panel: Panel) -> LightGBMForecaster:
    """Fitted on all but the last 8 weeks (read-only)."""
    cut = year_panel.periods[-LAST]
    return LightGBMForecaster(**FAST).fit(year_panel, until=cut)


def next_week(model: LightGBMForecaster, panel: Panel, k: int) -> np.ndarray:
    """The forecast made at the start of held-out week ``k`` for that week."""
    as_of = panel.periods[len(panel.periods) - LAST + k]
    return model.predict(panel, as_of)["expected_count"].to_numpy()


def test_top_cells_catch_over_twice_uniform_and_the_level_is_calibrated(
    fitted: LightGBMForecaster, year_panel: Panel
) -> None:
    total = year_panel.total()
    n = year_panel.cells.size
    top = int(np.ceil(0.05 * n))
    caught = predicted = actual = 0.0
    for k in range(LAST):
        pred = next_week(fitted, year_panel, k)
        week = total[len(year_panel.periods) - LAST + k]
        caught += week[np.argsort(-pred, kind="stable")[:top]].sum()
        predicted += pred.sum()
        actual += week.sum()
    uniform = actual * top / n  # a flat map catches events in proportion to its area
    assert caught > 2 * uniform
    assert abs(predicted / actual - 1) < 0.25


def test_fit_is_deterministic_and_the_seed_matters(
    fitted: LightGBMForecaster, year_panel: Panel
) -> None:
    cut = year_panel.periods[-LAST]
    again = clone(fitted).fit(year_panel, until=cut)
    want = next_week(fitted, year_panel, 0)
    np.testing.assert_array_equal(next_week(again, year_panel, 0), want)
    other = clone(fitted).set_params(random_state=1).fit(year_panel, until=cut)
    assert not np.array_equal(next_week(other, year_panel, 0), want)


def test_without_sampling_the_seed_matters_only_through_the_bin_sample(
    fitted: LightGBMForecaster, year_panel: Panel
) -> None:
    cut = year_panel.periods[-LAST]
    whole = {**FAST, "subsample": 1.0, "colsample_bytree": 1.0}

    def week0(seed: int, bin_rows: int) -> np.ndarray:
        model = LightGBMForecaster(**whole, random_state=seed, bin_sample_rows=bin_rows)
        return next_week(model.fit(year_panel, until=cut), year_panel, 0)

    rows = fitted.n_train_rows_
    np.testing.assert_array_equal(week0(0, rows), week0(1, rows))  # every row places the bins
    assert not np.array_equal(week0(0, rows // 20), week0(1, rows // 20))


def test_state_round_trip_is_json_and_predicts_identically(
    fitted: LightGBMForecaster, year_panel: Panel
) -> None:
    state = fitted.get_state()
    assert state.kind == "lightgbm" and "booster" in state.texts
    json.dumps(state.params)
    restored = forecaster_from_state(state)
    assert isinstance(restored, LightGBMForecaster)
    assert restored.feature_names_ == fitted.feature_names_
    as_of = year_panel.periods[-3] + pd.Timedelta(days=2)  # mid-week: leads 2 and 3
    pd.testing.assert_frame_equal(
        restored.predict(year_panel, as_of, horizon=2), fitted.predict(year_panel, as_of, 2)
    )


def test_one_bag_is_the_single_booster_saved_as_before(
    fitted: LightGBMForecaster, year_panel: Panel
) -> None:
    one = LightGBMForecaster(**FAST, n_bags=1).fit(year_panel, until=year_panel.periods[-LAST])
    np.testing.assert_array_equal(next_week(one, year_panel, 0), next_week(fitted, year_panel, 0))
    X = one.feature_matrix(year_panel, year_panel.periods[-LAST])
    np.testing.assert_array_equal(next_week(one, year_panel, 0), one.booster_.predict(X))
    assert len(one.boosters_) == 1
    assert sorted(one.get_state().texts) == ["booster", "covariate_names", "event_times"]


@pytest.fixture(scope="module")
def bagged(year_panel: Panel) -> tuple[LightGBMForecaster, list[LightGBMForecaster]]:
    """Three bags from seed 5, and the single models of seeds 5, 6 and 7 (read-only)."""
    cut = year_panel.periods[-LAST]
    model = LightGBMForecaster(**FAST, random_state=5, n_bags=3).fit(year_panel, until=cut)
    singles = [
        LightGBMForecaster(**FAST, random_state=s).fit(year_panel, until=cut) for s in (5, 6, 7)
    ]
    return model, singles


def test_bags_forecast_the_mean_of_the_single_seed_models(
    bagged: tuple[LightGBMForecaster, list[LightGBMForecaster]], year_panel: Panel
) -> None:
    model, singles = bagged
    # LightGBM bins every row here (<= 200,000), so the shared bins are each seed's own
    assert model.n_train_rows_ <= 200_000
    as_of = year_panel.periods[-LAST]
    each = [s.predict(year_panel, as_of, 2)["expected_count"].to_numpy() for s in singles]
    got = model.predict(year_panel, as_of, 2)["expected_count"].to_numpy()
    np.testing.assert_allclose(got, np.mean(each, axis=0), rtol=1e-12)
    assert not np.allclose(got, each[0], rtol=1e-3)  # the seeds differ
    # contributions: the mean of the bags' (SHAP values of the mean log forecast)
    X, contrib = model.contributions(year_panel, as_of)
    single = [s.contributions(year_panel, as_of)[1] for s in singles]
    np.testing.assert_allclose(contrib, np.mean(single, axis=0), rtol=1e-9, atol=1e-12)
    splits = model.feature_importances("split")
    want = sum(s.feature_importances("split") for s in singles)
    pd.testing.assert_series_equal(splits, want.loc[splits.index], check_names=False)
    reasons = model.explain(year_panel, as_of)
    assert reasons.shape == (1, year_panel.cells.size) and any(reasons.texts[0])
    with pytest.raises(AttributeError, match="n_bags = 1; this has 3"):
        model.booster_  # noqa: B018


def test_bags_round_trip_through_the_saved_state(
    bagged: tuple[LightGBMForecaster, list[LightGBMForecaster]], year_panel: Panel
) -> None:
    model, _ = bagged
    state = model.get_state()
    assert {"booster", "booster_1", "booster_2"} <= set(state.texts)
    assert state.params["n_bags"] == 3
    restored = forecaster_from_state(state)
    as_of = year_panel.periods[-3]
    pd.testing.assert_frame_equal(
        restored.predict(year_panel, as_of, 2), model.predict(year_panel, as_of, 2)
    )
    again, reasons = restored.explain(year_panel, as_of), model.explain(year_panel, as_of)
    assert again.texts == reasons.texts
    np.testing.assert_array_equal(again.features, reasons.features)
    texts = {k: v for k, v in state.texts.items() if k != "booster_2"}
    with pytest.raises(IntegrityError, match=r"n_bags = 3 but no \['booster_2'\]"):
        forecaster_from_state(dataclasses.replace(state, texts=texts))


def test_bags_need_the_local_engine(year_panel: Panel) -> None:
    with pytest.raises(
        ConfigError, match="engine 'dask' trains one booster; n_bags must be 1, got 3"
    ):
        LightGBMForecaster(**FAST, engine="dask", n_bags=3).fit(year_panel)


def test_covariates_are_panel_data_saved_as_arrays(year_panel: Panel) -> None:
    cells = year_panel.cells
    lat, _ = cells_to_latlng(cells)
    covariates = pd.DataFrame({"lat": lat, "bars near": np.arange(cells.size) % 3}, index=cells)
    covariates = covariates.iloc[5:]  # cells it lacks are missing, not an error
    with_static = dataclasses.replace(year_panel, covariates=covariates)
    model = LightGBMForecaster(**FAST).fit(with_static)
    assert model.feature_names_[-2:] == ["cov_lat", "cov_bars_near"]
    assert "covariates" not in model.get_params()  # data, not a hyper-parameter
    state = model.get_state()
    json.dumps(state.params)
    saved = state.arrays["covariates"]
    assert saved.shape == (cells.size, 2) and np.isnan(saved[:5]).all()
    np.testing.assert_allclose(saved[5:, 0], lat[5:], rtol=1e-6)
    restored = forecaster_from_state(state)
    as_of = year_panel.periods[-1]
    # a forecast uses the covariates saved at fit time, whether its panel carries them or not
    want = model.predict(with_static, as_of)
    pd.testing.assert_frame_equal(restored.predict(year_panel, as_of), want)
    pd.testing.assert_frame_equal(model.predict(year_panel, as_of), want)
    # a state saved when covariates were a parameter (always saved as None) still loads
    old = dataclasses.replace(state, params={**state.params, "covariates": None})
    pd.testing.assert_frame_equal(forecaster_from_state(old).predict(year_panel, as_of), want)
    bad = dataclasses.replace(year_panel, covariates=pd.DataFrame({"x": ["a"]}, index=cells[:1]))
    with pytest.raises(ConfigError, match="numeric"):
        LightGBMForecaster(**FAST).fit(bad)


def test_several_leads_train_with_the_lead_feature(year_panel: Panel) -> None:
    n = year_panel.cells.size
    until = year_panel.periods[20]  # 20 weeks of history
    model = LightGBMForecaster(**FAST, max_horizon=2).fit(year_panel, until=until)
    # lead 1: origins 4..19 (16); lead 2: origins 4..18 (15)
    assert model.n_train_rows_ == 31 * n
    assert "lead" in model.feature_names_
    frame = model.predict(year_panel, until, horizon=3)
    assert frame["period_start"].nunique() == 3 and len(frame) == 3 * n
    single = LightGBMForecaster(**FAST).fit(year_panel, until=until)
    assert single.n_train_rows_ == 16 * n and "lead" not in single.feature_names_


def test_train_periods_and_zero_row_fraction_shrink_the_training_set(year_panel: Panel) -> None:
    n = year_panel.cells.size
    recent = LightGBMForecaster(**FAST, train_periods=10).fit(year_panel)
    assert recent.n_train_rows_ == 10 * n
    thin = LightGBMForecaster(**FAST, zero_row_fraction=0.2).fit(year_panel)
    full = (len(year_panel.periods) - 4) * n
    assert 0.3 * full < thin.n_train_rows_ < full


def test_options_add_and_drop_feature_groups(year_panel: Panel) -> None:
    target = ("Burglary Residential",)
    model = LightGBMForecaster(**FAST, target=target, holidays="US").fit(year_panel)
    names = model.feature_names_
    assert "holidays_in_period" in names and "near_repeat_k1_last_7d" in names
    assert "rel_assault_sum_4" in names and "all_mean_52" in names
    bare = LightGBMForecaster(**FAST, target=target, related=False, near_repeat=False)
    bare_names = bare.fit(year_panel).feature_names_
    assert not any(n.startswith("rel_") or n.startswith("near_repeat") for n in bare_names)
    assert "all_mean_52" in bare_names


def test_feature_importances_are_sorted_and_named(fitted: LightGBMForecaster) -> None:
    gain = fitted.feature_importances()
    assert set(gain.index) == set(fitted.feature_names_)
    assert (np.diff(gain.to_numpy()) <= 0).all() and gain.iloc[0] > 0
    splits = fitted.feature_importances("split")
    assert splits.sum() > 0 and (splits.to_numpy() == splits.to_numpy().round()).all()
    with pytest.raises(ConfigError, match="'cover'"):
        fitted.feature_importances("cover")
    with pytest.raises(NotFittedError):
        LightGBMForecaster().feature_importances()


def test_tweedie_objective_forecasts_a_sensible_level(year_panel: Panel) -> None:
    model = LightGBMForecaster(**FAST, objective="tweedie").fit(year_panel, until="2023-11-06")
    pred = model.predict(year_panel, "2023-11-06", horizon=4)["expected_count"].to_numpy()
    actual = year_panel.total()[year_panel.periods.get_loc("2023-11-06") :][:4].sum()
    assert np.isfinite(pred).all() and abs(pred.sum() / actual - 1) < 0.5


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"objective": "gamma"}, "objective"),
        ({"subsample": 0.0}, "subsample"),
        ({"num_leaves": 1}, "num_leaves"),
        ({"train_periods": 0}, "train_periods"),
        ({"zero_row_fraction": 1.5}, "zero_row_fraction"),
        ({"holidays": "ZZ"}, "'ZZ'"),
        ({"n_bags": 0}, "n_bags is out of range: 0"),
        ({"bin_sample_rows": 0}, "bin_sample_rows is out of range: 0"),
    ],
)
def test_bad_hyper_parameters_are_refused_at_fit(
    year_panel: Panel, params: dict[str, object], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        LightGBMForecaster(**params).fit(year_panel)


def test_registered_by_name_and_needs_a_target_after_the_history(year_panel: Panel) -> None:
    model = make_forecaster("lightgbm", n_estimators=5)
    assert isinstance(model, LightGBMForecaster) and model.min_history == 4
    with pytest.raises(DataValidationError, match="needs at least 5 periods"):
        model.fit(year_panel, until=year_panel.periods[4])
