"""Where a forecast starts: history cut, target periods and leads (forecasters.base)."""

from __future__ import annotations

import pandas as pd
import pytest

from hotspots.errors import ConfigError, DataValidationError
from hotspots.forecasters import check_horizon, next_period_start, origin_of

WEEKS = pd.date_range("2024-01-01", periods=6, freq="W-MON")  # Mondays 1 Jan .. 5 Feb


def test_as_of_on_a_period_start() -> None:
    o = origin_of(WEEKS, "W", "2024-01-22", 2)
    assert o.history_end == 3  # weeks of 1, 8 and 15 January
    assert list(o.targets) == [pd.Timestamp("2024-01-22"), pd.Timestamp("2024-01-29")]
    assert o.leads.tolist() == [1, 2]


def test_as_of_mid_period_drops_the_partial_week() -> None:
    o = origin_of(WEEKS, "W", "2024-01-24 13:00", 1)  # a Wednesday
    assert o.history_end == 3  # the week of 22 January holds as_of: not used
    assert list(o.targets) == [pd.Timestamp("2024-01-29")]
    assert o.leads.tolist() == [2]


def test_as_of_just_after_the_panel() -> None:
    o = origin_of(WEEKS, "W", "2024-02-12", 1)
    assert o.history_end == 6 and o.leads.tolist() == [1]


def test_panel_ending_too_early_is_refused() -> None:
    with pytest.raises(DataValidationError, match="build it up to as_of"):
        origin_of(WEEKS, "W", "2024-02-26", 1)


def test_months() -> None:
    months = pd.date_range("2018-01-01", periods=12, freq="MS")
    o = origin_of(months, "M", "2018-02-15", 3)
    assert o.history_end == 1
    assert [t.month for t in o.targets] == [3, 4, 5] and o.leads.tolist() == [2, 3, 4]
    assert next_period_start("2018-12-02", "M") == pd.Timestamp("2019-01-01")


@pytest.mark.parametrize(
    ("as_of", "horizon", "fragment"),
    [("2024-01-08", 0, "horizon"), ("soon", 1, "as_of"), ("2024-01-08T00:00+01:00", 1, "naive")],
)
def test_bad_arguments(as_of: str, horizon: int, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        origin_of(WEEKS, "W", as_of, horizon)


@pytest.mark.parametrize(("freq", "limit"), [("D", 365), ("W", 52), ("M", 12)])
def test_a_horizon_reaches_a_year_ahead_at_most(freq: str, limit: int) -> None:
    periods = pd.date_range("2024-01-01", periods=3, freq={"D": "D", "W": "W-MON", "M": "MS"}[freq])
    as_of = periods[-1] + pd.Timedelta(days=40 if freq == "M" else 7 if freq == "W" else 1)
    o = origin_of(periods, freq, as_of, limit)
    assert len(o.targets) == limit and o.leads[-1] >= limit
    with pytest.raises(ConfigError) as err:
        origin_of(periods, freq, as_of, limit + 1)
    assert str(err.value) == (
        f"horizon {limit + 1} is more than {limit}: a '{freq}' model forecasts at most {limit} "
        "periods (a year) ahead"
    )
    with pytest.raises(ConfigError, match="horizon 10000000000000000000000 is more than"):
        check_horizon(10**22, freq)  # refused before any date arithmetic could overflow


@pytest.mark.parametrize("horizon", [0, -1, True, 2.0])
def test_a_horizon_is_a_whole_number_of_periods(horizon: object) -> None:
    with pytest.raises(ConfigError, match="horizon must be a whole number of periods >= 1"):
        check_horizon(horizon, "W")
