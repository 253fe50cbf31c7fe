"""Dosage: patrol minutes per period and cell, from the stored patrol log.

A patrol's minutes are spread evenly over its cells (an hour over four cells is 15 minutes
in each), so the minutes of an area add up to the time spent there. A patrol that crosses
a period boundary is split at it, by the minutes on each side (times in the events' local
timezone, as panels count them); patrols are at most ``max_hours`` long, so at most two
periods. Cells finer than the study resolution count in their parent cell; coarser ones
are left out (and logged).
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.features import period_floor
from hotspots.grid import cells_to_parents

logger = logging.getLogger(__name__)

DOSAGE_COLUMNS = ("period_start", "cell", "minutes")


def patrols_to_dosage(
    patrols: pd.DataFrame, freq: str, timezone: str, resolution: int
) -> pd.DataFrame:
    """Minutes per (period start, cell): ``period_start`` naive local, ``cell`` uint64."""
    if patrols.empty:
        return _empty()
    start = patrols["start"].dt.tz_convert(timezone).dt.tz_localize(None)
    end = patrols["end"].dt.tz_convert(timezone).dt.tz_localize(None)
    first = pd.DatetimeIndex(period_floor(start, freq))
    second = pd.DatetimeIndex(period_floor(end, freq))
    split = second > first
    cut = np.where(split, second, end)
    before = (pd.DatetimeIndex(cut) - pd.DatetimeIndex(start)).total_seconds() / 60.0
    after = np.where(split, (pd.DatetimeIndex(end) - second).total_seconds() / 60.0, 0.0)
    parts = pd.DataFrame(
        {
            "row": np.concatenate([np.arange(len(patrols))] * 2),
            "period_start": np.concatenate([first.to_numpy(), second.to_numpy()]),
            "minutes": np.concatenate([np.asarray(before), after]),
        }
    )
    parts = parts.loc[parts["minutes"] > 0]
    cells = _cells_at(patrols, resolution)
    lengths = np.array([c.size for c in cells], dtype=np.int64)
    rows = parts["row"].to_numpy()
    n = lengths[rows]
    keep = n > 0
    rows, n = rows[keep], n[keep]
    each = parts["minutes"].to_numpy()[keep] / n
    out = pd.DataFrame(
        {
            "period_start": np.repeat(parts["period_start"].to_numpy()[keep], n),
            "cell": np.concatenate([cells[r] for r in rows])
            if rows.size
            else np.empty(0, np.uint64),
            "minutes": np.repeat(each, n),
        }
    )
    summed = out.groupby(["period_start", "cell"], sort=True)["minutes"].sum()
    return summed.reset_index()


def _cells_at(patrols: pd.DataFrame, resolution: int) -> list[npt.NDArray[np.uint64]]:
    """Each patrol's cells at ``resolution`` (finer ones as their parents, unique)."""
    out: list[npt.NDArray[np.uint64]] = []
    dropped = 0
    for cells, res in zip(patrols["cells"], patrols["resolution"], strict=True):
        arr = np.asarray(cells, dtype=np.uint64)
        if int(res) > resolution:
            arr = np.unique(cells_to_parents(arr, resolution))
        elif int(res) < resolution:
            dropped += 1
            arr = np.empty(0, np.uint64)
        out.append(arr)
    if dropped:
        logger.warning(
            "%d patrols are logged at a resolution coarser than %d and are left out of dosage",
            dropped,
            resolution,
        )
    return out


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period_start": pd.Series([], dtype="datetime64[ns]"),
            "cell": pd.Series([], dtype=np.uint64),
            "minutes": pd.Series([], dtype=np.float64),
        }
    )
