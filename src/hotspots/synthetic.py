"""Synthetica: a seeded synthetic city with known true crime intensity.

The city is a 24 km x 24 km box around (40.0, -100.0). Each category has its own places (a
low base, a downtown, dense areas, road corridors and a few spots of its own), a weekly and a
yearly rhythm, and a self-exciting near-repeat part: every event raises the risk in its cell
and the neighbouring cells for days. The simulation runs per day, vectorised over cells; its
conditional intensity (the compensator) is the oracle a model can be compared with.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.extensions import ExtensionArray
from scipy import sparse
from shapely.geometry import box, mapping

from hotspots.errors import ConfigError
from hotspots.grid import (
    StudyArea,
    cells_to_latlng,
    cells_to_strings,
    check_resolution,
    grid_disk_table,
    points_to_cells,
)
from hotspots.grid.cells import CellArray, FloatArray

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]

NAME = "Synthetica"
TIMEZONE = "America/Chicago"
CENTER = (40.0, -100.0)  # lat, lng
HALF_SIDE_KM = 12.0
KM_PER_DEGREE = 111.32
_HALF_LAT = HALF_SIDE_KM / KM_PER_DEGREE
_HALF_LNG = _HALF_LAT / math.cos(math.radians(CENTER[0]))
BBOX = (CENTER[0] - _HALF_LAT, CENTER[1] - _HALF_LNG, CENTER[0] + _HALF_LAT, CENTER[1] + _HALF_LNG)
"""Synthetica's bounding box: min_lat, min_lng, max_lat, max_lng."""
COLUMN_MAP = (
    "time=occurred,lat=latitude,lng=longitude,category=offence,id=incident_id,origin=origin"
)
RAW_COLUMNS = ("incident_id", "occurred", "latitude", "longitude", "offence", "origin")
ORIGINS = ("call", "online", "on-view")
DECAY = 0.75  # daily decay of near-repeat excitation: mean lag 1 / (1 - 0.75) = 4 days
SELF_SHARE = 0.6  # share of an event's excitation kept in its own cell; the rest to ring 1
BURN_IN_DAYS = 40  # simulated before ``start`` so the excitation starts in equilibrium
FREQS = ("D", "W", "M")
DEFECT_RATES = {  # extra defective rows, as a share of the clean events
    "missing_coordinates": 0.004,
    "zero_coordinates": 0.003,
    "duplicate_id": 0.003,
    "unparseable_time": 0.004,
    "future_time": 0.001,
    "outside_area": 0.001,
}
GZIP = {"method": "gzip", "compresslevel": 6, "mtime": 0}  # mtime 0: same city, same bytes
ODD_TIMES = ("", "unknown", "2023-02-30 10:00:00", "31/13/2023", "2023-13-45 25:61:00")


@dataclass(frozen=True)
class CategoryProfile:
    """How one category behaves: volume, clustering, rhythms, places and origins."""

    name: str
    share: float  # of all events
    alpha: float  # branching ratio: expected near-repeat events caused by one event
    amplitude: float  # yearly swing of the rate, +- this fraction
    peak_day: int  # day of the year with the highest rate
    weekday: tuple[float, ...]  # relative rate Monday .. Sunday
    hours: tuple[tuple[float, float, float], ...]  # (peak hour, width in hours, weight)
    mix: tuple[float, ...]  # weight of base, downtown, dense areas, corridors, own spots
    origin: tuple[float, float, float]  # P(call), P(online), P(on-view)


PROFILES: tuple[CategoryProfile, ...] = (
    CategoryProfile(
        "Burglary Residential", 0.18, 0.45, 0.20, 350, (1.1, 1.1, 1.1, 1.1, 1.1, 0.8, 0.7),
        ((11, 3, 1.0), (19, 2, 0.5)), (0.22, 0.03, 0.35, 0.05, 0.35), (0.8, 0.2, 0.0),
    ),
    CategoryProfile(
        "Theft from Vehicle", 0.24, 0.20, 0.12, 300, (1.0, 1.0, 1.0, 1.0, 1.1, 1.0, 0.9),
        ((22, 4, 1.0), (8, 2, 0.3)), (0.12, 0.30, 0.20, 0.28, 0.10), (0.45, 0.5, 0.05),
    ),
    CategoryProfile(
        "Robbery", 0.07, 0.15, 0.15, 340, (0.9, 0.9, 0.95, 1.0, 1.15, 1.15, 0.95),
        ((21, 3, 1.0),), (0.08, 0.35, 0.15, 0.32, 0.10), (0.9, 0.0, 0.1),
    ),
    CategoryProfile(
        "Assault", 0.22, 0.20, 0.30, 196, (0.8, 0.75, 0.8, 0.85, 1.1, 1.45, 1.25),
        ((1, 2.5, 1.0), (21, 2, 0.6)), (0.08, 0.40, 0.25, 0.12, 0.15), (0.75, 0.0, 0.25),
    ),
    CategoryProfile(
        "Criminal Damage", 0.20, 0.15, 0.20, 180, (0.95, 0.9, 0.9, 0.95, 1.1, 1.2, 1.0),
        ((23, 3, 1.0), (16, 2, 0.4)), (0.30, 0.15, 0.25, 0.18, 0.12), (0.6, 0.35, 0.05),
    ),
    CategoryProfile(
        "Drugs", 0.09, 0.10, 0.05, 120, (1.15, 1.2, 1.2, 1.15, 1.0, 0.7, 0.6),
        ((15, 4, 1.0),), (0.04, 0.15, 0.06, 0.05, 0.70), (0.1, 0.0, 0.9),
    ),
)  # fmt: skip
CATEGORIES: tuple[str, ...] = tuple(p.name for p in PROFILES)
DISCRETIONARY: tuple[str, ...] = ("Drugs",)
"""Categories driven by police activity rather than victims; the ingest excludes them by default."""


@dataclass(frozen=True, eq=False)
class City:
    """A simulated city: its clean events, their defective raw export and the true intensity.

    ``truth[c, d, i]`` is the expected count of category ``CATEGORIES[c]`` on day ``d`` in cell
    ``area.cells[i]`` given everything before that day (the compensator of the simulation).
    ``raw`` is ``events`` plus added defective rows, counted by reason in ``defects``.
    """

    seed: int
    start: pd.Timestamp
    days: int
    area: StudyArea
    bbox: tuple[float, float, float, float]  # min_lat, min_lng, max_lat, max_lng
    truth: npt.NDArray[np.float32]
    events: pd.DataFrame
    event_cells: CellArray  # the simulated cell of each row of ``events``
    raw: pd.DataFrame
    defects: dict[str, int]

    def __repr__(self) -> str:
        return (
            f"City(seed={self.seed}, start={self.start.date()}, days={self.days}, "
            f"events={len(self.events)}, raw_rows={len(self.raw)}, cells={len(self.area)})"
        )

    @property
    def cells(self) -> CellArray:
        """The simulation grid (sorted uint64 cells); the last axis of ``truth``."""
        return self.area.cells

    @property
    def categories(self) -> tuple[str, ...]:
        """Category names in the order of the first axis of ``truth``."""
        return CATEGORIES

    def truth_array(self, freq: str = "D") -> tuple[npt.NDArray[np.float64], pd.DatetimeIndex]:
        """True expected counts summed per period: array (n_categories, n_periods, n_cells).

        ``freq`` is "D" (days), "W" (weeks starting Monday) or "M" (calendar months). Partial
        first and last periods are kept and hold only the simulated days, so the first week
        may start before ``start`` and its total covers fewer than seven days.
        """
        days = pd.date_range(self.start, periods=self.days, freq="D")
        if freq == "W":
            days = days - pd.to_timedelta(days.day_of_week, unit="D")
        elif freq == "M":
            days = days.to_period("M").to_timestamp()
        elif freq != "D":
            raise ConfigError(f"truth frequency must be one of {FREQS}, got {freq!r}")
        labels = days.to_numpy()
        first = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        summed = np.add.reduceat(self.truth, first, axis=1, dtype=np.float64)
        return summed, pd.DatetimeIndex(labels[first])

    def truth_frame(self, freq: str = "W") -> pd.DataFrame:
        """Tidy truth: one row per category, period and cell (see ``truth_array``)."""
        summed, starts = self.truth_array(freq)
        n_cat, n_periods, n_cells = summed.shape
        return pd.DataFrame(
            {
                "cell": np.tile(self.cells, n_cat * n_periods),
                "period_start": np.tile(np.repeat(starts.to_numpy(), n_cells), n_cat),
                "category": pd.array(CATEGORIES, dtype="str").take(
                    np.repeat(np.arange(n_cat), n_periods * n_cells)
                ),
                "expected": summed.ravel(),
            }
        )


def generate_city(
    seed: int = 0,
    start: str = "2023-01-01",
    days: int = 730,
    target_events: int = 150_000,
    resolution: int = 9,
) -> City:
    """Simulate Synthetica; the same arguments always give the same city.

    Parameters
    ----------
    seed : seed of the one random generator everything is drawn from.
    start : first simulated local date.
    days : number of simulated days.
    target_events : expected number of clean events over the whole run.
    resolution : H3 resolution of the simulation grid (6 to 10).
    """
    first_day = _check_args(start, days, target_events, resolution)
    rng = np.random.default_rng(seed)
    area, bbox = study_area(resolution)
    weights = _spatial_weights(rng, *cells_to_latlng(area.cells))
    drive = _drive(first_day, days)
    mu = _base_rates(weights, drive[:, BURN_IN_DAYS:], target_events)
    truth, hits = _simulate(rng, mu, drive, _kernel(area))
    events, event_cells = _events_frame(rng, area, first_day, _expand(hits, len(area)))
    raw, defects = _with_defects(rng, events)
    logger.info("simulated %s: %d events in %d cells", NAME, len(events), len(area))
    return City(seed, first_day, days, area, bbox, truth, events, event_cells, raw, defects)


def _check_args(start: str, days: int, target_events: int, resolution: int) -> pd.Timestamp:
    """The start date as a Timestamp; ConfigError naming any invalid argument."""
    if not 6 <= check_resolution(resolution) <= 10:
        raise ConfigError(f"synthetic city resolution must be 6 to 10, got {resolution}")
    if days < 1:
        raise ConfigError(f"days must be at least 1, got {days}")
    if target_events <= 0:
        raise ConfigError(f"target_events must be positive, got {target_events}")
    try:
        return pd.Timestamp(start).normalize()
    except ValueError as err:
        raise ConfigError(f"start is not a date: {start!r}") from err


def study_area(resolution: int = 9) -> tuple[StudyArea, tuple[float, float, float, float]]:
    """Synthetica's cells (centres inside the box) and its bounding box ``BBOX``."""
    # shapely's box takes (minx=lng, miny=lat, maxx=lng, maxy=lat)
    return StudyArea.from_geometry(box(BBOX[1], BBOX[0], BBOX[3], BBOX[2]), resolution), BBOX


def _normalise(w: FloatArray) -> FloatArray:
    return w / w.sum(axis=-1, keepdims=True)


def _bumps(rng: np.random.Generator, y: FloatArray, x: FloatArray, n: int, spread: float,
           sigma: tuple[float, float]) -> FloatArray:  # fmt: skip
    """``n`` Gaussian dense areas at random places, each normalised over the cells."""
    cy, cx = rng.uniform(-spread, spread, (2, n, 1))
    s = rng.uniform(*sigma, (n, 1))
    return _normalise(np.exp(-0.5 * ((y - cy) ** 2 + (x - cx) ** 2) / s**2))


def _corridors(rng: np.random.Generator, y: FloatArray, x: FloatArray, n: int) -> FloatArray:
    """``n`` straight roads across the city with a Gaussian cross-section 250 m wide."""
    theta = rng.uniform(0, np.pi, (n, 1))
    py, px = rng.uniform(-5, 5, (2, n, 1))
    dist = np.abs((x - px) * np.sin(theta) - (y - py) * np.cos(theta))
    return _normalise(np.exp(-0.5 * (dist / 0.25) ** 2))


def _spatial_weights(rng: np.random.Generator, lat: FloatArray, lng: FloatArray) -> FloatArray:
    """Share of each category's events per cell, shape (n_categories, n_cells)."""
    y = (lat - CENTER[0]) * KM_PER_DEGREE  # km north and east of the centre
    x = (lng - CENTER[1]) * KM_PER_DEGREE * np.cos(np.radians(CENTER[0]))
    base = np.full(y.size, 1.0 / y.size)
    downtown = _normalise(np.exp(-0.5 * (y**2 + x**2) / 1.2**2))
    areas = _bumps(rng, y, x, 6, 8.0, (0.4, 1.0))
    roads = _corridors(rng, y, x, 4)
    out = np.empty((len(PROFILES), y.size))
    for i, p in enumerate(PROFILES):  # per category, each part vectorised over cells
        spots = _bumps(rng, y, x, 3, 9.0, (0.2, 0.45))
        parts = (
            base,
            downtown,
            *(rng.dirichlet(np.ones(len(m))) @ m for m in (areas, roads, spots)),
        )
        out[i] = np.asarray(p.mix) @ np.stack(parts)
    return _normalise(out)


def _drive(first_day: pd.Timestamp, days: int) -> FloatArray:
    """Seasonal x weekday multiplier per category and day, burn-in days first."""
    dates = pd.date_range(first_day - pd.Timedelta(days=BURN_IN_DAYS), periods=BURN_IN_DAYS + days)
    doy = dates.day_of_year.to_numpy()[None, :]
    amp = np.array([[p.amplitude] for p in PROFILES])
    peak = np.array([[p.peak_day] for p in PROFILES])
    week = np.array([p.weekday for p in PROFILES])
    week = week / week.mean(axis=1, keepdims=True)
    return (1 + amp * np.cos(2 * np.pi * (doy - peak) / 365.25)) * week[:, dates.day_of_week]


def _base_rates(weights: FloatArray, drive: FloatArray, target_events: int) -> FloatArray:
    """Background rate per category and cell so the run expects ``target_events`` in total.

    A stationary self-exciting process with branching ratio alpha has 1 / (1 - alpha) events
    per background event, hence the (1 - alpha) factor.
    """
    share = np.array([p.share for p in PROFILES]) / sum(p.share for p in PROFILES)
    alpha = np.array([p.alpha for p in PROFILES])
    per_cat = target_events * share * (1 - alpha) / drive.sum(axis=1)
    return per_cat[:, None] * weights


def _kernel(area: StudyArea) -> sparse.csr_matrix:
    """Sparse (n_cells, n_cells) spread of one event: column j sums to 1 over j and ring 1."""
    src, nbr = grid_disk_table(area.cells, 1)
    dst = area.index_of(nbr)
    src, dst = src[dst >= 0], dst[dst >= 0]
    n_nbrs = np.bincount(src, minlength=len(area))[src] - 1
    own = src == dst
    w = np.where(
        own, np.where(n_nbrs > 0, SELF_SHARE, 1.0), (1 - SELF_SHARE) / np.maximum(n_nbrs, 1)
    )
    return sparse.csr_matrix((w, (dst, src)), shape=(len(area), len(area)))


def _simulate(
    rng: np.random.Generator, mu: FloatArray, drive: FloatArray, kernel: sparse.csr_matrix
) -> tuple[npt.NDArray[np.float32], list[tuple[IntArray, IntArray]]]:
    """Run the days; return the daily intensity and per day (flat category*cell index, count)."""
    n_cat, n_cells = mu.shape
    days = drive.shape[1] - BURN_IN_DAYS
    truth = np.empty((n_cat, days, n_cells), dtype=np.float32)
    gain = np.array([[p.alpha * (1 - DECAY)] for p in PROFILES])
    excitation = np.zeros((n_cat, n_cells))
    hits: list[tuple[IntArray, IntArray]] = []
    for d in range(drive.shape[1]):  # a loop over days; every step is vectorised over cells
        lam = mu * drive[:, d : d + 1] + excitation
        counts = rng.poisson(lam)
        excitation = DECAY * excitation + gain * (kernel @ counts.T.astype(np.float64)).T
        if d >= BURN_IN_DAYS:
            truth[:, d - BURN_IN_DAYS] = lam
            flat = np.flatnonzero(counts)
            hits.append((flat, counts.ravel()[flat]))
    return truth, hits


def _expand(hits: list[tuple[IntArray, IntArray]], n_cells: int) -> tuple[IntArray, ...]:
    """One row per event: (category, cell position, day)."""
    flat = np.concatenate([h[0] for h in hits])
    counts = np.concatenate([h[1] for h in hits])
    day = np.repeat(np.arange(len(hits)), [h[0].size for h in hits])
    cat, cell = np.divmod(np.repeat(flat, counts), n_cells)
    return cat, cell, np.repeat(day, counts)


def _events_frame(
    rng: np.random.Generator, area: StudyArea, first_day: pd.Timestamp, rows: tuple[IntArray, ...]
) -> tuple[pd.DataFrame, CellArray]:
    """The clean events table sorted by time, and each event's cell; ``rows`` as ``_expand``."""
    cat, cell, day = rows
    when = _times(rng, first_day, cat, day)
    lat, lng = _place_points(rng, area, cell)
    origin = _draw(rng, [p.origin for p in PROFILES], cat)
    order = np.lexsort((cell, cat, when))
    occurred = np.datetime_as_string(when[order], unit="s").astype("U19")
    occurred.view(np.uint32).reshape(-1, 19)[:, 10] = ord(" ")  # ISO "T" -> " ", in place
    frame = pd.DataFrame(
        {
            "incident_id": _ids(1, order.size, _id_width(order.size)),
            "occurred": occurred,
            "latitude": lat[order],
            "longitude": lng[order],
            "offence": pd.array(CATEGORIES, dtype="str").take(cat[order]),
            "origin": pd.array(ORIGINS, dtype="str").take(origin[order]),
        }
    )
    return frame, area.cells[cell[order]]


def _id_width(n_events: int) -> int:
    """Digits of incident ids, with room for the ids of the added defective rows."""
    return max(7, len(str(2 * n_events)))


def _ids(first: int, count: int, width: int) -> ExtensionArray:
    """Ids ``SYN-0000001`` onwards (pandas string methods: fast and compact)."""
    digits = pd.Series(np.arange(first, first + count), dtype="int64").astype("str")
    return ("SYN-" + digits.str.zfill(width)).array


def _times(
    rng: np.random.Generator, first_day: pd.Timestamp, cat: IntArray, day: IntArray
) -> npt.NDArray[np.datetime64]:
    """Naive local wall-clock times: hour from the category's profile, minute uniform."""
    hours = np.arange(24)
    profile = np.full((len(PROFILES), 24), 0.2)
    for i, p in enumerate(PROFILES):
        for peak, width, weight in p.hours:
            gap = np.abs(hours - peak)
            profile[i] += weight * np.exp(-0.5 * (np.minimum(gap, 24 - gap) / width) ** 2)
    hour = _draw(rng, profile, cat)
    midnights = pd.date_range(first_day, periods=int(day.max(initial=0)) + 2).tz_localize(TIMEZONE)
    short_days = np.flatnonzero(np.diff(midnights.asi8) < 24 * 3600 * 10**9)
    hour[np.isin(day, short_days) & (hour == 2)] = 3  # 02:xx does not exist when clocks go forward
    seconds = hour * 3600 + rng.integers(0, 60, cat.size) * 60
    base = np.datetime64(first_day.date(), "s")
    return base + day.astype("timedelta64[D]") + seconds.astype("timedelta64[s]")


def _place_points(
    rng: np.random.Generator, area: StudyArea, cell: IntArray
) -> tuple[FloatArray, FloatArray]:
    """A point (6 decimals) near each cell's centre that indexes back to the cell.

    Points are also kept inside ``BBOX``, so a boundary-clipped ingest keeps every clean event.
    """
    c_lat, c_lng = cells_to_latlng(area.cells)
    radius = 0.6 * h3.average_hexagon_edge_length(area.resolution, unit="km")
    lat, lng = np.round(c_lat[cell], 6), np.round(c_lng[cell], 6)
    todo = np.arange(cell.size)
    for _ in range(30):  # each round redraws only the few points that fell out
        r = radius * np.sqrt(rng.random(todo.size))
        theta = rng.uniform(0, 2 * np.pi, todo.size)
        d_lat = r * np.sin(theta) / KM_PER_DEGREE
        d_lng = r * np.cos(theta) / (KM_PER_DEGREE * np.cos(np.radians(c_lat[cell[todo]])))
        lat[todo] = np.round(c_lat[cell[todo]] + d_lat, 6)
        lng[todo] = np.round(c_lng[cell[todo]] + d_lng, 6)
        home = points_to_cells(lat[todo], lng[todo], area.resolution) == area.cells[cell[todo]]
        inside = (lat[todo] > BBOX[0]) & (lng[todo] > BBOX[1])
        inside &= (lat[todo] < BBOX[2]) & (lng[todo] < BBOX[3])
        todo = todo[~(home & inside)]
        if todo.size == 0:
            break
    lat[todo], lng[todo] = np.round(c_lat[cell[todo]], 6), np.round(c_lng[cell[todo]], 6)
    return lat, lng


def _draw(rng: np.random.Generator, weights: npt.ArrayLike, cat: IntArray) -> IntArray:
    """For each event an outcome index drawn from row ``cat`` of ``weights`` (per category)."""
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(cat.size)
    out = np.empty(cat.size, dtype=np.int64)
    for i in range(w.shape[0]):  # per category; an (events x outcomes) table would be too big
        mask = cat == i
        out[mask] = np.minimum(np.searchsorted(cdf[i], u[mask], side="right"), w.shape[1] - 1)
    return out


def _with_defects(
    rng: np.random.Generator, events: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Events plus added defective rows, each right after the event it was copied from."""
    n = len(events)
    defects = {reason: int(round(rate * n)) for reason, rate in DEFECT_RATES.items()}
    reason = np.repeat(np.array(list(defects)), list(defects.values()))
    template = rng.integers(0, n, reason.size)
    extra = events.iloc[template].reset_index(drop=True)
    fresh = reason != "duplicate_id"
    extra.loc[fresh, "incident_id"] = _ids(n + 1, int(fresh.sum()), _id_width(n))
    _corrupt(rng, extra, reason)
    order = np.argsort(np.concatenate([np.arange(n), template + 0.5]), kind="stable")
    raw = pd.concat([events, extra], ignore_index=True).iloc[order].reset_index(drop=True)
    return raw, defects


def _corrupt(rng: np.random.Generator, extra: pd.DataFrame, reason: npt.NDArray[np.str_]) -> None:
    """Give each copied row the one defect its ``reason`` names, in place."""
    xy = ["latitude", "longitude"]
    extra.loc[reason == "missing_coordinates", xy] = np.nan
    extra.loc[reason == "zero_coordinates", xy] = 0.0
    odd = reason == "unparseable_time"
    extra.loc[odd, "occurred"] = rng.choice(np.array(ODD_TIMES), int(odd.sum()))
    future = reason == "future_time"
    later = "2099" + extra.loc[future, "occurred"].str.slice(4)
    extra.loc[future, "occurred"] = later.str.replace("2099-02-29", "2099-02-28", regex=False)
    far = reason == "outside_area"
    size = (int(far.sum()), 2)
    shift = rng.uniform(0.5, 5.0, size) * rng.choice([-1.0, 1.0], size)
    extra.loc[far, xy] = np.round(extra.loc[far, xy].to_numpy() + shift, 6)


def write_city(city: City, out_dir: str | Path) -> dict[str, Path]:
    """Write the demo files into ``out_dir`` (created if needed), each atomically.

    ``events.csv.gz`` (the raw export), ``truth_W.parquet`` (weekly truth, cells as H3
    strings), ``boundary.geojson``, ``city.json`` and, for the Makefile's demo,
    ``column_map.txt`` and ``timezone.txt``. Returns their paths keyed by file name.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    truth = city.truth_frame("W")
    names = pd.array(cells_to_strings(city.cells), dtype="str")  # one string per cell, not row
    truth["cell"] = names.take(np.searchsorted(city.cells, truth["cell"].to_numpy()))
    writers: dict[str, Callable[[Path], Any]] = {
        "events.csv.gz": lambda p: city.raw.to_csv(p, index=False, compression=GZIP),
        "truth_W.parquet": lambda p: truth.to_parquet(p, index=False),
        "boundary.geojson": lambda p: p.write_text(json.dumps(_boundary(city.bbox))),
        "city.json": lambda p: p.write_text(json.dumps(_metadata(city), indent=2)),
        "column_map.txt": lambda p: p.write_text(COLUMN_MAP + "\n"),
        "timezone.txt": lambda p: p.write_text(TIMEZONE + "\n"),
    }
    paths = {name: _write_atomic(out / name, write) for name, write in writers.items()}
    logger.info("wrote %s to %s", NAME, out)
    return paths


def _write_atomic(path: Path, write: Callable[[Path], Any]) -> Path:
    """Write through a temporary name in the same directory, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _boundary(bbox: tuple[float, float, float, float]) -> dict[str, Any]:
    """The bounding box as a GeoJSON FeatureCollection (coordinates in GeoJSON's lng, lat)."""
    polygon = mapping(box(bbox[1], bbox[0], bbox[3], bbox[2]))  # box(minx=lng, miny=lat, ...)
    feature = {"type": "Feature", "properties": {"name": NAME}, "geometry": polygon}
    return {"type": "FeatureCollection", "features": [feature]}


def _metadata(city: City) -> dict[str, Any]:
    """What ``city.json`` records: how the city was made and how to read its files."""
    return {
        "name": NAME,
        "seed": city.seed,
        "start": city.start.date().isoformat(),
        "days": city.days,
        "resolution": city.area.resolution,
        "timezone": TIMEZONE,
        "bbox": dict(zip(("min_lat", "min_lng", "max_lat", "max_lng"), city.bbox, strict=True)),
        "categories": list(CATEGORIES),
        "discretionary": list(DISCRETIONARY),
        "n_events": len(city.events),
        "n_raw_rows": len(city.raw),
        "defects": city.defects,
        "column_map": COLUMN_MAP,
    }
