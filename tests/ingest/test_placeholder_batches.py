"""A batch read for a model (posted, or re-read to retrain or forecast) treats the clock minutes
its training data held as placeholders (``IngestOptions.placeholders``) as placeholders too,
however few of its rows are at them; its own detection still runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_placeholder_times import TZ, export, read, stamps

from hotspots.errors import ConfigError
from hotspots.ingest.placeholders import MIN_ROWS


def small_batch(rng: np.random.Generator) -> pd.Series:
    """300 rows: 290 spread over the day and 10 at 00:01 (a placeholder's handful)."""
    return pd.concat([stamps(rng, 290), stamps(rng, 10, minutes=1).dt.floor("D")
                      + pd.Timedelta(minutes=1)], ignore_index=True)  # fmt: skip


def precisions(result: Any) -> list[str]:
    return list(result.events["time_precision"].astype(str))


def test_a_small_batch_reads_the_models_placeholder_minute_as_dates(tmp_path: Path) -> None:
    times = small_batch(np.random.default_rng(21))
    held = (times.dt.strftime("%H:%M") == "00:01").to_numpy()
    assert held.sum() == 10 < MIN_ROWS  # too few for the batch's own detection
    path = export(tmp_path / "batch.csv", times.dt.strftime("%Y-%m-%d %H:%M"))
    result = read(path, placeholders=("00:01",))
    assert result.report.placeholder_times == {"00:01": 10}
    assert precisions(result) == list(np.where(held, "day", "minute"))
    local = result.events["occurred_at"].dt.tz_localize(None)
    assert (local[held] == times[held].dt.floor("D")).all()  # the date kept, at midnight
    assert (local[~held] == times[~held]).all()
    [note] = [n for n in result.report.notes if n.startswith("placeholder_time")]
    assert note.startswith(
        "placeholder_time: 10 accepted rows at 00:01 (a placeholder minute of the model's "
        "training data); a stand-in for an unknown time of day"
    )
    # without the record the batch keeps them as times, as before
    plain = read(path)
    assert plain.report.placeholder_times == {}
    assert set(precisions(plain)) == {"minute"}


def test_the_batchs_own_detection_still_runs_beside_the_models_minutes(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)  # as test_a_spike_at_0001_is_read_as_dates_and_counted
    times = pd.concat([stamps(rng, 3000), stamps(rng, 300, minutes=1).dt.floor("D")
                       + pd.Timedelta(minutes=1)], ignore_index=True)  # fmt: skip
    clock = times.dt.strftime("%H:%M")
    at_noon = int((clock == "12:00").sum())
    assert at_noon == 1 and (clock == "01:01").sum() == 0
    result = read(export(tmp_path / "spike.csv", times.dt.strftime("%Y-%m-%d %H:%M")),
                  placeholders=("12:00", "01:01"))  # fmt: skip
    # 01:01 has no rows here: not named
    assert result.report.placeholder_times == {"00:01": 304, "12:00": 1}
    assert precisions(result).count("day") == 305
    [note] = [n for n in result.report.notes if n.startswith("placeholder_time")]
    assert "304 accepted rows at 00:01 (" in note and "x the " in note
    assert "1 accepted rows at 12:00 (a placeholder minute of the model's training data)" in note


def test_the_models_minute_is_read_on_the_clock_the_batch_is_written_in(tmp_path: Path) -> None:
    times = small_batch(np.random.default_rng(22))
    held = (times.dt.strftime("%H:%M") == "00:01").to_numpy()
    written = times.dt.strftime("%Y-%m-%dT%H:%M:00Z")  # 00:01 UTC: 18:01 in Chicago
    result = read(export(tmp_path / "utc.csv", written), placeholders=("00:01",))
    assert result.report.placeholder_times == {"00:01": int(held.sum())} == {"00:01": 10}
    local = result.events["occurred_at"].dt.tz_localize(None)
    assert (local[held] == times[held].dt.floor("D")).all()  # the UTC date as written


def test_a_minute_that_is_not_a_clock_time_is_an_error_naming_it(tmp_path: Path) -> None:
    path = export(tmp_path / "batch.csv", small_batch(np.random.default_rng(23)).astype(str))
    with pytest.raises(ConfigError, match=r"placeholder minute '24:01' is not a clock time"):
        read(path, placeholders=("24:01",))


def test_forecast_history_takes_the_models_minutes_unless_another_export_is_mapped(
    tmp_path: Path,
) -> None:
    from hotspots.cli.forecast_cmd import read_history
    from hotspots.jobs.data import event_options

    cmap = "time=time,lat=lat,lng=lng,category=cat"
    spec = {"data": {"map": cmap, "timezone": TZ}}
    manifest = {"spec": spec, "data": {"timezone": TZ, "placeholder_times": {"00:01": 496}}}
    assert event_options(manifest)["placeholders"] == ("00:01",)
    assert "placeholders" not in event_options({"spec": spec, "data": {"timezone": TZ}})
    times = small_batch(np.random.default_rng(24))
    path = export(tmp_path / "batch.csv", times.dt.strftime("%Y-%m-%d %H:%M"))
    flags = {"preset": None, "crs": None, "tz": None}
    events = read_history(manifest, path, None, map_=None, **flags)
    assert list(events["time_precision"].astype(str)).count("day") == 10
    # another export's columns (--map): the model's placeholder is not assumed for it
    events = read_history(manifest, path, None, map_=cmap, **flags)
    assert set(events["time_precision"].astype(str)) == {"minute"}
