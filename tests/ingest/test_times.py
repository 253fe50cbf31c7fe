"""Time parsing: formats, timezones, precision, DST and split columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.ingest.eventtimes import parse_split_columns, parse_times
from hotspots.ingest.mapping import ColumnMap
from hotspots.ingest.timeformats import infer_format
from hotspots.ingest.times import parse_time_column

CHI = "America/Chicago"
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MINUTE, DAY, MONTH = 0, 1, 2


def strings(*values: str | None) -> pd.Series:
    return pd.Series(list(values), dtype="object")


def local(*stamps: str | None, tz: str = CHI) -> list[pd.Timestamp | None]:
    """Wall times in ``tz`` (None stays None, for NaT)."""
    return [None if s is None else pd.Timestamp(s, tz=tz) for s in stamps]


def as_list(times: pd.Series) -> list[pd.Timestamp | None]:
    return [None if pd.isna(t) else t for t in times]


def utc_offset_hours(times: pd.Series) -> list[float]:
    return [t.utcoffset().total_seconds() / 3600 for t in times]


# --- infer_format --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2020-01-02 03:04:05", "2020-01-03T00:00:00", "2021-12-31 23:59"], "ISO8601"),
        (["2022-03", "2022-04"], "ISO8601"),
        (["2020-05-01", "2020-05-02"], "ISO8601"),
        (["01/02/2020 03:04:05 PM", "12/31/2019 11:00:00 AM"], "%m/%d/%Y %I:%M:%S %p"),
        (["01/02/2020 15:04", "12/31/2019 11:00"], "%m/%d/%Y %H:%M"),
        (["13/02/2020", "01/02/2020", "25/12/2020"], "%d/%m/%Y"),  # days > 12 decide
        (["1/1/2010", "12/31/2010"], "%m/%d/%Y"),
        (["31.12.2020 10:30", "01.01.2021 00:00"], "%d.%m.%Y %H:%M"),
        (["2020/12/31", "2021/01/02 10:00"], "ISO8601"),  # pandas reads "/" as ISO too
    ],
)
def test_infer_format_picks_the_format_that_parses_all(values: list[str], expected: str) -> None:
    assert infer_format(strings(*values)) == (expected, 1.0)


def test_infer_format_samples_the_whole_column_not_its_first_days() -> None:
    # a day-first export sorted by time: its first 2,000 distinct stamps are all on 1-7 Jan,
    # which read as month-first too; the days after the 12th decide
    stamps = pd.date_range("2023-01-01", periods=30 * 300, freq="4min")
    values = pd.Series(stamps.strftime("%d/%m/%Y %H:%M"), dtype="object")
    assert infer_format(values) == ("%d/%m/%Y %H:%M", 1.0)
    parsed = parse_time_column(values, CHI, CHI)
    assert parsed.times.notna().all()
    assert parsed.times.iloc[-1] == pd.Timestamp(stamps[-1], tz=CHI)


def test_infer_format_ignores_blanks_and_reports_the_share_parsed() -> None:
    values = strings("13/02/2020", "14/02/2020", "", None, "  ", "junk")
    assert infer_format(values) == ("%d/%m/%Y", pytest.approx(2 / 3))


def test_infer_format_of_nothing_is_iso_with_share_zero() -> None:
    assert infer_format(strings(None, "", " ")) == ("ISO8601", 0.0)


# --- parse_time_column: values and timezones -------------------------------------------------


def test_naive_times_are_read_in_the_target_timezone() -> None:
    parsed = parse_time_column(strings("2020-01-02 03:04:05", "2020-07-02 13:00"), CHI, CHI)
    assert as_list(parsed.times) == local("2020-01-02 03:04:05", "2020-07-02 13:00")
    assert str(parsed.times.dt.tz) == CHI
    assert utc_offset_hours(parsed.times) == [-6, -5]
    assert parsed.fmt == "ISO8601"


def test_chicago_portal_format_with_am_pm() -> None:
    values = strings("01/02/2020 03:04:05 PM", "12/31/2019 12:00:00 AM", "07/04/2019 12:30:00 PM")
    parsed = parse_time_column(values, CHI, CHI)
    assert parsed.fmt == "%m/%d/%Y %I:%M:%S %p"
    assert as_list(parsed.times) == local(
        "2020-01-02 15:04:05", "2019-12-31 00:00:00", "2019-07-04 12:30:00"
    )
    assert parsed.precision.tolist() == [MINUTE] * 3


def test_given_format_is_used() -> None:
    parsed = parse_time_column(strings("01/02/2020", "03/04/2020"), CHI, CHI, fmt="%d/%m/%Y")
    assert parsed.fmt == "%d/%m/%Y"
    assert as_list(parsed.times) == local("2020-02-01", "2020-04-03")
    assert parsed.precision.tolist() == [DAY, DAY]


def test_utc_source_is_converted_across_standard_and_daylight_time() -> None:
    values = strings("2010-01-01 06:00:00", "2010-07-01 06:00:00", "2010-01-01 05:59:00")
    parsed = parse_time_column(values, CHI, "UTC")
    assert as_list(parsed.times) == local(
        "2010-01-01 00:00:00", "2010-07-01 01:00:00", "2009-12-31 23:59:00"
    )
    assert utc_offset_hours(parsed.times) == [-6, -5, -6]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2010-01-01 06:00:00+01:00", "2009-12-31 23:00:00"),
        ("2010-01-01T06:00:00Z", "2010-01-01 00:00:00"),
        ("2010-07-01T06:00:00.250Z", "2010-07-01 01:00:00.250"),
        ("2010-07-01 06:00:00-05:00", "2010-07-01 06:00:00"),
        ("2010-07-01 06:00:00-0500", "2010-07-01 06:00:00"),
        ("2010-07-01 06:00:00+01", "2010-07-01 00:00:00"),  # PostgreSQL timestamptz text
    ],
)
def test_strings_with_offsets_are_converted(value: str, expected: str) -> None:
    # source_tz is ignored where the string carries its own offset
    parsed = parse_time_column(strings(value), CHI, "Asia/Tokyo")
    assert as_list(parsed.times) == local(expected)
    assert parsed.precision.tolist() == [MINUTE]


def test_mixed_offsets_in_one_column_are_each_converted() -> None:
    values = strings("2020-01-01 12:00:00+01:00", "2020-01-01T12:00:00Z", "2020-01-01 12:00-0800")
    parsed = parse_time_column(values, CHI, "UTC")
    assert as_list(parsed.times) == local(
        "2020-01-01 05:00:00", "2020-01-01 06:00:00", "2020-01-01 14:00:00"
    )


def test_offset_and_naive_rows_in_one_column_are_each_placed_correctly() -> None:
    values = strings("2020-01-01 12:00:00Z", "2020-01-01 12:00:00", "2020-05-01", None)
    parsed = parse_time_column(values, CHI, "Europe/London")
    assert as_list(parsed.times) == local(
        "2020-01-01 06:00:00",  # converted from UTC
        "2020-01-01 06:00:00",  # naive time of day read in source_tz (London, UTC+0 in winter)
        "2020-05-01 00:00:00",  # a date stays on its calendar day
        None,
    )


def test_dates_with_dashes_are_not_mistaken_for_utc_offsets() -> None:
    # "01-02-2020" ends in "-2020", which looks like an offset of -20:20
    parsed = parse_time_column(strings("01-02-2020", "31-12-2020"), CHI, "UTC", fmt="%d-%m-%Y")
    assert as_list(parsed.times) == local("2020-02-01", "2020-12-31")
    assert parsed.precision.tolist() == [DAY, DAY]


@pytest.mark.parametrize(
    "junk", ["2023-02-30 10:00:00", "2023-13-01", "2023-01-01 25:00:00", "unknown", "", "  "]
)
def test_impossible_or_junk_values_are_nat(junk: str) -> None:
    parsed = parse_time_column(strings("2023-01-01 10:00:00", junk, None), CHI, CHI)
    assert as_list(parsed.times) == local("2023-01-01 10:00:00", None, None)


def test_all_junk_column_is_all_nat() -> None:
    parsed = parse_time_column(strings("unknown", "", None), CHI, CHI)
    assert parsed.times.isna().all()
    assert len(parsed.times) == 3


def test_empty_column_gives_an_empty_tz_aware_result() -> None:
    parsed = parse_time_column(pd.Series([], dtype="object"), CHI, "UTC")
    assert len(parsed.times) == 0
    assert str(parsed.times.dt.tz) == CHI
    assert len(parsed.precision) == 0


def test_result_keeps_the_input_index() -> None:
    values = pd.Series(["2020-01-01 10:00", "2020-01-02 10:00"], index=[7, 3])
    parsed = parse_time_column(values, CHI, "UTC")
    assert parsed.times.index.tolist() == [7, 3]


# --- precision -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "precision"),
    [
        ("2020-05-01 10:30:00", MINUTE),
        ("2020-05-01T10:30", MINUTE),
        ("2020-05-01T00:00:00.000", MINUTE),
        ("2020-05-01", DAY),
        ("2020-05", MONTH),
    ],
)
def test_iso_precision_follows_the_string(value: str, precision: int) -> None:
    parsed = parse_time_column(strings(value), CHI, CHI)
    assert parsed.precision.tolist() == [precision]
    assert parsed.precision.dtype == np.int8


def test_iso_precision_is_per_row() -> None:
    parsed = parse_time_column(strings("2020-05-01 10:30", "2020-05-02", "2020-06"), CHI, CHI)
    assert parsed.precision.tolist() == [MINUTE, DAY, MONTH]
    assert as_list(parsed.times) == local("2020-05-01 10:30", "2020-05-02", "2020-06-01")


@pytest.mark.parametrize(
    ("fmt", "value", "precision"),
    [
        ("%m/%d/%Y %I:%M:%S %p", "01/02/2020 03:04:05 PM", MINUTE),
        ("%d/%m/%Y %H:%M", "13/02/2020 10:00", MINUTE),
        ("%d/%m/%Y", "13/02/2020", DAY),
        ("%Y-%m", "2022-03", MONTH),
    ],
)
def test_precision_of_a_given_format(fmt: str, value: str, precision: int) -> None:
    assert parse_time_column(strings(value), CHI, CHI, fmt).precision.tolist() == [precision]


def test_police_uk_month_format() -> None:
    parsed = parse_time_column(strings("2022-03", "2022-10"), "Europe/London", "UTC", "%Y-%m")
    assert as_list(parsed.times) == local("2022-03-01", "2022-10-01", tz="Europe/London")
    assert parsed.precision.tolist() == [MONTH, MONTH]


@pytest.mark.parametrize("source_tz", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
def test_dates_and_months_are_not_shifted_across_midnight(source_tz: str) -> None:
    values = strings("2020-05-01", "2020-01-31", "2022-03", "2020-05-01 10:00")
    parsed = parse_time_column(values, CHI, source_tz)
    times = as_list(parsed.times)
    assert times[:3] == local("2020-05-01", "2020-01-31", "2022-03-01")
    # ... while a time of day is read in source_tz
    expected = pd.Timestamp("2020-05-01 10:00", tz=source_tz).tz_convert(CHI)
    assert times[3] == expected


# --- daylight saving time --------------------------------------------------------------------


def test_skipped_hour_moves_forward_to_the_first_valid_time() -> None:
    # 2023-03-12: clocks in Chicago go from 02:00 CST straight to 03:00 CDT
    parsed = parse_time_column(strings("2023-03-12 02:30:00", "2023-03-12 01:59:00"), CHI, CHI)
    assert as_list(parsed.times) == local("2023-03-12 03:00:00", "2023-03-12 01:59:00")
    assert utc_offset_hours(parsed.times) == [-5, -6]


def test_repeated_hour_is_read_as_standard_time() -> None:
    # 2023-11-05: 01:00-02:00 happens twice (CDT then CST); we read it as CST, UTC-6
    values = strings("2023-11-05 01:30:00", "2023-11-05 00:30:00", "2023-11-05 02:30:00")
    parsed = parse_time_column(values, CHI, CHI)
    assert utc_offset_hours(parsed.times) == [-6, -5, -6]
    assert parsed.times.iloc[0] == pd.Timestamp("2023-11-05 07:30", tz="UTC")


def test_dst_rules_also_apply_in_the_source_timezone() -> None:
    # New York wall times, Chicago target: the skipped and repeated New York hours
    values = strings("2023-03-12 02:30:00", "2023-11-05 01:30:00")
    parsed = parse_time_column(values, CHI, "America/New_York")
    # 02:30 New York -> 03:00 EDT = 07:00 UTC; 01:30 New York read as EST = 06:30 UTC
    assert as_list(parsed.times.dt.tz_convert("UTC")) == local(
        "2023-03-12 07:00", "2023-11-05 06:30", tz="UTC"
    )
    assert str(parsed.times.dt.tz) == CHI


# --- parse_split_columns ---------------------------------------------------------------------


def split_frame(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["Y", "M", "D", "H", "MI"], dtype="object")


FULL = ColumnMap(year="Y", month="M", day="D", hour="H", minute="MI")


def test_split_columns_give_minute_precision_local_times() -> None:
    frame = split_frame(
        [("2020", "6", "19", "3", "40"), ("2020", "2", "29", "23", "59"), (2020, 1, 3, 0, 0)]
    )
    parsed = parse_split_columns(frame, FULL, CHI, CHI)
    assert as_list(parsed.times) == local(
        "2020-06-19 03:40", "2020-02-29 23:59", "2020-01-03 00:00"
    )
    assert parsed.precision.tolist() == [MINUTE] * 3
    assert parsed.fmt == "split columns"


@pytest.mark.parametrize(
    "row",
    [
        ("2023", "2", "30", "10", "0"),  # no February 30
        ("2021", "2", "29", "10", "0"),  # not a leap year
        ("2020", "4", "31", "10", "0"),  # April has 30 days
        ("2020", "13", "1", "10", "0"),  # month 13
        ("2020", "0", "1", "10", "0"),  # month 0
        ("2020", "1", "0", "10", "0"),  # day 0
        ("2020", "1", "1", "25", "0"),  # hour 25
        ("2020", "1", "1", "24", "0"),  # hour 24
        ("2020", "1", "1", "-1", "0"),  # negative hour
        ("2020", "1", "1", "10", "60"),  # minute 60
        ("2020", "1", "1", "1.5", "0"),  # fractional hour
        ("x", "1", "1", "10", "0"),  # non-numeric year
        ("2020", "jan", "1", "10", "0"),  # non-numeric month
        ("2020", "1", "1", "ten", "0"),  # non-numeric hour
        ("2020", "1", "1", "10", "x"),  # non-numeric minute
        ("", "1", "1", "10", "0"),  # empty year
        ("2020", "", "1", "10", "0"),  # empty month
        ("2020", "1", "", "10", "0"),  # empty day
        ("2020", "1", "1", "", "0"),  # empty hour
        ("1850", "1", "1", "10", "0"),  # year out of range
    ],
)
def test_invalid_split_values_are_nat(row: tuple[str, ...]) -> None:
    frame = split_frame([("2020", "3", "1", "1", "5"), row])
    parsed = parse_split_columns(frame, FULL, CHI, CHI)
    assert as_list(parsed.times) == local("2020-03-01 01:05", None)


def test_split_integer_floats_are_accepted() -> None:
    frame = split_frame([(2020.0, 3.0, 1.0, 10.0, 30.0), ("2020", "03", "01", "10.0", "30")])
    parsed = parse_split_columns(frame, FULL, CHI, CHI)
    assert as_list(parsed.times) == local("2020-03-01 10:30", "2020-03-01 10:30")


def test_missing_minute_counts_as_zero_when_the_hour_is_there() -> None:
    frame = split_frame([(2020, 3, 1, 10, None), (2020, 3, 1, 10, np.nan)])
    parsed = parse_split_columns(frame, FULL, CHI, CHI)
    assert as_list(parsed.times) == local("2020-03-01 10:00", "2020-03-01 10:00")


def test_year_and_month_only_give_month_precision() -> None:
    frame = pd.DataFrame({"Y": ["2020", "2021", "2021"], "M": ["2", "12", "13"]})
    parsed = parse_split_columns(frame, ColumnMap(year="Y", month="M"), CHI, "UTC")
    assert as_list(parsed.times) == local("2020-02-01", "2021-12-01", None)
    assert parsed.precision.tolist() == [MONTH] * 3


def test_year_month_day_give_day_precision_and_are_not_shifted() -> None:
    frame = pd.DataFrame({"Y": [2020, 2020], "M": [5, 2], "D": [1, 29]})
    parsed = parse_split_columns(frame, ColumnMap(year="Y", month="M", day="D"), CHI, "UTC")
    assert as_list(parsed.times) == local("2020-05-01", "2020-02-29")
    assert parsed.precision.tolist() == [DAY, DAY]


def test_split_hour_without_minute() -> None:
    frame = pd.DataFrame({"Y": [2020], "M": [5], "D": [1], "H": [17]})
    cmap = ColumnMap(year="Y", month="M", day="D", hour="H")
    parsed = parse_split_columns(frame, cmap, CHI, CHI)
    assert as_list(parsed.times) == local("2020-05-01 17:00")
    assert parsed.precision.tolist() == [MINUTE]


def test_split_times_of_day_are_read_in_source_tz() -> None:
    frame = split_frame([(2010, 1, 1, 6, 0), (2010, 7, 1, 6, 0)])
    parsed = parse_split_columns(frame, FULL, CHI, "UTC")
    assert as_list(parsed.times) == local("2010-01-01 00:00", "2010-07-01 01:00")


def test_split_dst_gap_and_overlap() -> None:
    frame = split_frame([(2023, 3, 12, 2, 30), (2023, 11, 5, 1, 30)])
    parsed = parse_split_columns(frame, FULL, CHI, CHI)
    assert as_list(parsed.times)[0] == pd.Timestamp("2023-03-12 03:00", tz=CHI)
    assert utc_offset_hours(parsed.times) == [-5, -6]


HOURS = [str(h) for h in range(24)]


def test_houston_style_date_and_hour() -> None:
    frame = pd.DataFrame({"date": ["1/1/2010"] * 24 + ["12/31/2010"], "hour": [*HOURS, "23"]})
    parsed = parse_split_columns(frame, ColumnMap(date="date", hour="hour"), CHI, CHI)
    expected = [pd.Timestamp(2010, 1, 1, h, tz=CHI) for h in range(24)]
    assert as_list(parsed.times) == [*expected, pd.Timestamp("2010-12-31 23:00", tz=CHI)]
    assert parsed.precision.tolist() == [MINUTE] * 25
    assert parsed.fmt == "%m/%d/%Y"


@pytest.mark.parametrize(
    ("date", "hour"), [("1/1/2010", "24"), ("1/1/2010", "-1"), ("1/1/2010", ""), ("2/30/2010", "1")]
)
def test_date_and_hour_invalid_is_nat(date: str, hour: str) -> None:
    frame = pd.DataFrame({"date": ["1/2/2010", date], "hour": ["5", hour]})
    # month first, as given: 1/2 and 1/1 alone do not tell the order
    parsed = parse_split_columns(frame, ColumnMap(date="date", hour="hour"), CHI, CHI, "%m/%d/%Y")
    assert as_list(parsed.times) == local("2010-01-02 05:00", None)


def test_date_with_hour_in_utc_source_is_converted() -> None:
    frame = pd.DataFrame({"date": ["1/1/2010", "7/1/2010"], "hour": ["0", "6"]})
    month_first = "%m/%d/%Y"  # given: 1/1 and 7/1 alone do not tell the order
    parsed = parse_split_columns(
        frame, ColumnMap(date="date", hour="hour"), CHI, "UTC", month_first
    )
    assert as_list(parsed.times) == local("2009-12-31 18:00", "2010-07-01 01:00")


def test_date_column_alone_gives_day_precision_and_is_not_shifted() -> None:
    frame = pd.DataFrame({"date": ["2020-05-01", "2020-05-02 13:45:00"]})
    parsed = parse_split_columns(frame, ColumnMap(date="date"), CHI, "UTC")
    # a date column is a calendar day: any time of day in it is dropped
    assert as_list(parsed.times) == local("2020-05-01", "2020-05-02")
    assert parsed.precision.tolist() == [DAY, DAY]


def test_date_hour_and_minute() -> None:
    frame = pd.DataFrame({"d": ["2020-05-01", "2020-05-01"], "h": ["9", "9"], "m": ["15", "61"]})
    parsed = parse_split_columns(frame, ColumnMap(date="d", hour="h", minute="m"), CHI, CHI)
    assert as_list(parsed.times) == local("2020-05-01 09:15", None)


def test_split_without_a_time_source_is_a_config_error() -> None:
    frame = pd.DataFrame({"Y": [2020]})
    with pytest.raises(ConfigError, match="year= and month="):
        parse_split_columns(frame, ColumnMap(year="Y"), CHI, CHI)


def test_parse_times_dispatches_on_the_map() -> None:
    frame = pd.DataFrame({"t": ["2020-05-01 10:00"], "Y": ["2020"], "M": ["5"]})
    by_time = parse_times(frame, ColumnMap(time="t"), CHI, CHI)
    by_split = parse_times(frame, ColumnMap(year="Y", month="M"), CHI, CHI)
    assert as_list(by_time.times) == local("2020-05-01 10:00")
    assert as_list(by_split.times) == local("2020-05-01")
    assert (by_time.precision.tolist(), by_split.precision.tolist()) == ([MINUTE], [MONTH])


# --- real data -----------------------------------------------------------------------------

HOUSTON = DATA / "houston_hpd_ggmap" / "houston_crime_2010-01_2010-08.csv.gz"


@pytest.mark.realdata
@pytest.mark.skipif(not HOUSTON.is_file(), reason=f"real data file {HOUSTON} is absent")
def test_houston_utc_time_agrees_with_local_date_and_hour() -> None:
    """Houston's ``time`` is UTC and ``date``+``hour`` local: both must give the same instant.

    The only rows that differ are the 9 stamped in the hour that clocks skip (2010-03-14 02:00
    local, which does not exist): the split reading moves them forward to 03:00 CDT, while the
    UTC column had them at 07:00 UTC (01:00 CST).
    """
    frame = pd.read_csv(HOUSTON, usecols=["time", "date", "hour"], dtype=str)
    from_utc = parse_time_column(frame["time"], CHI, "UTC")
    from_local = parse_split_columns(frame, ColumnMap(date="date", hour="hour"), CHI, CHI)
    assert from_utc.times.notna().all()
    assert from_local.times.notna().all()
    differ = from_utc.times != from_local.times
    skipped = (frame["date"] == "3/14/2010") & (frame["hour"] == "2")
    assert differ.sum() == skipped.sum() == 9
    assert (differ == skipped).all()
    assert (from_local.times[skipped] == pd.Timestamp("2010-03-14 03:00", tz=CHI)).all()
    assert (from_utc.times[skipped] == pd.Timestamp("2010-03-14 07:00", tz="UTC")).all()


def test_an_hour_column_of_clock_text_gives_hour_and_minute() -> None:
    """San Francisco's export: Date 08/11/2007 and Time 07:00 in two columns."""
    frame = pd.DataFrame(
        {"D": ["08/11/2007", "08/13/2007", "09/30/2007", "09/30/2007"],
         "T": ["07:00", "17:30:15", "25:00", "noon"]}
    )  # fmt: skip
    parsed = parse_split_columns(frame, ColumnMap(date="D", hour="T"), CHI, CHI)
    assert as_list(parsed.times) == local("2007-08-11 07:00", "2007-08-13 17:30", None, None)
    assert parsed.fmt == "%m/%d/%Y; hour column as HH:MM"


def test_an_hour_column_of_hhmm_numbers_gives_hour_and_minute() -> None:
    """The LAPD's TIME OCC: 2130 is 21:30, 5 is 00:05; 2460 is no time."""
    frame = pd.DataFrame({"D": ["2020-01-01"] * 5, "T": [2130, 5, 1200, 2460, 45]})
    parsed = parse_split_columns(frame, ColumnMap(date="D", hour="T"), CHI, CHI)
    assert as_list(parsed.times) == local(
        "2020-01-01 21:30", "2020-01-01 00:05", "2020-01-01 12:00", None, "2020-01-01 00:45"
    )
    assert parsed.fmt == "ISO8601; hour column as HHMM"
    # a stray 24 in a column of hours leaves it a column of hours (24 is no hour)
    hours = pd.DataFrame({"D": ["2020-01-01"] * 3, "T": [21, 24, 5]})
    parsed = parse_split_columns(hours, ColumnMap(date="D", hour="T"), CHI, CHI)
    assert as_list(parsed.times) == local("2020-01-01 21:00", None, "2020-01-01 05:00")
    assert parsed.fmt == "ISO8601"


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["1186815600", "1191193140"], "epoch-s"),
        (["1186815600000", "1191193140000"], "epoch-ms"),
        (["1186815600000.0", "1191193140000.0"], "epoch-ms"),  # a Parquet integer column
    ],
)
def test_epoch_numbers_are_utc_instants(values: list[str], fmt: str) -> None:
    parsed = parse_time_column(strings(*values, ""), CHI, "UTC")
    assert parsed.fmt == fmt
    assert as_list(parsed.times) == local("2007-08-11 02:00", "2007-09-30 17:59", None)
    assert parsed.precision.tolist()[:2] == [MINUTE, MINUTE]
    given = parse_time_column(strings(values[0]), CHI, CHI, fmt=fmt)  # --time-format
    assert as_list(given.times) == local("2007-08-11 02:00")


def test_dates_written_as_eight_digits_are_not_taken_for_epochs() -> None:
    assert infer_format(strings("20070811", "20070930"))[0] != "epoch-s"
