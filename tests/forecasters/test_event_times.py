"""Forecasters see the events themselves (History.events): LightGBM's event-time features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError, DataValidationError
from hotspots.features import Panel, events_to_panel
from hotspots.forecasters.base import forecaster_from_state
from hotspots.forecasters.lgbm import LightGBMForecaster

FAST = {"n_estimators": 40, "learning_rate": 0.1, "event_times": True}
TARGET = ("Burglary Residential",)
CUT = pd.Timestamp("2023-10-02")  # a Monday
END = pd.Timestamp("2023-12-25")


@pytest.fixture(scope="module")
def panel(year_city_events: pd.DataFrame) -> Panel:
    return events_to_panel(year_city_events, 8, "W", end=END)


@pytest.fixture(scope="module")
def fitted(panel: Panel) -> LightGBMForecaster:
    return LightGBMForecaster(target=TARGET, **FAST).fit(panel, until=CUT)


def forecast(model: LightGBMForecaster, panel: Panel, as_of: object = CUT) -> np.ndarray:
    return model.predict(panel, as_of, horizon=2)["expected_count"].to_numpy()


def test_the_features_are_built_and_used(fitted: LightGBMForecaster) -> None:
    assert fitted.event_times_
    names = set(fitted.feature_names_)
    assert {"event_decay_1d", "ring1_event_decay_7d", "days_since_event"} <= names
    gain = fitted.feature_importances()
    assert gain[[n for n in gain.index if "event" in n]].sum() > 0


def test_events_after_the_origin_change_nothing(
    fitted: LightGBMForecaster, panel: Panel, year_city_events: pd.DataFrame
) -> None:
    late = year_city_events[year_city_events["occurred_at"].dt.tz_localize(None) >= CUT]
    # more events after the cut-off, in other places: the same forecast at the cut-off
    extra = late.assign(lat=late["lat"].to_numpy()[::-1], lng=late["lng"].to_numpy()[::-1])
    both = pd.concat([year_city_events, extra, extra], ignore_index=True)
    future = events_to_panel(both, 8, "W", study_area=panel.study_area, end=END)
    np.testing.assert_array_equal(forecast(fitted, future), forecast(fitted, panel))
    refit = LightGBMForecaster(target=TARGET, **FAST).fit(future, until=CUT)
    np.testing.assert_array_equal(forecast(refit, future), forecast(fitted, panel))


def test_when_in_the_last_week_events_happened_changes_the_forecast(
    fitted: LightGBMForecaster, panel: Panel, year_city_events: pd.DataFrame
) -> None:
    local = year_city_events["occurred_at"].dt.tz_localize(None)
    last_week = (local >= CUT - pd.Timedelta(days=7)) & (local < CUT)
    # the same counts per week and cell, but every event of the last week moved to its Monday
    monday = year_city_events["occurred_at"].dt.floor("D") - pd.to_timedelta(
        year_city_events["occurred_at"].dt.day_of_week, unit="D"
    )
    moved = year_city_events.assign(
        occurred_at=year_city_events["occurred_at"].where(~last_week, monday)
    )
    early = events_to_panel(moved, 8, "W", study_area=panel.study_area, end=END)
    np.testing.assert_array_equal(early.counts, panel.counts)
    before, after = forecast(fitted, panel), forecast(fitted, early)
    assert not np.allclose(before, after)
    # older events weigh less: the total forecast falls where near repeats are all that moved
    assert after.sum() < before.sum()


def test_a_counts_only_panel_is_refused_with_a_reason(
    fitted: LightGBMForecaster, panel: Panel
) -> None:
    counts_only = Panel(
        panel.counts, panel.cells, panel.periods, panel.categories, "W", panel.resolution
    )
    with pytest.raises(DataValidationError, match="events' times"):
        fitted.predict(counts_only, CUT)
    with pytest.raises(ConfigError, match="counts only"):
        LightGBMForecaster(target=TARGET, **FAST).fit(counts_only, until=CUT)
    auto = LightGBMForecaster(target=TARGET, **{**FAST, "event_times": None})
    assert not auto.fit(counts_only, until=CUT).event_times_
    assert auto.fit(panel, until=CUT).event_times_


def test_monthly_panels_are_refused_and_the_state_keeps_the_choice(
    fitted: LightGBMForecaster, panel: Panel, year_city_events: pd.DataFrame
) -> None:
    monthly = events_to_panel(year_city_events, 8, "M")
    with pytest.raises(ConfigError, match="daily or weekly"):
        LightGBMForecaster(target=TARGET, **FAST).fit(monthly)
    restored = forecaster_from_state(fitted.get_state())
    assert restored.event_times_
    np.testing.assert_array_equal(forecast(restored, panel), forecast(fitted, panel))
