"""Forecast jobs: --as-of parsing, ranking, output files and the whole-period cut-off."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.jobs.data import ingest_options, whole_periods_end, whole_periods_start
from hotspots.jobs.forecast import parse_as_of, rank_forecast, write_forecast
from hotspots.jobs.train import snap_window

TS = pd.Timestamp


def test_as_of_single_dates_sorted_and_unique() -> None:
    assert parse_as_of(["2024-03-06", "2024-01-01", "2024-03-06"], "W") == [
        TS("2024-01-01"),
        TS("2024-03-06"),
    ]


def test_as_of_range_gives_every_period_start_inclusive() -> None:
    weeks = parse_as_of(["2024-01-03..2024-01-22"], "W")  # Wed .. Mon
    assert weeks == [TS("2024-01-08"), TS("2024-01-15"), TS("2024-01-22")]
    months = parse_as_of(["2018-02-01..2018-05-01"], "M")
    assert months == [TS("2018-02-01"), TS("2018-03-01"), TS("2018-04-01"), TS("2018-05-01")]


@pytest.mark.parametrize("value", ["2024-02-01..2024-01-01", "tomorrow", "2024-01-01..x", ""])
def test_bad_as_of(value: str) -> None:
    with pytest.raises(ConfigError, match="as-of"):
        parse_as_of([value], "W")


@pytest.mark.parametrize("value", ["03/08/2010", "30/08/2010", "8/3/2010", "Aug 3 2010"])
def test_as_of_other_than_year_first_is_refused(value: str) -> None:
    # pandas reads 03/08/2010 as 8 March: a British analyst meant 3 August, and got exit 0
    with pytest.raises(ConfigError, match=r"is not a date in YYYY-MM-DD \(a day/month order"):
        parse_as_of([value], "W")


def test_as_of_year_first_forms_still_read() -> None:
    assert parse_as_of(["2010-08-03", "2010-8-10", "2010-08-16T00:00"], "W") == [
        TS("2010-08-03"),
        TS("2010-08-10"),
        TS("2010-08-16"),
    ]
    assert parse_as_of(["2018-02"], "M") == [TS("2018-02-01")]


def cells(n: int) -> np.ndarray:
    ring = sorted(h3.grid_disk(h3.latlng_to_cell(51.5, -0.12, 9), 1))[:n]
    return np.array([h3.str_to_int(c) for c in ring], dtype=np.uint64)


def test_rank_is_per_as_of_and_period_with_ties_by_cell() -> None:
    c = cells(3)
    frame = pd.DataFrame(
        {
            "as_of": [TS("2024-01-01")] * 6,
            "period_start": [TS("2024-01-01")] * 3 + [TS("2024-01-08")] * 3,
            "cell": np.concatenate([c, c]),
            "expected_count": [0.5, 2.0, 0.5, 1.0, 0.0, 3.0],
        }
    )
    ranked = rank_forecast(frame)
    assert list(ranked.columns) == ["as_of", "period_start", "cell", "expected_count", "rank"]
    first = ranked[ranked.period_start == TS("2024-01-01")]
    assert first["cell"].tolist() == [c[1], c[0], c[2]]  # the 0.5 tie: lower cell id first
    assert first["rank"].tolist() == [1, 2, 3]
    second = ranked[ranked.period_start == TS("2024-01-08")]
    assert second["cell"].tolist() == [c[2], c[0], c[1]] and second["rank"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".geojson"])
def test_write_forecast_formats(tmp_path: Path, suffix: str) -> None:
    c = cells(2)
    frame = rank_forecast(
        pd.DataFrame(
            {
                "as_of": [TS("2024-01-03")] * 2,
                "period_start": [TS("2024-01-08")] * 2,
                "cell": c,
                "expected_count": [0.25, 1.5],
            }
        )
    )
    out = tmp_path / f"f{suffix}"
    write_forecast(frame, out)
    if suffix == ".csv":
        text = out.read_text().splitlines()
        assert text[0] == "as_of,period_start,cell,expected_count,rank"
        assert text[1] == f"2024-01-03,2024-01-08,{h3.int_to_str(int(c[1]))},1.5,1"
    elif suffix == ".parquet":
        back = pd.read_parquet(out)
        assert back["cell"].tolist() == [h3.int_to_str(int(c[1])), h3.int_to_str(int(c[0]))]
        assert back["rank"].tolist() == [1, 2]
    else:
        doc = json.loads(out.read_text())
        props = [f["properties"] for f in doc["features"]]
        assert props[0]["cell"] == h3.int_to_str(int(c[1])) and props[0]["rank"] == 1
        assert props[0]["period_start"] == "2024-01-08" and props[1]["expected_count"] == 0.25
        ring = doc["features"][0]["geometry"]["coordinates"][0]
        lat, lng = h3.cell_to_latlng(h3.int_to_str(int(c[1])))
        assert abs(np.mean([p[0] for p in ring[:-1]]) - lng) < 0.01  # x = lng


def test_write_forecast_refuses_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.xlsx"):
        write_forecast(pd.DataFrame(), tmp_path / "f.xlsx")
    assert not list(tmp_path.iterdir())


def events_ending(last: str, precision: str = "minute") -> pd.DataFrame:
    times = pd.to_datetime(["2024-01-02 10:00", last]).tz_localize("Europe/London")
    return pd.DataFrame({"occurred_at": times, "time_precision": [precision] * 2})


@pytest.mark.parametrize(
    ("last", "freq", "end"),
    [
        ("2024-01-21 23:00", "W", "2024-01-22"),  # Sunday: that week is whole
        ("2024-01-20 23:00", "W", "2024-01-15"),  # Saturday: the week is partial
        ("2024-01-31 08:00", "M", "2024-02-01"),
        ("2024-01-30 08:00", "M", "2024-01-01"),
        ("2024-01-30 08:00", "D", "2024-01-31"),
    ],
)
def test_whole_periods_end(last: str, freq: str, end: str) -> None:
    assert whole_periods_end(events_ending(last), freq) == TS(end)


def test_month_precision_months_are_whole() -> None:
    assert whole_periods_end(events_ending("2024-03-01 00:00", "month"), "M") == TS("2024-04-01")


@pytest.mark.parametrize(
    ("first", "freq", "start"),
    [
        ("2024-01-07 10:00", "W", "2024-01-08"),  # a Sunday: that week is partial
        ("2024-01-08 00:30", "W", "2024-01-08"),  # a Monday: whole
        ("2024-01-02 10:00", "M", "2024-02-01"),
        ("2024-01-01 10:00", "M", "2024-01-01"),
        ("2024-01-02 10:00", "D", "2024-01-02"),
    ],
)
def test_whole_periods_start(first: str, freq: str, start: str) -> None:
    times = pd.to_datetime([first, "2024-06-30 10:00"]).tz_localize("Europe/London")
    events = pd.DataFrame({"occurred_at": times, "time_precision": ["minute"] * 2})
    assert whole_periods_start(events, freq) == TS(start)
    month = events.assign(time_precision=["month"] * 2)
    if freq == "M":
        assert whole_periods_start(month, "M") == TS(first[:8] + "01")


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: snap_window(None, "03/08/2010", "W"), "window.until '03/08/2010' is not a date"),
        (lambda: snap_window("1/2/2010", None, "W"), "window.start '1/2/2010' is not a date"),
        (lambda: ingest_options(start="03/02/2010"), "--start '03/02/2010' is not a date"),
        (lambda: ingest_options(now="12/31/2010"), "--now '12/31/2010' is not a date"),
    ],
)
def test_typed_dates_are_year_first_everywhere(call: Any, fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        call()
    assert snap_window("2010-01-04", "2010-08-02", "W")[1] == TS("2010-08-02")


def test_a_quiet_end_that_chance_explains_is_noted() -> None:
    """The last week is left out as partial when its last day has no event; on a small force
    that is often only a quiet Sunday, and the forecast is as of the week just ended."""
    from hotspots.jobs.data import quiet_end_note

    def events(days: pd.DatetimeIndex, per_day: int) -> pd.DataFrame:
        times = days.repeat(per_day) + pd.Timedelta(hours=12)
        return pd.DataFrame({"occurred_at": times.tz_localize("Europe/London")})

    # 56 days of one event a day to Sunday 2024-03-03, then Monday to Friday 2024-03-08
    days = pd.date_range("2024-01-08", "2024-03-08", freq="D")
    assert quiet_end_note(events(days, 1), "W") == (
        "the events end Fri 2024-03-08, 2 days before the week from 2024-03-04 ends, so that "
        "week is left out as partial and the forecast is as of 2024-03-04; at 1.00 events a "
        "day, 2 days without any happen by chance 14% of the time: if the export covers them, "
        "give as_of 2024-03-11"
    )
    # at 2 a day, 2 quiet days happen 2% of the time: the export most likely stops there
    assert quiet_end_note(events(days, 2), "W") is None
    # a week whose last day has events is whole: nothing to say
    assert quiet_end_note(events(pd.date_range("2024-01-08", "2024-03-10"), 1), "W") is None
