"""Outliers in time: stray old dates far before the part of the export that holds its data.

A few rows dated 1900 among five years of incidents are typing or system slips; kept, they
stretch every panel back to 1900 (thousands of empty periods). The *dense part* of the data
starts at the first calendar month holding at least ``DENSE_SHARE`` of a typical month's
events, where a typical month is the count-weighted median of the monthly counts (half of
the events lie in months at least that busy, so a few stray rows cannot move it).
Rows more than ``SLACK`` before that month are ``outside_period`` rejects, as are rows
before an explicit ``start``, which replaces the rule.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.ingest.validate import ValidationReport

DENSE_SHARE = 0.05
SLACK = pd.Timedelta(days=365)


def dense_start(local: npt.NDArray[np.datetime64]) -> pd.Timestamp | None:
    """The first day of the first dense month of naive local times (NaT ignored)."""
    months = local[~np.isnat(local)].astype("M8[M]").astype(np.int64)
    if months.size == 0:
        return None
    low = int(months.min())
    counts = np.bincount(months - low)
    busy = np.sort(counts[counts > 0])
    weight = np.cumsum(busy)
    typical = busy[np.searchsorted(weight, weight[-1] / 2)]
    first = int(np.flatnonzero(counts >= DENSE_SHARE * typical)[0])
    return pd.Timestamp(np.datetime64(low + first, "M"))


def outside_period(
    times: pd.Series, candidates: npt.NDArray[np.bool_], start: pd.Timestamp | None = None
) -> tuple[npt.NDArray[np.bool_], pd.Timestamp | None]:
    """Rows (among ``candidates``) before ``start``, or without it far before the dense part;
    and the bound used (None: nothing to judge; a naive local time).

    ``times`` may be tz-aware; ``start`` is a naive local date or time. The months are
    counted in UTC (a view, no conversion of the column): a year's slack makes the hours
    between UTC and local time immaterial.
    """
    tz = getattr(times.dtype, "tz", None)
    index = pd.DatetimeIndex(times)
    wall = (index.tz_convert(None) if tz is not None else index).to_numpy()
    if start is None:
        dense = dense_start(np.where(candidates, wall, np.datetime64("NaT")))
        if dense is None:
            return np.zeros(len(times), dtype=bool), None
        bound = dense - SLACK
        cut = bound
    else:
        bound = start.tz_localize(None) if start.tz is not None else start
        cut = bound
        if tz is not None:  # the local start as a UTC instant
            local = bound.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
            cut = local.tz_convert(None)
    before = wall < cut.to_datetime64()  # NaT compares False
    return candidates & before, bound


def period_note(
    report: ValidationReport, start: pd.Timestamp | None, bound: pd.Timestamp | None
) -> list[str]:
    """The report's note on its outside_period rows: the bound and why (none without any)."""
    if not report.rejected.get("outside_period"):
        return []
    why = "--start" if start is not None else "over a year before the dense months"
    return [f"times before {bound.date() if bound is not None else '?'} are outside_period ({why})"]
