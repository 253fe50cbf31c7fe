"""Realised effectiveness as it may be shown: counts of events in small places under
``HOTSPOTS_MIN_EVENTS_SHOWN`` withheld (``publishing.suppression``, the forecast document's
rule), in ``GET /v1/effectiveness`` and ``hotspots report effectiveness`` alike.

The small places are the dosage's: the patrolled cells, the ring around them and each
patrolled cell (``dosage.csv`` / ``dosage``, ``cells.csv``). A count under the threshold
becomes null (NaN; an empty CSV field) and its row is marked ``suppressed``, as a forecast
cell is. A period nobody patrolled has no such place and withholds nothing. Totals over the
whole study area (``n_events``) and the ratios computed from the counts as they were (hit
rate, PAI, PEI; the flags) are kept.

A count withheld alone could be recovered by subtraction, so more are withheld beside it
(secondary suppression):

* dosage: patrolled + ring + rest is the period's total, shown as ``n_events`` (and the
  ``before_*`` means add up to the mean of the periods before, shown too). When the
  patrolled or the ring count is withheld, so is the rest (in a city, a large count that
  hides the others in its sum).
* cells: a period's patrolled cells add up to its ``events_patrolled``. While that is shown,
  the cells withheld must not be told from it; when it is withheld, the cells must not add
  up to it.

In both, while the withheld counts could be told from their sum (under the threshold, or
each as large as a withheld count can be: 2 + 2 with a threshold of 3), the smallest count
shown is withheld too. The ``before_*`` means are judged on the events they are the mean of
(mean times ``periods_before``): 0.5 over 4 periods is 2 events.

The feedback-loop monitor's ``patrolled_event_share`` is the same patrolled cells' count over
the period's ``events`` (shown): it is withheld (null) where that count is
(``suppress_monitor``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.feedback.effectiveness import Realised
from hotspots.feedback.monitor_served import ModelMonitor
from hotspots.publishing.suppression import checked_min_events, withheld

PLACES = ("patrolled", "ring", "rest")
"""The dosage's places, the rest (everything else) last: the complement of the others."""
CELL_COUNTS = {"events": "events_patrolled", "events_before": "before_patrolled"}
"""Each patrolled cell's count, and the dosage's total of it over the period's cells."""
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
KEYS = ["model", "as_of"]


def suppress_realised(realised: Realised, min_events_shown: int) -> Realised:
    """``realised`` with the dosage's and the patrolled cells' counts under
    ``min_events_shown`` (and those that would give them away) withheld, and a
    ``suppressed`` column on both tables (0 shows every count; the column is still there)."""
    k = checked_min_events(min_events_shown)
    dosage = _dosage(realised.dosage, k)
    return replace(realised, dosage=dosage, cells=_cells(realised.cells, dosage, k))


def _dosage(dosage: pd.DataFrame, k: int) -> pd.DataFrame:
    out = dosage.copy()
    hidden = np.zeros(len(out), dtype=bool)
    if len(out):
        scales = {"events": np.ones(len(out)), "before": _periods_before(out)}
        patrolled = out["patrolled_cells"].to_numpy(np.float64) > 0
        for prefix, scale in scales.items():
            names = [f"{prefix}_{p}" for p in PLACES]
            counts = np.rint(out[names].to_numpy(np.float64) * scale[:, None])
            drop = withheld(counts, k) & patrolled[:, None]
            drop[drop[:, :2].any(axis=1), 2] = True  # the rest beside patrolled or ring
            for row in np.flatnonzero(drop.any(axis=1)):
                drop[row] = _hide_more(counts[row], drop[row], k)
            out[names] = out[names].astype(np.float64).mask(drop)
            hidden |= drop.any(axis=1)
    out["suppressed"] = hidden
    return out


def _cells(cells: pd.DataFrame, dosage: pd.DataFrame, k: int) -> pd.DataFrame:
    """The patrolled cells' counts withheld (``dosage``: as withheld, for the totals)."""
    out = cells.copy()
    hidden = np.zeros(len(out), dtype=bool)
    if len(out):
        found = out[KEYS].merge(dosage, on=KEYS, how="left")
        n_before = _periods_before(found)
        groups = [np.asarray(g) for g in out.groupby(KEYS, sort=False).indices.values()]
        for column, total in CELL_COUNTS.items():
            scale = n_before if column == "events_before" else np.ones(len(out))
            counts = np.rint(out[column].to_numpy(np.float64) * scale)
            drop = withheld(counts, k)
            total_shown = (
                found[total].notna().to_numpy() if total in found else np.ones(len(out), bool)
            )
            for rows in groups:
                if total_shown[rows[0]]:
                    drop[rows] = _hide_more(counts[rows], drop[rows], k)
                elif not drop[rows].any() and not np.isnan(counts[rows]).any():
                    # withheld, the total must not be the sum of the cells shown
                    drop[rows[np.argmin(counts[rows])]] = True
            out[column] = out[column].astype(np.float64).mask(drop)
            hidden |= drop
    out["suppressed"] = hidden
    return out


def _hide_more(counts: FloatArray, drop: BoolArray, k: int) -> BoolArray:
    """``drop`` over counts whose sum is shown, with the smallest count shown withheld too
    while the withheld ones could be told from their sum: under ``k``, or each at the most
    a withheld count can be (``k - 1``) when all of them are under ``k``."""
    drop = drop.copy()
    while drop.any() and not drop.all():
        hidden = counts[drop]
        total = float(np.nansum(hidden))
        told = total < k or (bool((hidden < k).all()) and total >= hidden.size * (k - 1))
        if not told:
            break
        shown = np.flatnonzero(~drop)
        drop[shown[np.argmin(np.where(np.isnan(counts[shown]), np.inf, counts[shown]))]] = True
    return drop


def _periods_before(frame: pd.DataFrame) -> FloatArray:
    """The periods each row's ``before`` means are over (1 where the table lacks them, a
    table made by hand: a mean is then judged as one period's count)."""
    if "periods_before" not in frame:
        return np.ones(len(frame))
    return frame["periods_before"].to_numpy(np.float64)


def suppress_monitor(found: ModelMonitor, min_events_shown: int) -> ModelMonitor:
    """``found`` with each period's ``patrolled_event_share`` null where the events in the
    cells patrolled then (the share times the period's ``events``) are under
    ``min_events_shown``; its flags, computed before, are kept."""
    k = checked_min_events(min_events_shown)
    periods = found.monitor.periods
    if "patrolled_event_share" not in periods:
        return found
    share = periods["patrolled_event_share"].astype(np.float64)
    counts = np.rint(share.to_numpy() * periods["events"].to_numpy(np.float64))
    patrolled = periods["patrolled_area_share"].to_numpy(np.float64) > 0
    drop = withheld(counts, k) & patrolled
    shown = periods.assign(patrolled_event_share=share.mask(drop))
    return replace(found, monitor=replace(found.monitor, periods=shown))
