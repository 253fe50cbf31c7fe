"""Outliers in time: stray old dates are outside_period rejects and panels start with the data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.ingest import ColumnMap, IngestOptions, ingest_file
from hotspots.ingest.period import dense_start
from hotspots.jobs.data import whole_periods_start

Write = Callable[[str, str | bytes], Path]
HEADER = "ref,when,lat,lng,type\n"
MAP = ColumnMap.parse("time=when,lat=lat,lng=lng,category=type,id=ref")


def dense_rows(n: int = 2000) -> list[str]:
    """Two years of events, 2015-2016, every day."""
    days = pd.date_range("2015-01-01", "2016-12-31", freq="D")
    return [f"D{i},{days[i % len(days)].date()} 1{i % 10}:00,41.8{i % 10},-87.6{i % 7},Theft\n"
            for i in range(n)]  # fmt: skip


STRAYS = [f"S{y},{y}-03-04 10:00,41.80,-87.60,Theft\n" for y in (1900, 1930, 1999, 2012)]


def ingest(write: Write, rows: list[str], **kw: Any) -> Any:
    options = IngestOptions(column_map=MAP, timezone="America/Chicago", **kw)
    return ingest_file(write("e.csv", HEADER + "".join(rows)), options)


def test_stray_old_dates_are_outside_period_rejects(write: Write) -> None:
    result = ingest(write, dense_rows() + STRAYS)
    assert result.report.rejected == {"outside_period": 4}
    assert [e["id"] for e in result.report.examples["outside_period"]] == [
        "S1900",
        "S1930",
        "S1999",
    ]
    assert result.events["occurred_at"].min() >= pd.Timestamp("2015-01-01", tz="America/Chicago")
    assert any("times before 2014-01-01 are outside_period" in n for n in result.report.notes)


def test_a_late_report_within_a_year_of_the_data_is_kept(write: Write) -> None:
    result = ingest(write, [*dense_rows(), "L1,2014-06-01 10:00,41.80,-87.60,Theft\n"])
    assert result.report.rejected == {}
    assert len(result.events) == 2001


def test_a_small_batch_with_last_month_s_incident_keeps_it(write: Write) -> None:
    rows = [f"B{i},2024-01-03 10:{i:02d},41.80,-87.60,Theft\n" for i in range(40)]
    result = ingest(write, [*rows, "B99,2023-12-30 10:00,41.80,-87.60,Theft\n"])
    assert result.report.rejected == {} and len(result.events) == 41


def test_start_replaces_the_rule(write: Write) -> None:
    start = pd.Timestamp("2016-01-01")
    result = ingest(write, dense_rows() + STRAYS, start=start, max_reject_fraction=0.6)
    in_2015 = sum(",2015-" in r for r in dense_rows())
    assert in_2015 == 1095
    assert result.report.rejected == {"outside_period": in_2015 + 4}
    assert any("(--start)" in n for n in result.report.notes)
    kept = ingest(write, dense_rows() + STRAYS, start=pd.Timestamp("1800-01-01"))
    assert kept.report.rejected == {} and len(kept.events) == 2004


def test_dense_start_ignores_a_sparse_tail() -> None:
    times = np.array(
        [
            "1900-01-05",
            "1950-07-01",
            *[f"2020-{m:02d}-10" for m in range(1, 13) for _ in range(50)],
        ],
        dtype="M8[ns]",
    )
    assert dense_start(times) == pd.Timestamp("2020-01-01")
    assert dense_start(np.array(["NaT"], dtype="M8[ns]")) is None


@pytest.mark.parametrize(("freq", "start"), [("W", "2015-01-05"), ("M", "2015-01-01")])
def test_panels_start_where_the_data_do(write: Write, freq: str, start: str) -> None:
    # an event table holding a stray from within the slack year still starts at the dense part
    result = ingest(write, [*dense_rows(), "L1,2014-06-01 10:00,41.80,-87.60,Theft\n"])
    assert whole_periods_start(result.events, freq) == pd.Timestamp(start)


def test_ingest_panel_starts_at_the_dense_months(
    write: Write, run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    from hotspots.features import Panel

    rows = [*dense_rows(), "L1,2014-06-01 10:00,41.80,-87.60,Theft\n", *STRAYS]
    source = write("e.csv", HEADER + "".join(rows))
    res = run_cli(
        "ingest", source, "--map", "time=when,lat=lat,lng=lng,category=type,id=ref",
        "--tz", "America/Chicago", "--out", tmp_path / "e.parquet",
        "--panel", tmp_path / "p.parquet", "--period", "M",
    )  # fmt: skip
    assert res.code == 0, res.err
    panel = Panel.from_parquet(tmp_path / "p.parquet")
    assert panel.periods[0] == pd.Timestamp("2015-01-01") and len(panel.periods) == 24
    assert "outside_period" in res.err and "1 before the data's dense months" in res.err
    assert "x 1 category;" in res.err
