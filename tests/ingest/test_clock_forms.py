"""12-hour clocks and time-only values as real exports write them, in a time or hour column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hotspots.ingest.eventtimes import parse_times
from hotspots.ingest.mapping import ColumnMap
from hotspots.ingest.times import parse_time_column

LONDON = "Europe/London"


def clock(times: pd.Series) -> list[str | None]:
    return [None if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M:%S") for t in times]


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        # ISO dates with AM/PM: pandas' ISO8601 reads none of them (every row was unparseable)
        (["2024-03-01 2:05 PM", "2024-03-02 12:05 AM"], "%Y-%m-%d %I:%M %p"),
        (["2024-03-01 2:05PM", "2024-03-02 12:05am"], "%Y-%m-%d %I:%M%p"),
        (["2024-03-01 2:05:00 pm", "2024-03-02 12:05:00 AM"], "%Y-%m-%d %I:%M:%S %p"),
        # slash dates with no blank before PM, the order told by the 13th
        (["03/01/2024 02:05PM", "03/02/2024 12:05AM", "03/13/2024 01:00PM"], "%m/%d/%Y %I:%M%p"),
        # SQL Server's default text (CONVERT style 100), two blanks before one-digit fields
        (["Mar  1 2024  2:05PM", "Mar  2 2024 12:05AM"], "%b %d %Y %I:%M%p"),
        (["2024/03/01 2:05 PM", "2024/03/02 12:05 AM"], "%Y/%m/%d %I:%M %p"),
        # dotted day-first dates with seconds or two-digit years (every row was unparseable)
        (["01.03.2024 14:05:00", "02.03.2024 00:05:00"], "%d.%m.%Y %H:%M:%S"),
        (["01.03.24 14:05", "02.03.24 00:05"], "%d.%m.%y %H:%M"),
    ],
)
def test_twelve_hour_clocks_are_inferred(values: list[str], fmt: str) -> None:
    parsed = parse_time_column(pd.Series(values), LONDON, LONDON)
    assert parsed.fmt == fmt
    assert clock(parsed.times)[:2] == ["2024-03-01 14:05:00", "2024-03-02 00:05:00"]
    assert parsed.precision.tolist() == [0] * len(values)


def test_an_hour_column_of_twelve_hour_and_time_only_text() -> None:
    hours = {
        "2:05 PM": "14:05:00",
        "12:15 AM": "00:15:00",  # midnight's hour, not noon's
        "12:30 PM": "12:30:00",
        "11:59 pm": "23:59:00",
        "9:05 a.m.": "09:05:00",
        "1899-12-30 14:05:00": "14:05:00",  # Access's time-only values on its day zero
        "12/30/1899 2:05:00 PM": "14:05:00",  # the same, as Excel writes it
        "14:05:00.000": "14:05:00",
        "14:05": "14:05:00",
        "13:05 PM": None,  # no such 12-hour time
        "0:05 AM": None,
        "2:05 XM": None,
    }
    frame = pd.DataFrame({"d": "2024-03-01", "h": list(hours)}, dtype="string")
    parsed = parse_times(frame, ColumnMap(date="d", hour="h"), LONDON, LONDON)
    want = [None if h is None else f"2024-03-01 {h}" for h in hours.values()]
    assert clock(parsed.times) == want
    assert parsed.hour_form == "HH:MM"


def test_cli_reads_an_export_of_date_and_am_pm_hour_columns(run_cli: Any, tmp_path: Path) -> None:
    rows = ["id,date,hour,lat,lng,cat"]
    rows += [f"{d},2024-03-{d:02d},{(d % 12) + 1}:05 PM,51.5,-0.12,burglary" for d in range(1, 21)]
    path = tmp_path / "ampm.csv"
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "ampm.parquet"
    res = run_cli(
        "ingest", path, "--map", "date=date,hour=hour,lat=lat,lng=lng,category=cat,id=id",
        "--tz", LONDON, "--out", out, "--now", "2025-01-01",
    )  # fmt: skip
    assert res.code == 0, res.err
    times = pd.read_parquet(out)["occurred_at"].dt.tz_convert(LONDON)
    assert times.dt.hour.tolist() == [(d % 12) + 13 if d % 12 != 11 else 12 for d in range(1, 21)]
