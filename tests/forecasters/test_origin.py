"""Where a forecast starts: history cut, target periods and leads (forecasters.base)."""

from __future__ import annotations

import pandas as pd
import pytest

from hotspots.errors import ConfigError, DataValidationError
from hotspots.forecasters import next_period_start, origin_of

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
