"""Placeholder clock times (an export's stand-in for an unknown time of day, as SFPD's 00:01)
are found per export at ingest and read as dates; a natural peak of the evening, reporting's
rounding to :00 and a small export are not taken for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hotspots.ingest import IngestOptions, ingest_file
from hotspots.ingest.mapping import ColumnMap
from hotspots.ingest.placeholders import FACTOR, MIN_ROWS, MIN_SHARE, expected_counts
from hotspots.jobs.data import load_events

TZ = "America/Chicago"
NOW = pd.Timestamp("2026-12-07", tz=TZ)
FIRST = pd.Timestamp("2023-04-03")  # 100 days without a change of the clocks


def export(path: Path, stamps: pd.Series) -> Path:
    rows = ["time,lat,lng,cat"]
    rows += [f"{s},{41.85 + i % 97 / 1e4:.4f},-87.65,theft" for i, s in enumerate(stamps)]
    path.write_text("\n".join(rows) + "\n")
    return path


def options(**extra: Any) -> IngestOptions:
    cmap = ColumnMap.parse("time=time,lat=lat,lng=lng,category=cat")
    return IngestOptions(column_map=cmap, timezone=TZ, now=NOW, **extra)


def read(path: Path, **extra: Any) -> Any:
    return ingest_file(path, options(**extra))


def stamps(
    rng: np.random.Generator, n: int, hours: np.ndarray | None = None, minutes: Any = None
) -> pd.Series:
    """``n`` times on 100 days from FIRST: hours drawn with weights ``hours`` (else even),
    minutes from ``minutes`` (a fixed minute, or weights over 0-59; else even)."""
    day = rng.integers(0, 100, n)
    hour = rng.choice(24, n, p=None if hours is None else hours / hours.sum())
    if isinstance(minutes, int):
        minute = np.full(n, minutes)
    else:
        minute = rng.choice(60, n, p=None if minutes is None else minutes / minutes.sum())
    return pd.Series(FIRST + pd.to_timedelta(day * 1440 + hour * 60 + minute, unit="min"))


def test_expected_counts_carry_the_neighbouring_hours_share_of_the_minute() -> None:
    # every hour: 60 rows at :00 (rounding) and 1 at each other minute; 00:01 holds 300
    counts = np.tile(np.r_[60, np.ones(59, np.int64)], 24)
    counts[1] = 300
    expected = expected_counts(counts)
    # 00:01: the hour's other 118 rows x the share :01 has of them in 22, 23, 01, 02 (1/118)
    assert round(expected[1], 6) == 1.0
    assert round(expected[12 * 60], 6) == 60.0  # noon: as every :00
    # midnight's other rows hold the spike: 358 x 60/59, so a spike beside it raises the bar
    assert round(expected[0], 2) == round(358 * 60 / 59, 2) == 364.07


def test_a_spike_at_0001_is_read_as_dates_and_counted(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    times = pd.concat([stamps(rng, 3000), stamps(rng, 300, minutes=1).dt.floor("D")
                       + pd.Timedelta(minutes=1)], ignore_index=True)  # fmt: skip
    at_0001 = int((times.dt.strftime("%H:%M") == "00:01").sum())
    assert at_0001 == 300 + 4  # 4 of the even rows fall there too
    text = times.dt.strftime("%Y-%m-%d %H:%M")
    result = read(export(tmp_path / "spike.csv", text))
    assert result.report.placeholder_times == {"00:01": 304}
    events = result.events
    held = (times.dt.strftime("%H:%M") == "00:01").to_numpy()
    assert (
        events["time_precision"].astype(str).to_numpy() == np.where(held, "day", "minute")
    ).all()
    # the date is kept, at local midnight as a date is placed
    local = events["occurred_at"].dt.tz_localize(None)
    assert (local[held] == times[held].dt.floor("D")).all()
    assert (local[~held] == times[~held]).all()
    [note] = [n for n in result.report.notes if n.startswith("placeholder_time")]
    assert note.startswith("placeholder_time: 304 accepted rows at 00:01 (")
    assert "keep their date at time_precision day" in note
    assert "minute 2,996, day 304" in " ".join(result.report.notes)
    assert result.report.to_dict()["placeholder_times"] == {"00:01": 304}
    # a model's manifest records them with the data it was trained on
    loaded = load_events(tmp_path / "spike.csv", options())
    assert loaded.fingerprint()["placeholder_times"] == {"00:01": 304}


def test_a_natural_evening_peak_with_rounding_to_the_hour_is_not_a_placeholder(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(5)
    # even to 16:00, then rising smoothly to 12x by 22:00-24:00; reports round a third of
    # their times to :00 and a tenth to :30
    hours = np.r_[np.ones(17), 2, 4, 6, 8, 10, 12, 12.0]
    minutes = np.ones(60)
    minutes[0], minutes[30] = 30, 7
    times = stamps(rng, 6000, hours, minutes)
    counts = np.bincount(times.dt.hour * 60 + times.dt.minute, minlength=1440)
    ratio = (counts / np.maximum(expected_counts(counts), 1))[counts >= MIN_ROWS]
    assert counts.argmax() == 23 * 60 and counts.max() == 331  # rounded to 23:00 the most
    assert ratio.size == 10 and round(ratio.max(), 2) == 1.18 < FACTOR  # :00, :30 of the evening
    result = read(export(tmp_path / "evening.csv", times.dt.strftime("%Y-%m-%d %H:%M")))
    assert result.report.placeholder_times == {}
    assert set(result.events["time_precision"].astype(str)) == {"minute"}
    assert not any(n.startswith("placeholder_time") for n in result.report.notes)


def test_whole_hours_with_a_midnight_heap_and_a_small_spike(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    # an export of whole hours: midnight holds 400 more than its 100 or so
    hourly = stamps(rng, 2400, minutes=0)
    times = pd.concat([hourly, stamps(rng, 400, np.r_[1.0, np.zeros(23)], minutes=0)])
    at_midnight = int((times.dt.hour == 0).sum())
    result = read(export(tmp_path / "hours.csv", times.dt.strftime("%Y-%m-%d %H:%M")))
    assert result.report.placeholder_times == {"00:00": at_midnight} and at_midnight == 479
    # 30 rows at 00:01 among 3,000 are 10x what the hours around give, but under MIN_ROWS
    # (50); a larger heap of too small a share: the test below
    few = pd.concat([stamps(rng, 3000), stamps(rng, 30, minutes=1).dt.floor("D")
                     + pd.Timedelta(minutes=1)])  # fmt: skip
    result = read(export(tmp_path / "few.csv", few.dt.strftime("%Y-%m-%d %H:%M")))
    assert result.report.placeholder_times == {}


def test_the_minute_is_read_on_the_clock_it_was_written_in(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    # written in UTC ("Z"): 00:01 UTC is 18:01 the evening before in Chicago
    times = pd.concat([stamps(rng, 2000), stamps(rng, 200, minutes=1).dt.floor("D")
                       + pd.Timedelta(minutes=1)], ignore_index=True)  # fmt: skip
    written = times.dt.strftime("%Y-%m-%dT%H:%M:00Z")
    result = read(export(tmp_path / "utc.csv", written))
    held = (times.dt.strftime("%H:%M") == "00:01").to_numpy()
    assert result.report.placeholder_times == {"00:01": int(held.sum())}
    local = result.events["occurred_at"].dt.tz_localize(None)
    assert (local[held] == times[held].dt.floor("D")).all()  # the UTC date as written


def test_a_heap_too_small_a_share_of_the_rows_is_not_a_placeholder(tmp_path: Path) -> None:
    # 60 more rows at 00:01 among 12,000: past MIN_ROWS and FACTOR (about 9x the 8 the hours
    # around give), but 0.5% of the rows, under MIN_SHARE: too few to fake a busy hour
    # (Chicago's 00:01, 13x but 0.3%)
    rng = np.random.default_rng(11)
    times = pd.concat([stamps(rng, 12_000), stamps(rng, 60, minutes=1).dt.floor("D")
                       + pd.Timedelta(minutes=1)], ignore_index=True)  # fmt: skip
    counts = np.bincount(times.dt.hour * 60 + times.dt.minute, minlength=1440)
    expected = expected_counts(counts)[1]
    assert counts[1] >= MIN_ROWS and counts[1] >= FACTOR * expected
    assert counts[1] - expected < MIN_SHARE * len(times)
    result = read(export(tmp_path / "small.csv", times.dt.strftime("%Y-%m-%d %H:%M")))
    assert result.report.placeholder_times == {}
    assert set(result.events["time_precision"].astype(str)) == {"minute"}
