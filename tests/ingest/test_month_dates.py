"""Monthly exports written as first-of-month dates (2021-03-01, 01/03/2021, 03/01/2021) are
read as months when no daily export could look so by chance (30 or more events over 2 or
more months), so daily and weekly panels refuse them as they refuse police.uk's months; a few
dates that happen to be 1sts stay days."""

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
from hotspots.ingest.monthdates import MIN_EVENTS, month_dates

RunCli = Any
MAP = "time=date,lat=lat,lng=lng,category=cat"
TZ = "Europe/London"
NOW = pd.Timestamp("2026-12-07", tz=TZ)
# 40 events over the 4 months January-April 2021, 10 a month
MONTHS = pd.date_range("2021-01-01", periods=4, freq="MS")


def export(path: Path, stamps: list[str]) -> Path:
    rows = ["date,lat,lng,cat"]
    rows += [f"{s},{51.5 + i / 1e4:.4f},-0.12,burglary" for i, s in enumerate(stamps)]
    path.write_text("\n".join(rows) + "\n")
    return path


def monthly(written: str, per_month: int = 10) -> list[str]:
    return [m.strftime(written) for m in MONTHS for _ in range(per_month)]


def read(path: Path, **extra: Any) -> Any:
    options = IngestOptions(column_map=ColumnMap.parse(MAP), timezone=TZ, now=NOW, **extra)
    return ingest_file(path, options)


NOTE = (
    "dates read as months (time_precision month): every one of the 40 located events' dates "
    "is the first of a month with no time of day, over 4 months (2021-01 to 2021-04); 30 or "
    "more such dates over 2 or more months are no daily export's (it puts about 1 in 30 of "
    "its events on a 1st). Count them in monthly periods (--period M): a daily or weekly "
    "panel would put each month's events on its first day"
)
REFUSAL = (
    "40 events have month precision: their dates are all the first of a month (40 events "
    "over 4 months, 2021-01 to 2021-04), read as months, or months alone (as data.police.uk "
    "writes them: 2021-03); they cannot go into a {} panel without inventing days: count them "
    "in monthly periods (--period M; a spec's grid.period)"
)


@pytest.mark.parametrize(
    "written", ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d 00:00", "%Y-%m-%dT00:00:00"]
)
def test_first_of_month_dates_are_read_as_months(tmp_path: Path, written: str) -> None:
    if "/" in written:  # one year of slash 1sts does not settle the order: a year more does
        stamps = [m.strftime(written) for m in pd.date_range("2021-01-01", "2022-04-01", freq="MS")]
        stamps = [s for s in stamps for _ in range(3)]
    else:
        stamps = monthly(written)
    result = read(export(tmp_path / "m.csv", stamps))
    events = result.events
    assert events["time_precision"].astype(str).unique().tolist() == ["month"]
    assert events["occurred_at"].iloc[0] == pd.Timestamp("2021-01-01", tz=TZ)
    assert events["occurred_at"].dt.day.unique().tolist() == [1]
    [note] = [n for n in result.report.notes if n.startswith("dates read as months")]
    n, months = (40, 4) if "/" not in written else (48, 16)
    last = "2021-04" if "/" not in written else "2022-04"
    assert note.startswith(
        f"dates read as months (time_precision month): every one of the {n} located events' "
        f"dates is the first of a month with no time of day, over {months} months (2021-01 to "
        f"{last}); "
    )
    assert "rows by time_precision: month " in " ".join(result.report.notes)


def test_the_note_says_why(tmp_path: Path) -> None:
    result = read(export(tmp_path / "m.csv", monthly("%Y-%m-%d")))
    assert NOTE in result.report.notes


@pytest.mark.parametrize(
    ("stamps", "why"),
    [
        (["2021-03-01"] * 3, "a tiny batch of 3 events on one 1st"),
        (["2021-03-01"] * 500, "one month, however many events: a day's export looks so"),
        (monthly("%Y-%m-%d", 7), "28 events over 4 months: under the 30"),
        (monthly("%Y-%m-%d") + ["2021-04-02"], "one date that is no 1st"),
        (monthly("%Y-%m-%d")[:-1] + ["2021-04-01 10:30"], "one time of day"),
    ],
)
def test_dates_that_may_be_days_stay_days(tmp_path: Path, stamps: list[str], why: str) -> None:
    events = read(export(tmp_path / "d.csv", stamps)).events
    assert "month" not in set(events["time_precision"].astype(str)), why
    assert len(events) == len(stamps)


def test_the_threshold_decides(tmp_path: Path) -> None:
    # 2 months of 1sts: 29 events stay days, 30 are months
    at = [f"2021-0{m}-01" for m in (3, 4)]
    for n, want in ((MIN_EVENTS - 1, "day"), (MIN_EVENTS, "month")):
        stamps = [at[i % 2] for i in range(n)]
        events = read(export(tmp_path / f"t{n}.csv", stamps)).events
        assert events["time_precision"].astype(str).unique().tolist() == [want]


def test_a_located_event_decides_a_row_without_a_place_does_not(tmp_path: Path) -> None:
    # the one mid-month date is on a row without coordinates: it is no located event
    path = export(tmp_path / "m.csv", monthly("%Y-%m-%d"))
    path.write_text(path.read_text() + "2021-02-17,,,burglary\n")
    result = read(path, max_reject_fraction=0.1)
    assert result.events["time_precision"].astype(str).unique().tolist() == ["month"]


def test_a_model_of_months_reads_a_few_first_of_month_dates_as_months(tmp_path: Path) -> None:
    path = export(tmp_path / "b.csv", ["2021-03-01"] * 3)
    result = read(path, months=True)
    assert result.events["time_precision"].astype(str).tolist() == ["month"] * 3
    assert (
        "dates read as months (time_precision month): every one of the 3 located events' dates "
        "is the first of a month with no time of day, over 1 month (2021-03); as the model's "
        "training events were months."
    ) in " ".join(result.report.notes)
    # a date that is no 1st is a day, model or not
    mixed = read(export(tmp_path / "c.csv", ["2021-03-01", "2021-03-02"]), months=True).events
    assert mixed["time_precision"].astype(str).tolist() == ["day", "day"]


@pytest.mark.parametrize(("freq", "word"), [("W", "weekly"), ("D", "daily")])
def test_finer_panels_refuse_them_naming_why(tmp_path: Path, freq: str, word: str) -> None:
    events = read(export(tmp_path / "m.csv", monthly("%Y-%m-%d"))).events
    with pytest.raises(DataValidationError) as err:
        events_to_panel(events, freq=freq)
    assert str(err.value) == REFUSAL.format(word)
    assert events_to_panel(events, freq="M").counts.sum() == 40


def test_the_evidence_is_vectorised_over_a_million_rows() -> None:
    # a million first-of-month times over 5 years: whole-column numpy, no Python per row
    months = pd.date_range("2016-01-01", periods=60, freq="MS", tz=TZ)
    times = pd.Series(np.repeat(months, 1_000_000 // 60 + 1)[:1_000_000])
    found = month_dates(times, np.ones(len(times), np.int8), np.ones(len(times), bool), False)
    assert found is not None and (found.events, found.months) == (1_000_000, 60)
    assert (str(found.first), str(found.last)) == ("2016-01", "2020-12")


def test_cli_ingest_into_a_weekly_panel_is_refused_with_exit_2(
    run_cli: RunCli, tmp_path: Path
) -> None:
    src = export(tmp_path / "m.csv", monthly("%Y-%m-%d"))
    out, panel = tmp_path / "ev.parquet", tmp_path / "p.parquet"
    args = ("ingest", src, "--map", MAP, "--tz", TZ, "--out", out, "--panel", panel)
    res = run_cli(*args, "--period", "W")
    assert res.code == 2
    assert REFUSAL.format("weekly") in res.err.replace("\n", " ")
    assert not out.exists() and not panel.exists()
    res = run_cli(*args, "--period", "M")
    assert res.code == 0, res.err
    assert "dates read as months" in res.err
