"""Monthly data written as instants at midnight of the 1st in another zone (``...T00:00:00Z``,
ArcGIS's epoch milliseconds, ``+01:00``) read in America/Chicago fall on the evening before:
the month-dates evidence reads the wall clock they were written in, and they are that zone's
months (2021-03-01T00:00Z is March), so weekly panels refuse them. UTC instants at real hours
stay what they were."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import DataValidationError
from hotspots.features import events_to_panel
from hotspots.ingest import IngestOptions, ingest_file
from hotspots.ingest.mapping import ColumnMap
from hotspots.ingest.monthdates import month_dates
from hotspots.ingest.written import WrittenClock, offsets_seconds

RunCli = Any
MAP = "time=date,lat=lat,lng=lng,category=cat"
TZ = "America/Chicago"
NOW = pd.Timestamp("2026-12-07", tz=TZ)
MONTHS = pd.date_range("2021-01-01", periods=4, freq="MS", tz="UTC")  # 10 events in each
FIRSTS = [pd.Timestamp(f"2021-0{m}-01", tz=TZ) for m in (1, 2, 3, 4)]


def export(path: Path, stamps: list[str]) -> Path:
    rows = ["date,lat,lng,cat"]
    rows += [f"{s},{41.85 + i / 1e4:.4f},-87.65,burglary" for i, s in enumerate(stamps)]
    path.write_text("\n".join(rows) + "\n")
    return path


def read(path: Path, **extra: Any) -> Any:
    options = IngestOptions(column_map=ColumnMap.parse(MAP), timezone=TZ, now=NOW, **extra)
    return ingest_file(path, options)


def stamps(form: str, months: pd.DatetimeIndex = MONTHS) -> list[str]:
    """Ten events a month, each month's first instant written as ``form`` says."""
    if form == "epoch-ms":
        text = [str(m.value // 10**6) for m in months]
    elif form == "epoch-s":
        text = [str(m.value // 10**9) for m in months]
    else:
        text = [m.strftime(form) for m in months]
    return [t for t in text for _ in range(10)]


@pytest.mark.parametrize(
    ("form", "extra", "zone"),
    [
        ("%Y-%m-%dT%H:%M:%SZ", {}, "UTC"),
        ("epoch-ms", {"time_format": "epoch-ms"}, "UTC"),
        ("epoch-s", {"time_format": "epoch-s"}, "UTC"),
    ],
)
def test_utc_midnights_of_the_first_are_that_month(
    tmp_path: Path, form: str, extra: dict[str, str], zone: str
) -> None:
    result = read(export(tmp_path / "m.csv", stamps(form)), **extra)
    events = result.events
    assert events["time_precision"].astype(str).unique().tolist() == ["month"]
    # 2021-03-01T00:00Z is 18:00 on 28 February in Chicago: read as March, stored as its 1st
    assert sorted(set(events["occurred_at"])) == FIRSTS
    assert events["occurred_at"].value_counts().tolist() == [10] * 4
    [note] = [n for n in result.report.notes if n.startswith("dates read as months")]
    assert note.startswith(
        "dates read as months (time_precision month): every one of the 40 located events' "
        f"times is midnight on the first of a month as written ({zone}), read as that month "
        "there, not the evening before it in this zone, over 4 months (2021-01 to 2021-04); "
    )
    with pytest.raises(DataValidationError, match="cannot go into a weekly panel"):
        events_to_panel(events, freq="W")
    monthly = events_to_panel(events, freq="M").counts
    assert monthly.sum() == 40


def test_an_offset_of_its_own_is_the_zone_written_in(tmp_path: Path) -> None:
    # midnight of the 1st in +01:00 is 23:00 UTC the day before, 17:00 in Chicago
    result = read(export(tmp_path / "m.csv", stamps("%Y-%m-%dT00:00:00+01:00")))
    events = result.events
    assert events["time_precision"].astype(str).unique().tolist() == ["month"]
    assert sorted(set(events["occurred_at"])) == FIRSTS
    assert any("as written (+01:00)" in n for n in result.report.notes)


def test_a_naive_source_zone_is_the_zone_written_in(tmp_path: Path) -> None:
    path = export(tmp_path / "m.csv", stamps("%Y-%m-%d 00:00:00"))
    result = read(path, source_timezone="Europe/London")
    assert sorted(set(result.events["occurred_at"])) == FIRSTS
    assert any("as written (Europe/London)" in n for n in result.report.notes)


@pytest.mark.parametrize(
    ("values", "why"),
    [
        (stamps("%Y-%m-%dT10:00:00Z"), "UTC times at a real hour on the 1st"),
        (stamps("%Y-%m-%dT00:00:00Z")[:-1] + ["2021-04-01T00:30:00Z"], "one at 00:30 UTC"),
        (stamps("%Y-%m-%dT00:00:00Z")[:-1] + ["2021-04-15T00:00:00Z"], "one on the 15th"),
        (stamps("%Y-%m-%dT00:00:00Z")[:29], "29 events: under the 30"),
    ],
)
def test_utc_times_that_may_be_days_stay_as_they_were(
    tmp_path: Path, values: list[str], why: str
) -> None:
    events = read(export(tmp_path / "d.csv", values)).events
    assert "month" not in set(events["time_precision"].astype(str)), why
    want = pd.to_datetime(pd.Series(values), utc=True).dt.tz_convert(TZ)
    assert events["occurred_at"].tolist() == want.tolist(), why


def test_offsets_are_read_from_the_text() -> None:
    text = pd.Series(["2021-03-01T00:00:00Z", "2021-03-01T00:00+01:00", "x-0530", "x+0100"])
    assert offsets_seconds(text).tolist() == [0, 3600, -19800, 3600]


def test_the_written_clock_is_vectorised_over_a_million_rows() -> None:
    # a million epoch instants at UTC midnight of 60 firsts, seen in Chicago: whole arrays
    months = pd.date_range("2016-01-01", periods=60, freq="MS", tz="UTC").tz_convert(TZ)
    times = pd.Series(np.repeat(months, 1_000_000 // 60 + 1)[:1_000_000])
    rows, precision = np.ones(len(times), bool), np.zeros(len(times), np.int8)
    clock = WrittenClock(TZ, aware=rows)
    found = month_dates(times, precision, rows, False, clock)
    assert found is not None and (found.events, found.months) == (1_000_000, 60)
    assert (str(found.first), str(found.last), found.written) == ("2016-01", "2020-12", "UTC")
    assert found.times is not None
    assert found.times.iloc[0] == pd.Timestamp("2016-01-01", tz=TZ)
    assert found.times.iloc[-1] == pd.Timestamp("2020-12-01", tz=TZ)


def test_cli_ingest_of_epoch_months_into_a_weekly_panel_exits_2(
    run_cli: RunCli, tmp_path: Path
) -> None:
    src = export(tmp_path / "m.csv", stamps("epoch-ms"))
    out, panel = tmp_path / "ev.parquet", tmp_path / "p.parquet"
    args = ("ingest", src, "--map", MAP, "--tz", TZ, "--out", out, "--panel", panel)
    res = run_cli(*args, "--time-format", "epoch-ms", "--period", "W")
    assert res.code == 2
    assert "cannot go into a weekly panel" in res.err.replace("\n", " ")
    assert not out.exists() and not panel.exists()
