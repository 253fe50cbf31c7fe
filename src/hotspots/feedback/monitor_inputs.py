"""The feedback-loop monitor's inputs as its arrays (periods x cells): the cells a model
flagged, from its forecasts (``top_share_flags``, as the backtest ranks them) or from the
rankings it served (``ranked_to_flags``), and the patrol minutes of a dosage frame
(``dosage_to_array``). ``feedback.monitor`` computes the figures on them and re-exports these.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import DataValidationError
from hotspots.evaluation.metrics import flagged_count, rank_cells

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
DOSAGE_COLUMNS = ("period_start", "cell", "minutes")
"""The optional dosage frame: patrol minutes per (period start, uint64 cell)."""


def top_share_flags(expected: npt.ArrayLike, cells: npt.ArrayLike, coverage: float) -> BoolArray:
    """Per row of ``expected`` (periods x cells), the cells in the top ``coverage`` of the
    area, ranked as the backtest ranks them (ties by cell id)."""
    mu = np.atleast_2d(np.asarray(expected, dtype=np.float64))
    ids = np.asarray(cells, dtype=np.uint64)
    out = np.zeros(mu.shape, dtype=bool)
    k = flagged_count(ids.size, coverage)
    for t in range(mu.shape[0]):  # one ranking per period, vectorised over cells
        out[t, rank_cells(mu[t], ids)[:k]] = True
    return out


def ranked_to_flags(
    ranked: Sequence[npt.ArrayLike], cells: npt.ArrayLike, coverage: float
) -> BoolArray:
    """Flags from served rankings (cells, rank 1 first, one array per period): the first
    ``coverage`` of the study cells; ranked cells outside ``cells`` are ignored."""
    ids = np.asarray(cells, dtype=np.uint64)
    k = flagged_count(ids.size, coverage)
    out = np.zeros((len(ranked), ids.size), dtype=bool)
    for t, order in enumerate(ranked):
        top = np.asarray(order, dtype=np.uint64)[:k]
        out[t] = np.isin(ids, top)
    return out


def dosage_to_array(
    dosage: pd.DataFrame | None, periods: pd.DatetimeIndex, cells: npt.ArrayLike
) -> FloatArray | None:
    """Patrol minutes (periods x cells) from a ``DOSAGE_COLUMNS`` frame; None for None."""
    if dosage is None:
        return None
    missing = [c for c in DOSAGE_COLUMNS if c not in dosage.columns]
    if missing:
        raise DataValidationError(
            f"dosage frame lacks columns {missing}; columns are: {list(dosage.columns)}"
        )
    ids = np.asarray(cells, dtype=np.uint64)
    out = np.zeros((len(periods), ids.size), dtype=np.float64)
    t = periods.get_indexer(pd.DatetimeIndex(dosage["period_start"]))
    pos = np.searchsorted(ids, dosage["cell"].to_numpy(np.uint64))
    pos = np.minimum(pos, max(ids.size - 1, 0))
    ok = (t >= 0) & (ids.size > 0) & (ids[pos] == dosage["cell"].to_numpy(np.uint64))
    np.add.at(out, (t[ok], pos[ok]), dosage["minutes"].to_numpy(np.float64)[ok])
    return out
