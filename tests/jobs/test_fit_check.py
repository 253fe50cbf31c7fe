"""Events that do not fit a model are refused before anything is forecast from them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from hotspots.errors import DataValidationError
from hotspots.features import Panel
from hotspots.forecasters import Forecaster, make_forecaster
from hotspots.jobs.data import local_times
from hotspots.jobs.fit_check import check_events_fit
from hotspots.jobs.forecast import forecast_events

TARGET = "Burglary Residential"
AS_OF = [pd.Timestamp("2024-01-01")]


@pytest.fixture(scope="module")
def model(year_panel: Panel) -> Forecaster:
    return make_forecaster("historical_mean", target=(TARGET,)).fit(year_panel)


@pytest.fixture(scope="module")
def manifest(year_panel: Panel) -> dict[str, Any]:
    n = int(year_panel.of(TARGET).sum())
    return {
        "data": {
            "training_start": year_panel.periods[0].isoformat(),
            "training_until": "2024-01-01T00:00:00",
            "periods": len(year_panel.periods),
            "target_events_in_panel": n,
        }
    }


def test_events_that_fit_give_no_warning(
    model: Forecaster, year_city_events: pd.DataFrame, manifest: dict[str, Any]
) -> None:
    assert check_events_fit(model, year_city_events, manifest) == []
    frame, warnings = forecast_events(model, year_city_events, AS_OF, 1, manifest)
    assert warnings == [] and frame["expected_count"].sum() > 0


def test_a_renamed_target_category_is_refused(
    model: Forecaster, year_city_events: pd.DataFrame, manifest: dict[str, Any]
) -> None:
    renamed = year_city_events.assign(
        category=year_city_events["category"].replace({TARGET: "Residential Burglary"})
    )
    with pytest.raises(DataValidationError, match="target category") as info:
        forecast_events(model, renamed, AS_OF, 1, manifest)
    assert "'Residential Burglary'" in str(info.value) and "--category-map" in str(info.value)


def test_events_from_another_city_are_refused(
    model: Forecaster, year_city_events: pd.DataFrame
) -> None:
    elsewhere = year_city_events.assign(
        lat=year_city_events["lat"] + 5.0, lng=year_city_events["lng"] - 3.0
    )
    with pytest.raises(DataValidationError, match="falls in the model's study area"):
        forecast_events(model, elsewhere, AS_OF)


def test_events_ending_before_the_training_window_are_refused(
    model: Forecaster, year_city_events: pd.DataFrame, manifest: dict[str, Any]
) -> None:
    later = {**manifest["data"], "training_start": "2024-06-03T00:00:00"}
    with pytest.raises(DataValidationError, match="before the model's training window"):
        forecast_events(model, year_city_events, AS_OF, 1, {"data": later})


def test_a_rate_far_from_training_is_a_warning(
    model: Forecaster, year_city_events: pd.DataFrame, manifest: dict[str, Any]
) -> None:
    ten_times = {
        **manifest["data"],
        "target_events_in_panel": 10 * manifest["data"]["target_events_in_panel"],
    }
    frame, warnings = forecast_events(model, year_city_events, AS_OF, 1, {"data": ten_times})
    assert len(frame) == model.cells_.size
    [warning] = warnings
    assert "target events a week in the study area over the 8 weeks to 2024-01-01" in warning


def test_a_batch_needs_only_a_category_the_model_knows(
    model: Forecaster, year_city_events: pd.DataFrame
) -> None:
    others = year_city_events[year_city_events["category"] != TARGET].head(50)
    assert check_events_fit(model, others, batch=True) == []
    strange = others.assign(category="Parking")
    with pytest.raises(DataValidationError, match="any category the model knows"):
        check_events_fit(model, strange, batch=True)


def test_a_gap_before_the_as_of_warns_and_one_spanning_the_recent_counts_is_refused(
    model: Forecaster, year_city_events: pd.DataFrame, manifest: dict[str, Any]
) -> None:
    """The year city's events end in the week of 2023-12-25 (weekly model, recent counts up
    to 8 weeks): 7 empty weeks before the as_of are a warning, 8 are refused."""
    last = local_times(year_city_events).max()
    assert last.to_period("W-SUN").start_time == pd.Timestamp("2023-12-25")
    seven = [pd.Timestamp("2024-02-19")]  # weeks of 01-01 .. 02-12 have no data
    frame, warnings = forecast_events(model, year_city_events, seven, 1, manifest)
    assert len(warnings) == 1 and "before as_of 2024-02-19" in warnings[0]
    assert "count as having no crime" in warnings[0] and len(frame) > 0
    eight = [pd.Timestamp("2024-02-26")]
    with pytest.raises(DataValidationError, match=r"8 whole weeks before as_of 2024-02-26"):
        forecast_events(model, year_city_events, eight, 1, manifest)
