"""Dosage: patrol minutes per period and cell, from the stored patrol log, and beside the
crime that followed there, in the ring around and elsewhere (``dosage_beside_crime``).

A patrol's minutes are spread evenly over its cells (an hour over four cells is 15 minutes
in each), so the minutes of an area add up to the time spent there. A patrol that crosses
a period boundary is split at it, by the minutes on each side (times in the events' local
timezone, as panels count them); patrols are at most ``max_hours`` long, so at most two
periods. Cells finer than the study resolution count in their parent cell; coarser ones
are left out (and logged).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.features import Panel, period_floor
from hotspots.feedback.served import ServedForecast
from hotspots.grid import (
    StudyArea,
    cells_resolution,
    cells_to_parents,
    cells_to_strings,
    grid_disk_cells,
)

logger = logging.getLogger(__name__)

DOSAGE_COLUMNS = ("period_start", "cell", "minutes")


PATROL_TIME_COLUMNS = (
    "model", "as_of", "place_kind", "place", "tactic", "patrols", "minutes", "share",
)  # fmt: skip
"""``patrol_time``: where the time went, as the log named the places."""


def patrols_to_dosage(
    patrols: pd.DataFrame, freq: str, timezone: str, resolution: int
) -> pd.DataFrame:
    """Minutes per (period start, cell): ``period_start`` naive local, ``cell`` uint64."""
    if patrols.empty:
        return _empty()
    parts = _in_periods(patrols, freq, timezone)
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


def _in_periods(patrols: pd.DataFrame, freq: str, timezone: str) -> pd.DataFrame:
    """Each patrol's minutes per period it falls in (``row``: its position; one across a
    period boundary is two parts), times in ``timezone`` as panels count them."""
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
    return parts.loc[parts["minutes"] > 0]


def patrol_time(
    name: str, patrols: pd.DataFrame, freq: str, timezone: str, periods: Sequence[pd.Timestamp]
) -> pd.DataFrame:
    """Patrol minutes in each of ``periods`` (split at their boundaries as the dosage is),
    where the log put them: per named or plan area (``place``: its name, e.g. ``2024-01-08/3``;
    patrols given by ``cells`` or ``polygon`` pooled per kind, ``place`` empty) and tactic,
    with how many patrols and the share of the period's minutes. Not per unit: that would be
    one crew's hours."""
    if patrols.empty or not len(periods):
        return empty_patrol_time()
    parts = _in_periods(patrols, freq, timezone)
    parts = parts.loc[parts["period_start"].isin(pd.DatetimeIndex(list(periods)))]
    if parts.empty:
        return empty_patrol_time()
    rows = parts["row"].to_numpy()

    def column(name: str, default: str) -> npt.NDArray[np.object_]:
        """The stored column (a frame made by hand may lack it), empty values as ``""``."""
        found = patrols[name] if name in patrols else pd.Series(default, index=patrols.index)
        return found.astype(object).fillna("").to_numpy()[rows]

    kind = column("place_kind", "cells")
    frame = pd.DataFrame(
        {
            "as_of": parts["period_start"].to_numpy(),
            "place_kind": kind,
            "place": np.where(kind == "area", column("place", ""), ""),
            "tactic": column("tactic", ""),
            "minutes": parts["minutes"].to_numpy(),
        }
    )
    out = (
        frame.groupby(["as_of", "place_kind", "place", "tactic"], sort=True)
        .agg(patrols=("minutes", "size"), minutes=("minutes", "sum"))
        .reset_index()
    )
    out["share"] = out["minutes"] / out.groupby("as_of")["minutes"].transform("sum")
    out.insert(0, "model", name)
    return out[list(PATROL_TIME_COLUMNS)]


def empty_patrol_time() -> pd.DataFrame:
    """``patrol_time`` with no rows."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in PATROL_TIME_COLUMNS})


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


def dosage_beside_crime(
    name: str,
    panel: Panel,
    target: Sequence[str],
    due: Sequence[ServedForecast],
    patrols: pd.DataFrame,
    timezone: str,
    top_k: int,
    rings: int,
    before_periods: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per period of ``due`` (model ``name``'s served forecasts, counted on ``panel``) and
    per patrolled cell: minutes beside the ``target`` events that followed, in the patrolled
    cells, the ``rings`` around them and the rest, and over the ``before_periods`` before
    (the displacement check: ``before_*`` are means over the ``periods_before`` there are, up
    to ``before_periods``); ``top_k`` cells of each served ranking are its flagged ones."""
    dose = patrols_to_dosage(patrols, panel.freq, timezone, panel.resolution)
    idx = [panel.categories.index(c) for c in target if c in panel.categories]
    actual = panel.counts[idx].sum(axis=0).astype(np.float64)  # (periods, cells)
    summary, cells = [], []
    for forecast in due:
        row = int(panel.periods.get_indexer(pd.DatetimeIndex([forecast.as_of]))[0])
        minutes = _minutes_on(dose.loc[dose["period_start"] == forecast.as_of], panel.cells)
        patrolled = minutes > 0
        ring = np.isin(panel.cells, grid_disk_cells(panel.cells[patrolled], rings)) & ~patrolled
        now = actual[row]
        first = max(0, row - before_periods)
        before = actual[first:row].mean(axis=0) if row else now * np.nan
        summary.append(
            {
                "model": name,
                "as_of": forecast.as_of,
                "patrolled_cells": int(patrolled.sum()),
                "patrol_minutes": float(minutes.sum()),
                **_split("events", now, patrolled, ring),
                **_split("before", before, patrolled, ring),
                "periods_before": row - first,
            }
        )
        top = np.isin(panel.cells, forecast.ranked[:top_k])
        columns = {"minutes": minutes, "events": now, "events_before": before, "in_served_top": top}
        frame = pd.DataFrame({k: v[patrolled] for k, v in columns.items()})
        frame.insert(0, "cell", cells_to_strings(panel.cells[patrolled]))
        frame.insert(0, "as_of", forecast.as_of)
        frame.insert(0, "model", name)
        cells.append(frame)
    return pd.DataFrame(summary), pd.concat(cells, ignore_index=True)


def _minutes_on(dose: pd.DataFrame, cells: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
    """Patrol minutes per cell of ``cells`` (sorted) from (cell, minutes) rows."""
    minutes = np.zeros(cells.size)
    pos = StudyArea(cells, cells_resolution(cells)).index_of(dose["cell"].to_numpy(np.uint64))
    np.add.at(minutes, pos[pos >= 0], dose["minutes"].to_numpy()[pos >= 0])
    return minutes


def _split(
    prefix: str,
    values: npt.NDArray[np.float64],
    patrolled: npt.NDArray[np.bool_],
    ring: npt.NDArray[np.bool_],
) -> dict[str, float]:
    rest = ~patrolled & ~ring
    return {
        f"{prefix}_patrolled": float(values[patrolled].sum()),
        f"{prefix}_ring": float(values[ring].sum()),
        f"{prefix}_rest": float(values[rest].sum()),
    }
