"""The national-size region generator: many cities of different sizes, Synthetica's truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from hotspots.errors import ConfigError
from hotspots.grid import points_to_cells
from hotspots.ingest.schema import EVENT_COLUMNS
from hotspots.synthetic import CATEGORIES
from hotspots.synthetic.city import write_truth
from hotspots.synthetic.region import (
    EVENTS_PER_CELL_YEAR,
    generate_region_city,
    plan_region,
    write_region,
)


def test_cities_fall_off_in_size_add_up_to_the_cells_asked_and_never_touch() -> None:
    plan = plan_region(50_000, n_cities=12)
    cells = [c.cells for c in plan]
    assert cells == sorted(cells, reverse=True) and cells[0] > 8 * cells[-1]
    assert sum(cells) == pytest.approx(50_000, rel=0.05)
    lat = np.array([c.lat for c in plan])
    lng = np.array([c.lng for c in plan])
    gaps = np.hypot(lat[:, None] - lat, (lng[:, None] - lng) * np.cos(np.radians(40)))
    np.fill_diagonal(gaps, np.inf)
    # disk radius ~ rings * sqrt(3) * edge; edge at res 9 ~ 0.2 km, i.e. ~0.0018 degrees
    biggest = max(c.rings for c in plan) * np.sqrt(3) * 0.2 / 111.2
    assert gaps.min() > 2 * biggest


def test_too_few_cells_for_the_cities_is_refused() -> None:
    with pytest.raises(ConfigError, match="12 cities need at least 84 cells"):
        plan_region(50)


def test_a_city_has_its_own_cells_events_at_the_regions_rate_and_a_weekly_truth() -> None:
    plan = plan_region(2_000, n_cities=3)[1]
    city = generate_region_city(plan, seed=3, start="2023-01-02", days=182)
    assert len(city.cells) == plan.cells
    got = points_to_cells(city.events["latitude"], city.events["longitude"], 9)
    assert np.array_equal(got, city.event_cells)  # every event indexes back to its cell
    assert np.isin(city.event_cells, city.cells).all()
    want = EVENTS_PER_CELL_YEAR * plan.cells * 182 / 365.25
    assert len(city.events) == pytest.approx(want, rel=0.25)
    assert city.truth_freq == "W" and city.truth.shape == (len(CATEGORIES), 26, plan.cells)
    assert city.truth.sum() == pytest.approx(len(city.events), rel=0.15)
    again = generate_region_city(plan, seed=3, start="2023-01-02", days=182)
    pd.testing.assert_frame_equal(again.events, city.events)
    with pytest.raises(ConfigError, match="per 'W' only, not per 'D'"):
        city.truth_array("D")


def test_weekly_truth_summed_as_it_runs_is_the_daily_truth_summed_bit_for_bit(
    tmp_path: Path,
) -> None:
    plan = plan_region(2_000, n_cities=3)[2]
    # a Wednesday start and 45 days: partial first and last weeks
    daily = generate_region_city(plan, seed=5, start="2023-01-04", days=45, truth_freq="D")
    weekly = generate_region_city(plan, seed=5, start="2023-01-04", days=45)
    assert daily.truth.shape[1] == 45 and weekly.truth.shape[1] == 7
    want, want_starts = daily.truth_array("W")
    got, got_starts = weekly.truth_array("W")
    np.testing.assert_array_equal(got, want)
    assert got_starts.equals(want_starts)
    pd.testing.assert_frame_equal(weekly.events, daily.events)  # the same draws
    path = tmp_path / "truth.parquet"
    write_truth(path, weekly.cells, got, got_starts, max_rows=3 * plan.cells)  # in 18 pieces
    assert pq.ParquetFile(path).num_row_groups == len(CATEGORIES) * 3  # 3 + 3 + 1 weeks
    pd.testing.assert_frame_equal(pd.read_parquet(path), daily.truth_frame("W"))


def test_a_region_is_written_city_by_city_as_event_tables_and_weekly_truth(
    tmp_path: Path,
) -> None:
    info = write_region(tmp_path, 600, n_cities=3, days=56, seed=1)
    meta = json.loads((tmp_path / "region.json").read_text())
    assert meta["n_cells"] == info["n_cells"] == sum(c["cells"] for c in meta["cities"])
    parts = sorted((tmp_path / "events").glob("city=*/part.parquet"))
    assert [p.parent.name for p in parts] == ["city=city00", "city=city01", "city=city02"]
    first = pd.read_parquet(parts[0])
    assert tuple(first.columns) == EVENT_COLUMNS
    assert str(first["occurred_at"].dt.tz) == "America/Chicago"
    assert len(first) == meta["cities"][0]["events"]
    truth = pd.read_parquet(tmp_path / "truth_W" / "city=city00.parquet")
    assert {"cell", "period_start", "category", "expected"} <= set(truth.columns)
    assert truth["cell"].nunique() == meta["cities"][0]["cells"]
