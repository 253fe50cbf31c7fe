"""What one model's flagged cells add to another's: the events only it caught, and its churn.

Every force knows its chronic hotspots, which a historical-mean map shows. A model earns its
place by the cells it flags that such a map does not, so the backtest's forecasts are
compared flag by flag: per fold, the top cells of ``model`` and of ``other`` at a cutoff;
the events in cells only ``model`` flags against the events in cells only ``other`` flags,
summed over folds; and how many of ``model``'s flagged cells change from one fold to the
next (folds are consecutive periods in a rolling-origin backtest).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hotspots.errors import ConfigError
from hotspots.evaluation.metrics import Cutoff, rank_cells
from hotspots.evaluation.result import BacktestResult


@dataclass(frozen=True)
class FlagChanges:
    """``model``'s flags against ``other``'s at ``cutoff`` (``k`` cells), over all folds.

    ``events_model_only``: events in cells ``model`` flagged and ``other`` did not, summed
    over folds; ``events_other_only``: the reverse. ``cells_model_only``: mean number of such
    cells per fold. ``churn``: mean share of ``model``'s flagged cells that were not flagged
    in the fold before (NaN with one fold).
    """

    model: str
    other: str
    cutoff: str
    k: int
    events_model_only: int
    events_other_only: int
    cells_model_only: float
    churn: float


def _flags(expected: npt.NDArray[np.float64], cells: npt.NDArray[np.uint64], k: int) -> np.ndarray:
    """Boolean ``(n_folds, n_cells)``: the top ``k`` cells of each fold's forecast."""
    out = np.zeros(expected.shape, dtype=bool)
    for i, row in enumerate(expected):  # one ranking per fold
        out[i, rank_cells(row, cells)[:k]] = True
    return out


def flag_changes(
    result: BacktestResult, model: str, other: str, cutoff: str | Cutoff = "1%"
) -> FlagChanges:
    """Compare the cells ``model`` and ``other`` (models or references) flag at ``cutoff``."""
    for name in (model, other):
        if name not in result.forecasts:
            raise ConfigError(
                f"{name!r} has no forecasts in this backtest; it has {list(result.forecasts)}"
            )
    label = result.cutoff(cutoff)
    cells = result.last_fold.cells
    k = label.k(cells.size)
    mine = _flags(result.forecasts[model], cells, k)
    theirs = _flags(result.forecasts[other], cells, k)
    actual = result.actual
    only_mine = mine & ~theirs
    churn = float(np.mean((mine[1:] & ~mine[:-1]).sum(axis=1) / k)) if len(mine) > 1 else np.nan
    return FlagChanges(
        model=model,
        other=other,
        cutoff=label.label,
        k=k,
        events_model_only=int(actual[only_mine].sum()),
        events_other_only=int(actual[theirs & ~mine].sum()),
        cells_model_only=float(only_mine.sum(axis=1).mean()),
        churn=churn,
    )
