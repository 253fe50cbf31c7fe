"""A panel from partitioned Parquet, counted per partition on Dask, equals events_to_panel
of all the events at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.features import Panel, events_to_panel
from hotspots.grid import StudyArea
from hotspots.synthetic.region import write_region

pytest.importorskip("dask.dataframe")

from hotspots.features.partitions import parquet_to_panel


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three cities, 10 weeks, one Parquet partition each (about 1,000 events)."""
    out = tmp_path_factory.mktemp("region")
    write_region(out, 1_500, n_cities=3, days=70, seed=2)
    return out


@pytest.fixture(scope="module")
def all_events(region: Path) -> pd.DataFrame:
    parts = sorted((region / "events").glob("city=*/part.parquet"))
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def _same(got: Panel, want: Panel) -> None:
    assert np.array_equal(got.cells, want.cells)
    assert got.periods.equals(want.periods)
    assert got.categories == want.categories
    assert got.counts.dtype == want.counts.dtype
    assert np.array_equal(got.counts, want.counts)
    assert (got.n_outside, got.n_out_of_range, got.n_other_category) == (
        want.n_outside,
        want.n_out_of_range,
        want.n_other_category,
    )


def test_partitions_counted_apart_give_the_panel_of_all_events(
    region: Path, all_events: pd.DataFrame
) -> None:
    got = parquet_to_panel(region / "events", 9, "W")
    want = events_to_panel(all_events, 9, "W")
    assert got.counts.sum() == len(all_events) > 500
    _same(got, want)


def test_a_window_categories_a_study_area_and_rings_count_as_events_to_panel_does(
    region: Path, all_events: pd.DataFrame
) -> None:
    cells = np.sort(events_to_panel(all_events, 8, "W").cells)[::2]  # half the cells
    area = StudyArea(cells, 8)
    kw = {"start": "2023-01-16", "end": "2023-02-27", "categories": ["Burglary Residential"]}
    got = parquet_to_panel(region / "events", 8, "W", study_area=area, k=1, **kw)
    want = events_to_panel(all_events, 8, "W", study_area=area, k=1, **kw)
    assert got.n_outside > 0 and got.n_out_of_range > 0 and got.n_other_category > 0
    _same(got, want)


def test_partitions_are_counted_on_the_cluster_workers(
    region: Path, all_events: pd.DataFrame, scheduler: str
) -> None:
    from distributed import Client, get_task_stream

    with Client(scheduler, timeout="30s"), get_task_stream() as stream:
        got = parquet_to_panel(region / "events", 9, "D")
    counted = [t for t in stream.data if "partition_counts" in str(t["key"])]
    # the task stream lists what the workers ran: one count per city's partition
    assert len(counted) == 3 and all(t["worker"] for t in counted)
    _same(got, events_to_panel(all_events, 9, "D"))


SPEC = """
name = "region"
[data]
events = "{events}"
[target]
categories = ["burglary"]
[grid]
resolution = 9
period = "W"
[model]
kind = "historical_mean"
baselines = ["last_period"]
[backtest]
folds = 2
coverages = [0.05]
select_coverage = 0.05
"""


def _spec(folder: Path, events: Path | str, name: str = "region.toml") -> Path:
    path = folder / name
    path.write_text(SPEC.format(events=events))
    return path


def test_a_spec_naming_partitions_counts_them_alike_here_and_on_the_workers(
    region: Path, all_events: pd.DataFrame, scheduler: str, tmp_path: Path
) -> None:
    """``[data] events`` = a folder or a glob of partitions: the panel prepared here, the one
    prepared by a task on the cluster (its partitions counted as tasks too) and
    ``events_to_panel`` of all the events in the same window are one panel."""
    from distributed import Client, get_task_stream

    from hotspots.jobs.spec import read_spec
    from hotspots.jobs.train import prepare

    spec = read_spec(_spec(tmp_path, region / "events"))
    here = prepare(spec)
    with Client(scheduler, timeout="30s") as client, get_task_stream(client) as stream:
        there = client.submit(prepare, spec, pure=False).result()
    counted = [t for t in stream.data if "partition_counts" in str(t["key"])]
    assert len(counted) == 3  # one per city, each a task of its own
    glob = read_spec(_spec(tmp_path, region / "events" / "city=*" / "*.parquet", "glob.toml"))
    by_glob = prepare(glob)
    p = here.panel
    want = events_to_panel(all_events, 9, "W", start=p.periods[0], end=here.until)
    assert p.counts.sum() > 300 and len(p.periods) >= 8
    for got in (there.panel, by_glob.panel, want):
        _same(got, p)
    assert here.data_summary() == there.data_summary()
    assert here.data_summary()["rows_accepted"] == len(all_events)


def test_the_cluster_backtest_of_partitions_writes_the_serial_report_and_lines(
    run_cli: Any, region: Path, scheduler: str, tmp_path: Path
) -> None:
    """The same report; and the same line for a challenger left out (hawkes needs the
    events' times, which a panel counted from partitions does not keep)."""
    spec = _spec(tmp_path, region / "events")
    spec.write_text(spec.read_text().replace("[model]\n", '[model]\nchallengers = ["hawkes"]\n'))
    serial = run_cli("backtest", spec, "--out", tmp_path / "serial")
    dask = run_cli("backtest", spec, "--out", tmp_path / "dask", "--cluster", scheduler)
    assert serial.code == dask.code == 0, serial.err[-2000:] + dask.err[-2000:]
    want = (tmp_path / "serial" / "report.json").read_bytes()
    assert b'"historical_mean"' in want
    assert (tmp_path / "dask" / "report.json").read_bytes() == want
    left = [
        [ln for ln in r.err.splitlines() if ln.startswith("challenger ")] for r in (serial, dask)
    ]
    assert left[0] == left[1] and len(left[1]) == 1
    assert left[1][0].startswith("challenger hawkes left out: the hawkes model needs the events")


@pytest.mark.parametrize(
    ("events", "says"),
    [
        ("empty", "no Parquet file (*.parquet) in the folder"),
        ("empty/*.parquet", "no Parquet file (*.parquet) in the pattern"),
        ("other", "lacks the event-table columns ['occurred_at', 'time_precision', 'lat'"),
    ],
)
def test_a_bad_partitioned_source_is_one_line_and_exit_2(
    run_cli: Any, tmp_path: Path, events: str, says: str
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    pd.DataFrame({"x": [1, 2]}).to_parquet(tmp_path / "other" / "part.parquet")
    done = run_cli("backtest", _spec(tmp_path, tmp_path / events), "--out", tmp_path / "out")
    assert done.code == 2
    errors = [ln for ln in done.err.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and says in errors[0], done.err[-2000:]
    assert not (tmp_path / "out").exists()
