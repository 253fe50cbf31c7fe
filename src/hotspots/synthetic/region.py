"""A national-size synthetic region: many Synthetica-like cities of different sizes.

Each city is a disk of H3 cells round its own centre, simulated as Synthetica is (its own
downtown, dense areas, corridors, drift and near repeats, ``simulate``) with a rate per cell
held the same across cities, so a city's events grow with its cells. City sizes fall off as
1 / rank (a few big cities, many towns). Cities are simulated one at a time and written as
they are made, so a region far larger than memory is written in pieces:

    OUT/events/city=NAME/part.parquet   the city's clean events (an event table's columns)
    OUT/truth_W/city=NAME.parquet       its weekly truth (``City.truth_frame("W")``'s rows)
    OUT/region.json                     the cities: names, centres, cells, events
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import h3
import numpy as np
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.grid import StudyArea
from hotspots.grid.cells import cells_to_latlng, grid_disk_cells
from hotspots.synthetic.city import City, _check_args, period_of_days, write_truth
from hotspots.synthetic.events import events_frame, with_defects
from hotspots.synthetic.profiles import BURN_IN_DAYS, CENTER, KM_PER_DEGREE, TIMEZONE
from hotspots.synthetic.simulate import (
    base_rates,
    daily_drive,
    expand_hits,
    simulate_days,
    spatial_weights,
    spread_kernel,
)

logger = logging.getLogger(__name__)

EVENTS_PER_CELL_YEAR = 4.0
"""Expected clean events per cell and year, in every city (Synthetica at res 9: ~5)."""


@dataclass(frozen=True)
class CityPlan:
    """One city of a region: its name, centre (lat, lng) and H3 disk of ``rings`` rings."""

    name: str
    lat: float
    lng: float
    rings: int
    cells: int


def plan_region(n_cells: int, n_cities: int = 12, resolution: int = 9) -> tuple[CityPlan, ...]:
    """Cities of sizes falling off as 1 / rank whose cells add up to about ``n_cells``,
    placed on a grid of centres far enough apart that no two disks touch."""
    if n_cells < 7 * n_cities:
        raise ConfigError(f"{n_cities} cities need at least {7 * n_cities} cells, not {n_cells}")
    share = 1 / np.arange(1, n_cities + 1)
    want = share / share.sum() * n_cells
    rings = [max(1, round((-3 + math.sqrt(9 + 12 * (w - 1))) / 6)) for w in want]
    edge_km = h3.average_hexagon_edge_length(resolution, unit="km")
    gap_deg = (2 * max(rings) + 4) * edge_km * math.sqrt(3) / KM_PER_DEGREE
    side = math.ceil(math.sqrt(n_cities))
    return tuple(
        CityPlan(
            f"city{i:02d}",
            round(CENTER[0] + (i // side) * gap_deg, 6),
            round(CENTER[1] + (i % side) * gap_deg / math.cos(math.radians(CENTER[0])), 6),
            k,
            3 * k * (k + 1) + 1,
        )
        for i, k in enumerate(rings)
    )


def generate_region_city(
    plan: CityPlan, seed: int, start: str, days: int, resolution: int = 9, truth_freq: str = "W"
) -> City:
    """Simulate one city of a region (seeded by ``seed`` and the city's name), keeping its
    truth per week (summed as the days run: a large city's daily truth would not fit in
    memory) or, with ``truth_freq="D"``, per day as Synthetica does."""
    target = max(1, round(EVENTS_PER_CELL_YEAR * plan.cells * days / 365.25))
    first_day = _check_args(start, days, target, resolution)
    centre = h3.str_to_int(h3.latlng_to_cell(plan.lat, plan.lng, resolution))
    area = StudyArea(grid_disk_cells([centre], plan.rings), resolution)
    rng = np.random.default_rng([seed, int(plan.name.removeprefix("city"))])
    weights = spatial_weights(rng, area, center=(plan.lat, plan.lng))
    drive = daily_drive(first_day, days)
    mu = base_rates(weights, drive[:, BURN_IN_DAYS:], target)
    period = None if truth_freq == "D" else period_of_days(first_day, days, truth_freq)[0]
    truth, hits = simulate_days(rng, mu, drive, spread_kernel(area), period)
    bbox = _bbox(area)
    events, event_cells = events_frame(rng, area, first_day, expand_hits(hits, len(area)), bbox)
    raw, defects = with_defects(rng, events)
    logger.info("simulated %s: %d events in %d cells", plan.name, len(events), len(area))
    return City(
        seed, first_day, days, area, bbox, truth, events, event_cells, raw, defects, truth_freq
    )


def _bbox(area: StudyArea) -> tuple[float, float, float, float]:
    """min_lat, min_lng, max_lat, max_lng of the area's cells, with a cell's margin."""
    lat, lng = cells_to_latlng(area.cells)
    pad = 2 * h3.average_hexagon_edge_length(area.resolution, unit="km") / KM_PER_DEGREE
    return (lat.min() - pad, lng.min() - 2 * pad, lat.max() + pad, lng.max() + 2 * pad)


def event_table(city: City) -> pd.DataFrame:
    """A city's clean events with the event table's columns (``ingest.schema``)."""
    e = city.events
    return pd.DataFrame(
        {
            "event_id": e["incident_id"].astype("str"),
            # the repeated hour when clocks go back is read as the first (summer) one
            "occurred_at": pd.to_datetime(e["occurred"]).dt.tz_localize(
                TIMEZONE, ambiguous=np.ones(len(e), dtype=bool)
            ),
            "time_precision": pd.Categorical(
                ["minute"] * len(e), categories=["minute", "day", "month"], ordered=True
            ),
            "lat": e["latitude"].to_numpy(np.float64),
            "lng": e["longitude"].to_numpy(np.float64),
            "category": e["offence"].astype("str"),
            "origin": e["origin"].astype("str"),
            "source_row": np.arange(1, len(e) + 1, dtype=np.int64),
        }
    )


def iter_region(
    n_cells: int,
    *,
    seed: int = 0,
    start: str = "2023-01-02",
    days: int = 1092,
    n_cities: int = 12,
    resolution: int = 9,
) -> Iterator[tuple[CityPlan, City]]:
    """Each city of the region, simulated in turn (only one is in memory at a time)."""
    for plan in plan_region(n_cells, n_cities, resolution):
        yield plan, generate_region_city(plan, seed, start, days, resolution)


def write_region(out_dir: str | Path, n_cells: int, **kwargs: object) -> dict[str, object]:
    """Simulate a region (``iter_region``'s arguments) and write it city by city (see the
    module docstring); returns what ``region.json`` holds."""
    out = Path(out_dir)
    cities = []
    for plan, city in iter_region(n_cells, **kwargs):  # type: ignore[arg-type]
        part = out / "events" / f"city={plan.name}"
        part.mkdir(parents=True, exist_ok=True)
        event_table(city).to_parquet(part / "part.parquet")
        (out / "truth_W").mkdir(parents=True, exist_ok=True)
        write_truth(
            out / "truth_W" / f"city={plan.name}.parquet", city.cells, *city.truth_array("W")
        )
        cities.append({**asdict(plan), "events": len(city.events)})
    info: dict[str, object] = {"n_cells": sum(c["cells"] for c in cities), "cities": cities}
    info.update({k: v for k, v in kwargs.items() if k != "n_cities"})
    (out / "region.json").write_text(json.dumps(info, indent=1, default=str))
    return info
