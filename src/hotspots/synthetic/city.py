"""The City record and generate_city, which runs the simulation and draws the events."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from shapely.geometry import box

from hotspots.errors import ConfigError
from hotspots.grid import StudyArea, check_resolution
from hotspots.grid.cells import CellArray
from hotspots.synthetic.events import events_frame, with_defects
from hotspots.synthetic.profiles import BBOX, BURN_IN_DAYS, CATEGORIES, FREQS, NAME
from hotspots.synthetic.simulate import (
    IntArray,
    base_rates,
    daily_drive,
    expand_hits,
    simulate_days,
    spatial_weights,
    spread_kernel,
)

logger = logging.getLogger(__name__)


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
    truth_freq: str = "D"
    """The periods of ``truth``'s second axis: "D" (days) or, for a city too large to keep
    its days, "W" (the days summed per week as they were simulated; see ``truth_array``)."""

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
        may start before ``start`` and its total covers fewer than seven days. A city that
        keeps weekly truth (``truth_freq``) gives it for "W" only.
        """
        period, starts = period_of_days(self.start, self.days, freq)
        if self.truth_freq == freq != "D":
            return self.truth.astype(np.float64, copy=False), starts
        if self.truth_freq != "D":
            raise ConfigError(
                f"this city kept its truth per {self.truth_freq!r} only, not per {freq!r}"
            )
        first = np.flatnonzero(np.r_[True, np.diff(period) != 0])
        summed = np.add.reduceat(self.truth, first, axis=1, dtype=np.float64)
        return summed, starts

    def truth_frame(self, freq: str = "W") -> pd.DataFrame:
        """Tidy truth: one row per category, period and cell (see ``truth_array``)."""
        return truth_to_frame(self.cells, *self.truth_array(freq))


def period_of_days(start: pd.Timestamp, days: int, freq: str) -> tuple[IntArray, pd.DatetimeIndex]:
    """Each of ``days`` days from ``start``: its period's position, and the period starts
    ("D", "W" weeks starting Monday, "M" calendar months)."""
    dates = pd.date_range(start, periods=days, freq="D")
    if freq == "W":
        dates = dates - pd.to_timedelta(dates.day_of_week, unit="D")
    elif freq == "M":
        dates = dates.to_period("M").to_timestamp()
    elif freq != "D":
        raise ConfigError(f"truth frequency must be one of {FREQS}, got {freq!r}")
    labels = dates.to_numpy()
    new = np.r_[True, labels[1:] != labels[:-1]]
    return np.cumsum(new) - 1, pd.DatetimeIndex(labels[new])


def truth_to_frame(
    cells: CellArray,
    summed: npt.NDArray[np.float64],
    starts: pd.DatetimeIndex,
    categories: tuple[str, ...] = CATEGORIES,
) -> pd.DataFrame:
    """``cell, period_start, category, expected`` rows of a (category, period, cell) array."""
    n_cat, n_periods, n_cells = summed.shape
    return pd.DataFrame(
        {
            "cell": np.tile(cells, n_cat * n_periods),
            "period_start": np.tile(np.repeat(starts.to_numpy(), n_cells), n_cat),
            "category": pd.array(categories, dtype="str").take(
                np.repeat(np.arange(n_cat), n_periods * n_cells)
            ),
            "expected": summed.ravel(),
        }
    )


def write_truth(
    path: Path, cells: CellArray, summed: npt.NDArray[np.float64], starts: pd.DatetimeIndex,
    max_rows: int = 4_000_000,
) -> None:  # fmt: skip
    """``truth_to_frame(cells, summed, starts)`` written to Parquet a few million rows at a
    time (the same rows in the same order), so no frame of a large city is ever whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    step = max(1, max_rows // max(cells.size, 1))
    writer: pq.ParquetWriter | None = None
    try:
        for c, name in enumerate(CATEGORIES[: summed.shape[0]]):
            for p in range(0, summed.shape[1], step):
                chunk = truth_to_frame(
                    cells, summed[c : c + 1, p : p + step], starts[p : p + step], (name,)
                )
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                writer = writer or pq.ParquetWriter(path, table.schema)
                writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


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
    weights = spatial_weights(rng, area)
    drive = daily_drive(first_day, days)
    mu = base_rates(weights, drive[:, BURN_IN_DAYS:], target_events)
    truth, hits = simulate_days(rng, mu, drive, spread_kernel(area))
    events, event_cells = events_frame(rng, area, first_day, expand_hits(hits, len(area)))
    raw, defects = with_defects(rng, events)
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
