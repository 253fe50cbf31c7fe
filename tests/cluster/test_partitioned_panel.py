"""A panel from partitioned Parquet, counted per partition on Dask, equals events_to_panel
of all the events at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hotspots.features import Panel, events_to_panel
from hotspots.grid import StudyArea
from hotspots.synthetic.region import write_region

pytest.importorskip("dask.dataframe")

from hotspots.cluster.panel import parquet_to_panel


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
