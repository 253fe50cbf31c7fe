"""The City record and generate_city, which runs the simulation and draws the events."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
        return truth_to_frame(self.cells, *self.truth_array(freq))


def truth_to_frame(
    cells: CellArray, summed: npt.NDArray[np.float64], starts: pd.DatetimeIndex
) -> pd.DataFrame:
    """``cell, period_start, category, expected`` rows of a (category, period, cell) array."""
    n_cat, n_periods, n_cells = summed.shape
    return pd.DataFrame(
        {
            "cell": np.tile(cells, n_cat * n_periods),
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
