"""Day/month order: slash dates whose fields never pass 12 are refused unless the order is
given (a format, or the order a model's training export was read in); a deciding date
anywhere in the column settles it, even one the format sample missed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.ingest import IngestOptions, ingest_file
from hotspots.ingest.dayorder import DateOrderError, in_order, order_of
from hotspots.ingest.mapping import ColumnMap
from hotspots.ingest.timeformats import SAMPLE, infer_format
from hotspots.ingest.times import parse_time_column
from hotspots.jobs.data import LoadedEvents, event_options

RunCli = Any
MAP = "time=date,lat=lat,lng=lng,category=cat,id=id"
UTC = "UTC"


def week_csv(path: Path, stamps: list[str]) -> Path:
    rows = ["id,date,lat,lng,cat"]
    rows += [f"{i},{s},{51.5 + i / 1e4:.4f},-0.12,burglary" for i, s in enumerate(stamps)]
    path.write_text("\n".join(rows) + "\n")
    return path


# a UK force's weekly export: Tuesday 1 to Monday 7 December 2026, day first
WEEK = [f"{d:02d}/12/2026 {h:02d}:15" for d in range(1, 8) for h in (3, 11, 19)]


def test_an_unresolved_order_is_refused_naming_both_formats() -> None:
    with pytest.raises(DateOrderError) as err:
        infer_format(pd.Series(["01/02/2020", "02/03/2020", "02/03/2020"]))
    assert str(err.value) == (
        "day/month order of the time column is unresolved: 2 distinct dates (e.g. "
        "'01/02/2020'), no day or month passes 12, so each reads either way; give "
        "--time-format '%d/%m/%Y' (day first) or '%m/%d/%Y' (month first) (spec: "
        "data.time_format)"
    )


def test_dates_whose_day_and_month_are_equal_read_alike_and_are_not_refused() -> None:
    # New Year's Day, 5 May, 12 December: both orders give the same dates, so nothing is
    # ambiguous; such a day's export was refused as "unresolved"
    for day in ("01/01/2027", "05/05/2026", "12/12/2026"):
        values = pd.Series([f"{day} {h:02d}:15" for h in (3, 11, 19)])
        fmt, share = infer_format(values)
        assert share == 1.0 and order_of(fmt) is not None
        parsed = parse_time_column(values, UTC, UTC)
        assert parsed.times.dt.strftime("%d/%m/%Y").tolist() == [day] * 3
    # one date that is not so still leaves the order unresolved
    with pytest.raises(DateOrderError):
        infer_format(pd.Series(["05/05/2026 03:15", "05/06/2026 03:15"]))


def test_a_known_order_settles_what_the_values_do_not() -> None:
    values = pd.Series(["01/02/2020 10:00", "02/03/2020 11:00"])
    assert infer_format(values, "day-first") == ("%d/%m/%Y %H:%M", 1.0)
    assert infer_format(values, "month-first") == ("%m/%d/%Y %H:%M", 1.0)
    # values that agree with it are read so, however the sample fell
    assert infer_format(pd.Series(["13/01/2020", "02/03/2020"]), "day-first")[0] == "%d/%m/%Y"


def test_values_that_tell_against_a_known_order_are_refused() -> None:
    # a batch posted month first to a model whose export was read day first: read as the
    # values say, its other dates would be read against the model's; read as the model's, a
    # typo such as 01/13 could not flip a whole batch either way
    with pytest.raises(DateOrderError) as err:
        infer_format(pd.Series(["01/13/2020", "02/03/2020", "01/14/2020"]), "day-first")
    assert str(err.value) == (
        "day/month order of the time column is month first (2 values such as '01/13/2020' have "
        "a second field above 12), but the model's training data were read day first; give "
        "--time-format '%d/%m/%Y' (day first) or '%m/%d/%Y' (month first) (spec: "
        "data.time_format)"
    )


def test_a_deciding_date_the_sample_misses_settles_the_whole_column() -> None:
    # 30,000 distinct stamps on days 1-12, and one on the 13th late in the file at a row
    # the 2,000-value format sample skips: the first order that parsed used to win
    stamps = pd.date_range("2021-01-01", periods=30_000, freq="min")
    stamps = stamps[stamps.day <= 12]
    n = len(stamps)
    values = pd.Series(stamps.strftime("%d/%m/%Y %H:%M:%S"), dtype="object")
    sampled = set(np.linspace(0, n - 1, SAMPLE).astype(int))
    late = next(i for i in range(int(n * 0.9), n) if i not in sampled)
    values.iloc[late] = "13/01/2021 10:00:00"
    assert infer_format(values) == ("%d/%m/%Y %H:%M:%S", 1.0)
    parsed = parse_time_column(values, UTC, UTC)
    assert parsed.times.iloc[late] == pd.Timestamp("2021-01-13 10:00", tz=UTC)
    assert parsed.times.iloc[1440] == pd.Timestamp("2021-01-02 00:00", tz=UTC)  # not 1 Feb


def test_more_rows_of_one_order_outvote_a_few_slips_of_the_other() -> None:
    values = pd.Series(["13/01/2020", "14/01/2020", "01/13/2020", "05/01/2020"] * 300)
    values = values + pd.Series([f" {i % 24:02d}:00" for i in range(1200)])
    fmt, share = infer_format(values)
    assert fmt == "%d/%m/%Y %H:%M" and share == pytest.approx(0.75, abs=0.01)


@pytest.mark.parametrize(
    ("fmt", "order", "twin"),
    [
        ("%m/%d/%Y %I:%M %p", "day-first", "%d/%m/%Y %I:%M %p"),
        ("%d/%m/%Y", "month-first", "%m/%d/%Y"),
        ("%Y/%m/%d", "day-first", "%Y/%m/%d"),  # year first: no order to choose
    ],
)
def test_in_order(fmt: str, order: str, twin: str) -> None:
    assert in_order(fmt, order) == twin
    assert order_of(twin) == (order if twin != fmt else None)


def test_ingest_names_the_column_and_file(tmp_path: Path) -> None:
    path = week_csv(tmp_path / "week.csv", WEEK)
    options = IngestOptions(column_map=ColumnMap.parse(MAP), now=pd.Timestamp("2027-01-01"))
    with pytest.raises(DateOrderError) as err:
        ingest_file(path, options)
    assert str(err.value).startswith(
        "day/month order of column 'date' of week.csv is unresolved: 7 distinct dates (e.g. "
        "'01/12/2026 03:15')"
    )


def test_cli_refuses_an_unresolved_order_with_exit_2(run_cli: RunCli, tmp_path: Path) -> None:
    path, out = week_csv(tmp_path / "week.csv", WEEK), tmp_path / "week.parquet"
    res = run_cli("ingest", path, "--map", MAP, "--out", out, "--now", "2027-01-01")
    assert res.code == 2
    assert res.err.strip().splitlines() == [
        "error: day/month order of column 'date' of week.csv is unresolved: 7 distinct dates "
        "(e.g. '01/12/2026 03:15'), no day or month passes 12, so each reads either way; give "
        "--time-format '%d/%m/%Y %H:%M' (day first) or '%m/%d/%Y %H:%M' (month first) (spec: "
        "data.time_format)"
    ]
    assert not out.exists()


def test_cli_reads_the_order_it_is_given(run_cli: RunCli, tmp_path: Path) -> None:
    path, out = week_csv(tmp_path / "week.csv", WEEK), tmp_path / "week.parquet"
    res = run_cli(
        "ingest", path, "--map", MAP, "--out", out, "--now", "2027-01-01",
        "--time-format", "%d/%m/%Y %H:%M",
    )  # fmt: skip
    assert res.code == 0, res.err
    times = pd.read_parquet(out)["occurred_at"]
    assert (times.min(), times.max()) == (
        pd.Timestamp("2026-12-01 03:15", tz=UTC),
        pd.Timestamp("2026-12-07 19:15", tz=UTC),
    )


def test_the_report_and_the_fingerprint_record_the_format_read(tmp_path: Path) -> None:
    path = week_csv(tmp_path / "week.csv", [*WEEK, "13/12/2026 10:00"])
    now = pd.Timestamp("2027-01-01", tz=UTC)
    result = ingest_file(path, IngestOptions(column_map=ColumnMap.parse(MAP), now=now))
    assert result.report.time_format == "%d/%m/%Y %H:%M"
    loaded = LoadedEvents(result.events, UTC, path, "", result.report)
    assert loaded.fingerprint()["time_format"] == "%d/%m/%Y %H:%M"
    # an event table written by `hotspots ingest` keeps it in its report
    table = LoadedEvents(result.events, UTC, path, "", meta={"report": result.report.to_dict()})
    assert table.fingerprint()["time_format"] == "%d/%m/%Y %H:%M"


def test_event_options_carry_the_trained_order_unless_the_spec_gave_a_format() -> None:
    spec = {"data": {"map": MAP}}
    trained = {"spec": spec, "data": {"timezone": UTC, "time_format": "%d/%m/%Y %H:%M"}}
    assert event_options(trained)["date_order"] == "day-first"
    pinned = {**trained, "spec": {"data": {"map": MAP, "time_format": "%m/%d/%Y %H:%M"}}}
    assert "date_order" not in event_options(pinned)
    assert event_options(pinned)["time_format"] == "%m/%d/%Y %H:%M"
    old = {"spec": spec, "data": {"timezone": UTC}}  # a manifest from before the record
    assert "date_order" not in event_options(old)
    iso = {"spec": spec, "data": {"timezone": UTC, "time_format": "ISO8601"}}
    assert "date_order" not in event_options(iso)


def test_forecast_events_read_in_the_models_order_unless_another_export_is_mapped(
    tmp_path: Path,
) -> None:
    from hotspots.cli.forecast_cmd import read_history

    manifest = {"spec": {"data": {"map": MAP}}, "data": {"time_format": "%d/%m/%Y %H:%M"}}
    last_year = [s.replace("2026", "2025") for s in WEEK]  # past: no future_time rejects
    flags = {"preset": None, "crs": None, "tz": None}
    events = read_history(
        manifest, week_csv(tmp_path / "w.csv", last_year), None, map_=None, **flags
    )
    assert events["occurred_at"].max() == pd.Timestamp("2025-12-07 19:15", tz=UTC)
    # another export's columns (--map): the model's order is not assumed for its dates
    us = week_csv(tmp_path / "us.csv", ["12/13/2025 10:00", *last_year])
    events = read_history(manifest, us, 1.0, map_=MAP, **flags)
    assert events["occurred_at"].min() == pd.Timestamp("2025-01-12 03:15", tz=UTC)


def test_forecast_and_plan_take_the_time_format_the_refusal_names(
    tmp_path: Path, run_cli: Any
) -> None:
    from hotspots.cli.forecast_cmd import read_history

    # a model whose spec pinned a month-first format; another export (--map) of a week of
    # day-first dates: the model's format is not assumed for it, its dates do not tell, and
    # the refusal names --time-format, which forecast and plan take
    spec = {"data": {"map": MAP, "time_format": "%m/%d/%Y %H:%M"}}
    manifest = {"spec": spec, "data": {"time_format": "%m/%d/%Y %H:%M"}}
    last_year = [s.replace("2026", "2025") for s in WEEK]
    flags = {"preset": None, "crs": None, "tz": None}
    week = week_csv(tmp_path / "w.csv", last_year)
    with pytest.raises(DateOrderError, match="give --time-format '%d/%m/%Y %H:%M'"):
        read_history(manifest, week, None, map_=MAP, **flags)
    events = read_history(manifest, week, None, map_=MAP, time_format="%d/%m/%Y %H:%M", **flags)
    assert events["occurred_at"].max() == pd.Timestamp("2025-12-07 19:15", tz=UTC)
    for command in ("forecast", "plan"):
        res = run_cli(command, "--help")
        assert res.code == 0 and "--time-format" in res.out + res.err


# monthly data as first-of-month dates, March 2021 to April 2022 (14 months over 2 years)
MONTHS = pd.date_range("2021-03-01", "2022-04-01", freq="MS")


@pytest.mark.parametrize(
    ("written", "fmt"),
    [("01/%m/%Y", "%d/%m/%Y"), ("%m/01/%Y", "%m/%d/%Y"), ("01-%m-%Y 00:00", "%d-%m-%Y %H:%M")],
)
def test_first_of_month_dates_over_years_settle_the_order(written: str, fmt: str) -> None:
    # the first field is 01 throughout and the second varies (or the mirror): read the other
    # way they would be days 1-12 of January of 2021 and 2022 and no others; they were refused
    values = pd.Series(MONTHS.strftime(written))
    assert infer_format(values) == (fmt, 1.0)
    parsed = parse_time_column(values, UTC, UTC)
    assert parsed.times.dt.strftime("%Y-%m-%d").tolist() == MONTHS.strftime("%Y-%m-%d").tolist()
    assert parsed.notes[0].startswith(
        f"dates read {'month' if fmt.startswith('%m') else 'day'} first: each of the 14 (e.g. "
        f"{values[0]!r}) is the first of a month, over 2 years"
    )


def test_first_of_month_dates_of_one_year_are_refused_naming_both_readings() -> None:
    # 1 March to 1 December 2021, or 3-12 January 2021 written month first: both are exports
    with pytest.raises(DateOrderError) as err:
        infer_format(pd.Series(MONTHS[:10].strftime("01/%m/%Y")))
    assert str(err.value) == (
        "day/month order of the time column is unresolved: 10 distinct dates (e.g. "
        "'01/03/2021'), each has 01 as its first field and all lie in one year: the first of "
        "10 months read day first, or 10 days of January read month first; give --time-format "
        "'%d/%m/%Y' (day first) or '%m/%d/%Y' (month first) (spec: data.time_format)"
    )
    # a UK week's export from New Year's Day: the second field is 01 throughout
    new_year = [f"{d:02d}/01/2027 10:00" for d in range(1, 8)]
    with pytest.raises(DateOrderError, match="each has 01 as its second field and all lie in "):
        infer_format(pd.Series(new_year))
    # New Year weeks of two years (a comparison extract): read as months, Jan-Jul of each
    # year with August to December 2021 missing, which no monthly export is
    weeks = [f"{d:02d}/01/{y}" for y in (2021, 2022) for d in range(1, 8)]
    with pytest.raises(DateOrderError) as err:
        infer_format(pd.Series(weeks))
    assert "each has 01 as its second field and months are missing between them: the first " in (
        str(err.value)
    )
    # a field constant at another value is a month's days (1-7 December): refused as before
    with pytest.raises(DateOrderError, match="no day or month passes 12"):
        infer_format(pd.Series([f"{d:02d}/12/2025" for d in range(1, 8)] * 2 + ["01/12/2026"]))
    # one date: nothing varies
    with pytest.raises(DateOrderError) as err:
        infer_format(pd.Series(["01/03/2021"] * 5))
    assert str(err.value).startswith(
        "day/month order of the time column is unresolved: 1 distinct date (e.g. '01/03/2021'), "
        "no day or month passes 12"
    )


def test_a_known_order_reads_first_of_month_dates_as_it_reads_any() -> None:
    values = pd.Series(MONTHS.strftime("01/%m/%Y"))
    assert infer_format(values, "month-first") == ("%m/%d/%Y", 1.0)  # 3 January 2021, ...


def test_ingest_of_first_of_month_dates_notes_and_records_the_order(
    run_cli: RunCli, tmp_path: Path
) -> None:
    path = week_csv(tmp_path / "monthly.csv", list(MONTHS.strftime("01/%m/%Y")))
    out = tmp_path / "monthly.parquet"
    res = run_cli("ingest", path, "--map", MAP, "--out", out, "--now", "2027-01-01")
    assert res.code == 0, res.err
    times = pd.read_parquet(out)["occurred_at"]
    assert times.tolist() == [pd.Timestamp(m, tz=UTC) for m in MONTHS]
    report = pd.read_json(tmp_path / "monthly.report.json", typ="series")
    assert report["time_format"] == "%d/%m/%Y"
    assert any(n.startswith("dates read day first: each of the 14") for n in report["notes"])
    assert "dates read day first" in res.err  # the printed report


def test_first_of_month_dates_with_times_of_day_are_refused_not_read_as_months() -> None:
    # a UK export of 1-12 January of 2021 and 2022 with times of day: read month first it
    # would be the 1st of every month of two years, yet at 03:15, 11:15, ...: months have no
    # time of day, so nothing says which order it is (it was read month first, exit 0)
    days = [f"{d:02d}/01/{y} {h:02d}:15" for y in (2021, 2022) for d in range(1, 13)
            for h in (3, 11, 19)]  # fmt: skip
    with pytest.raises(DateOrderError) as err:
        infer_format(pd.Series(days))
    assert str(err.value).startswith(
        "day/month order of the time column is unresolved: 24 distinct dates (e.g. "
        "'01/01/2021 03:15'), each has 01 as its second field and some have a time of day, "
        "which months have not: the first of 24 months read month first, or 24 days of "
        "January read day first; give --time-format '%d/%m/%Y %H:%M' (day first)"
    )
    # at midnight, in either clock, they are still months
    for written, fmt in (("01/%m/%Y 00:00:00", "%d/%m/%Y %H:%M:%S"),
                         ("%m/01/%Y 12:00:00 AM", "%m/%d/%Y %I:%M:%S %p")):  # fmt: skip
        assert infer_format(pd.Series(MONTHS.strftime(written))) == (fmt, 1.0)
    # noon is a time of day (12:00 PM), so is 12:00 on a 24-hour clock
    for written in ("%m/01/%Y 12:00:00 PM", "01/%m/%Y 12:00"):
        with pytest.raises(DateOrderError, match="some have a time of day"):
            infer_format(pd.Series(MONTHS.strftime(written)))
