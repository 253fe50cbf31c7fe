"""Export forms a force may send that were read wrong or not at all: compact YYYYMMDDHHMM
stamps (read as epoch milliseconds in 1976, exit 0), years alone (1 January), longitudes that
lost their minus sign; two-digit years, dash dates, day-first 12-hour clocks and fractional
seconds after slash dates (every row unparseable); projected coordinates and Excel serial
days (rejected without a word of why)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hotspots.errors import DataValidationError, TooManyRejectsError
from hotspots.ingest import IngestOptions, ingest_file
from hotspots.ingest.dayorder import DateOrderError
from hotspots.ingest.eventtimes import parse_split_columns
from hotspots.ingest.mapping import ColumnMap
from hotspots.ingest.timeformats import infer_format
from hotspots.ingest.times import parse_time_column
from hotspots.jobs.data import LoadedEvents, event_options

UTC = "UTC"
MAP = "time=date,lat=lat,lng=lng,category=cat"


def export(path: Path, stamps: list[str]) -> Path:
    rows = ["date,lat,lng,cat"]
    rows += [f"{s},{51.5 + i / 1e4:.4f},-0.12,burglary" for i, s in enumerate(stamps)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("values", "fmt", "first"),
    [
        (["202104131703", "202104031000"], "%Y%m%d%H%M", "2021-04-13 17:03"),
        (["20210413170359", "20210403100000"], "%Y%m%d%H%M%S", "2021-04-13 17:03:59"),
        (["13/04/21 17:03", "03/04/21 10:00"], "%d/%m/%y %H:%M", "2021-04-13 17:03"),
        (["04/13/21", "04/03/21"], "%m/%d/%y", "2021-04-13"),
        (["13-04-2021 17:03", "03-04-2021 10:00"], "%d-%m-%Y %H:%M", "2021-04-13 17:03"),
        (["04-13-2021", "04-03-2021"], "%m-%d-%Y", "2021-04-13"),
        (["13/04/2021 05:03 PM", "03/04/2021 10:00 AM"], "%d/%m/%Y %I:%M %p", "2021-04-13 17:03"),
        (
            ["13/04/2021 17:03:12.250", "03/04/2021 10:00:00.5"],
            "%d/%m/%Y %H:%M:%S.%f",
            "2021-04-13 17:03:12.250",
        ),
        (["13-APR-21 17:03", "03-Apr-21 10:00"], "%d-%b-%y %H:%M", "2021-04-13 17:03"),
        (["13 April 2021", "3 May 2021"], "%d %B %Y", "2021-04-13"),
        (
            ["Apr 13, 2021 05:03 PM", "May 3, 2021 10:00 AM"],
            "%b %d, %Y %I:%M %p",
            "2021-04-13 17:03",
        ),
        (["03/2021", "12/2021"], "%m/%Y", "2021-03-01"),
        (["Mar 2021", "Dec 2021"], "%b %Y", "2021-03-01"),
    ],
)
def test_export_time_forms_are_read(values: list[str], fmt: str, first: str) -> None:
    column = pd.Series(values, dtype="object")
    assert infer_format(column) == (fmt, 1.0)
    parsed = parse_time_column(column, UTC, UTC)
    assert parsed.times.iloc[0] == pd.Timestamp(first, tz=UTC)
    assert parsed.times.notna().all()


def test_dash_dates_of_no_telling_order_are_refused_like_slash_ones() -> None:
    with pytest.raises(DateOrderError, match="give --time-format '%d-%m-%Y' .* or '%m-%d-%Y'"):
        infer_format(pd.Series(["03-04-2021", "05-04-2021"]))


def test_compact_stamps_are_not_epoch_milliseconds_of_1976(tmp_path: Path) -> None:
    path = export(tmp_path / "c.csv", ["202104131703", "202104031000", "202105031000"])
    result = ingest_file(path, IngestOptions(column_map=ColumnMap.parse(MAP)))
    times = result.events["occurred_at"]
    assert (times.min(), times.max()) == (
        pd.Timestamp("2021-04-03 10:00", tz=UTC),
        pd.Timestamp("2021-05-03 10:00", tz=UTC),
    )
    assert result.report.time_format == "%Y%m%d%H%M"


def test_epoch_milliseconds_are_still_epochs() -> None:
    # 12 digits that are no compact stamp (no 19xx or 20xx year first) stay epoch milliseconds
    assert infer_format(pd.Series(["978307200000", "993535000000"]))[0] == "epoch-ms"
    assert infer_format(pd.Series(["1186815600000", "1191193140000"]))[0] == "epoch-ms"


def located(path: Path, lat: float, lng: float) -> Path:
    rows = ["date,lat,lng,cat"]
    rows += [
        f"2021-04-{1 + i:02d} 10:00,{lat + i / 1e3:.4f},{lng + i / 1e3:.4f},b" for i in range(9)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("lat", "lng", "tz", "gap"),
    [
        (41.85, 87.65, "America/Chicago", "11.8"),  # Chicago, its longitudes' minus sign lost
        (-33.87, -151.2, "Australia/Sydney", "3.9"),  # Sydney, a minus sign gained
    ],
)
def test_longitudes_far_from_the_timezones_sun_are_refused(
    tmp_path: Path, lat: float, lng: float, tz: str, gap: str
) -> None:
    options = IngestOptions(column_map=ColumnMap.parse(MAP), timezone=tz)
    with pytest.raises(DataValidationError) as err:
        ingest_file(located(tmp_path / "x.csv", lat, lng), options)
    assert str(err.value).startswith(
        f"x.csv: the located rows' median point is lat {lat + 0.004:.4f}"
    )
    assert f"whose sun time is {gap} hours from {tz}'s standard time" in str(err.value)
    assert "have the longitudes lost their minus sign" in str(err.value)


@pytest.mark.parametrize(
    ("lat", "lng", "tz"),
    [
        (39.47, 75.99, "Asia/Shanghai"),  # Kashgar keeps Beijing time, 2.9 hours from its sun
        (42.88, -8.54, "Europe/Madrid"),  # Santiago de Compostela
        (51.5, -0.12, "UTC"),  # a zone of no place says nothing of a longitude
        (41.85, 87.65, "UTC"),
        (52.83, 173.2, "America/Adak"),  # Attu, west of the date line, on Aleutian time
    ],
)
def test_places_keeping_their_timezone_are_read(
    tmp_path: Path, lat: float, lng: float, tz: str
) -> None:
    options = IngestOptions(column_map=ColumnMap.parse(MAP), timezone=tz)
    result = ingest_file(located(tmp_path / "x.csv", lat, lng), options)
    assert result.report.rows_accepted == 9


def test_projected_coordinates_mapped_as_degrees_are_named(tmp_path: Path) -> None:
    # Chicago's X Coordinate / Y Coordinate (Illinois East, feet) given as lng / lat
    path = located(tmp_path / "feet.csv", 1_899_999, 1_170_000)
    with pytest.raises(TooManyRejectsError) as err:
        ingest_file(path, IngestOptions(column_map=ColumnMap.parse(MAP)))
    report = err.value.report
    assert report.rejected == {"bad_coordinates": 9}  # type: ignore[attr-defined]
    assert (
        "lat/lng values such as lat 1899999, lng 1170000 are no degrees: projected coordinates? "
        "map them as x=COL,y=COL with --crs EPSG:xxxx (Chicago's X/Y Coordinate: EPSG:3435)"
    ) in report.notes  # type: ignore[attr-defined]


def test_a_year_alone_is_no_time(tmp_path: Path) -> None:
    # Vancouver's YEAR column mapped as time= read every event as 1 January, month precision
    path = export(tmp_path / "years.csv", ["2021", "2021", "2020 "])
    with pytest.raises(TooManyRejectsError) as err:
        ingest_file(path, IngestOptions(column_map=ColumnMap.parse(MAP)))
    assert err.value.report.rejected == {"unparseable_time": 3}  # type: ignore[attr-defined]
    assert (
        "times such as '2021' are years alone, which place an event in no month: map "
        "year=COL,month=COL[,day=COL], or a column of dates"
    ) in err.value.report.notes  # type: ignore[attr-defined]
    # a month (2021-04) and a date are still read, beside a year among them
    parsed = parse_time_column(pd.Series(["2021-04", "2021-04-13", "2021"]), UTC, UTC)
    assert parsed.times.isna().tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("values", "note"),
    [
        (  # Excel's serial day numbers saved as text
            ["44197.5", "44300.25", "44200"],
            "times such as '44197.5' look like Excel serial day numbers (days since "
            "1899-12-30): give the column a date format in the sheet (yyyy-mm-dd hh:mm) and "
            "save it as CSV again",
        ),
        (  # a date, time export with time= mapped to its time column: no date to place it on
            ["14:05", "2:05 PM", "09:30:00"],
            "times such as '14:05' are a time of day with no date: map the date column as "
            "date= and this one as hour= (--map date=COL,hour=COL)",
        ),
    ],
)
def test_a_time_column_of_another_kind_is_named(
    tmp_path: Path, values: list[str], note: str
) -> None:
    path = export(tmp_path / "times.csv", values)
    with pytest.raises(TooManyRejectsError) as err:
        ingest_file(path, IngestOptions(column_map=ColumnMap.parse(MAP)))
    assert err.value.report.rejected == {"unparseable_time": 3}  # type: ignore[attr-defined]
    assert note in err.value.report.notes  # type: ignore[attr-defined]


def test_an_hhmm_hour_column_is_read_so_in_a_batch_of_early_minutes(tmp_path: Path) -> None:
    # the LAPD's TIME OCC: 2130 is 21:30, and a batch of one incident at 00:15 holds only 15,
    # which alone reads as 15:00; the model records how its export's column was read
    lapd = tmp_path / "lapd.csv"
    rows = [f"04/{1 + i:02d}/2021,{t},{34.05 + i / 1e3:.4f},-118.25,b" for i, t in enumerate(
        ["2130", "1745", "15", "905", "1200"]
    )]  # fmt: skip
    lapd.write_text("DATE OCC,TIME OCC,LAT,LON,cat\n" + "\n".join(rows) + "\n")
    cmap = ColumnMap.parse("date=DATE OCC,hour=TIME OCC,lat=LAT,lng=LON,category=cat")
    result = ingest_file(lapd, IngestOptions(column_map=cmap, date_order="month-first"))
    assert result.report.hour_format == "HHMM"
    loaded = LoadedEvents(result.events, UTC, lapd, "", result.report)
    manifest = {"spec": {"data": {}}, "data": loaded.fingerprint()}
    assert event_options(manifest)["hour_form"] == "HHMM"
    batch = pd.DataFrame({"date": ["04/13/2021"], "hour": ["15"]})
    split = ColumnMap(date="date", hour="hour")
    as_trained = parse_split_columns(batch, split, UTC, UTC, hour_form="HHMM")
    assert as_trained.times.iloc[0] == pd.Timestamp("2021-04-13 00:15", tz=UTC)
    alone = parse_split_columns(batch, split, UTC, UTC)  # what a batch used to be read as
    assert alone.times.iloc[0] == pd.Timestamp("2021-04-13 15:00", tz=UTC)


def test_a_month_alone_is_read_at_month_precision() -> None:
    for values in (["03/2021", "12/2021"], ["Mar 2021", "Dec 2021"], ["March 2021", "May 2021"]):
        parsed = parse_time_column(pd.Series(values, dtype="object"), UTC, UTC)
        assert parsed.times.notna().all() and parsed.precision.tolist() == [2, 2], values
    # a named month beside a day is day precision
    parsed = parse_time_column(pd.Series(["13 April 2021", "3 May 2021"]), UTC, UTC)
    assert parsed.precision.tolist() == [1, 1]
