"""Reference rankings: forecasts scored like a model that are not models (the oracle).

A reference is an array of expected counts, one row per fold and one column per panel cell,
that a backtest scores exactly like a model's forecasts. It is never fitted, never selected
and never published: it is a yardstick. The one the project uses is the **oracle**, the true
expected counts of a simulated city (``truth_W.parquet`` of ``hotspots demo-data``): no model
can rank cells better on average, so a model's share of the oracle's PAI says how much of the
learnable pattern it found.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError, DataValidationError, InputFileError
from hotspots.features import Panel
from hotspots.grid import cells_resolution, cells_to_parents, strings_to_cells

FloatArray = npt.NDArray[np.float64]

REFERENCE_KIND = "reference"
"""The ``kinds`` entry of a reference in a ``BacktestResult``."""

ORACLE = "oracle"
"""The name the truth reference goes by in backtests and reports."""

TRUTH_COLUMNS: tuple[str, ...] = ("cell", "period_start", "category", "expected")
"""Columns of a truth file: H3 cell, period start (local, naive), category, expected count."""


def checked_references(
    references: Mapping[str, npt.ArrayLike],
    models: Collection[str],
    order: npt.NDArray[np.intp],
    n_cells: int,
) -> dict[str, FloatArray]:
    """The references as float arrays with rows put in fold order (``order``: the sort of the
    folds as given by ``as_of``); ConfigError or DataValidationError on a bad name or shape."""
    out: dict[str, FloatArray] = {}
    for name, values in references.items():
        if name in models:
            raise ConfigError(f"reference {name!r} has the name of a model; names must differ")
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != (order.size, n_cells):
            raise DataValidationError(
                f"reference {name!r} has shape {arr.shape}; {order.size} folds on {n_cells} "
                f"cells need ({order.size}, {n_cells})"
            )
        if n_bad := int((~np.isfinite(arr)).sum()):
            raise DataValidationError(f"reference {name!r} holds {n_bad} NaN or infinite values")
        out[str(name)] = arr[order]
    return out


def read_truth(path: str | Path) -> pd.DataFrame:
    """A truth file (Parquet with ``TRUTH_COLUMNS``) with cells as uint64 and naive periods."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"truth file {p} does not exist")
    try:
        frame = pd.read_parquet(p)
    except (OSError, ValueError) as err:
        raise InputFileError(f"truth file {p} is not a readable Parquet file: {err}") from err
    missing = [c for c in TRUTH_COLUMNS if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"truth file {p.name} lacks columns {missing}; columns are: {list(frame.columns)}"
        )
    cells = frame["cell"]
    if not pd.api.types.is_integer_dtype(cells):
        # one conversion per distinct cell, not per row
        uniques, codes = np.unique(cells.astype(str).to_numpy(), return_inverse=True)
        try:
            frame["cell"] = strings_to_cells(uniques.tolist())[codes]
        except ValueError as err:
            raise DataValidationError(f"truth file {p.name}: {err}") from err
    starts = pd.DatetimeIndex(frame["period_start"])
    frame["period_start"] = starts.tz_localize(None) if starts.tz is not None else starts
    frame["category"] = frame["category"].astype(str)
    return frame[list(TRUTH_COLUMNS)]


def truth_to_reference(
    truth: pd.DataFrame, panel: Panel, as_of: Sequence[pd.Timestamp], target: Sequence[str]
) -> FloatArray:
    """True expected counts of ``target`` (summed) in the periods starting ``as_of``.

    Returns an array ``(len(as_of), n_cells)`` aligned to ``panel.cells``; truth at a finer
    H3 resolution than the panel is summed into the parent cells; panel cells the truth lacks
    get 0, truth cells outside the panel are left out. DataValidationError if a target
    category or a period is not in the truth, or the truth is coarser than the panel.
    """
    names = set(truth["category"].unique())
    if absent := [c for c in target if c not in names]:
        raise DataValidationError(
            f"target categories {absent} are not in the truth; it has {sorted(names)}"
        )
    periods = pd.DatetimeIndex(list(as_of))
    part = truth[truth["category"].isin(list(target))]
    known = pd.DatetimeIndex(part["period_start"].unique())
    if len(gone := periods[~periods.isin(known)]):
        raise DataValidationError(
            f"the truth has no '{panel.freq}' period starting {gone[0]} "
            f"(it covers {known.min()} to {known.max()})"
        )
    part = part[part["period_start"].isin(periods)]
    cells = _at_resolution(part["cell"].to_numpy(np.uint64), panel.resolution)
    pos = np.searchsorted(panel.cells, cells)  # panel cells are sorted
    pos_ok = np.minimum(pos, panel.cells.size - 1)
    inside = panel.cells[pos_ok] == cells
    rows = periods.get_indexer(pd.DatetimeIndex(part["period_start"]))
    out = np.zeros((len(periods), panel.cells.size), dtype=np.float64)
    np.add.at(out, (rows[inside], pos_ok[inside]), part["expected"].to_numpy(np.float64)[inside])
    return out


def _at_resolution(cells: npt.NDArray[np.uint64], resolution: int) -> npt.NDArray[np.uint64]:
    """``cells`` as their parents at ``resolution`` (one conversion per distinct cell)."""
    if cells.size == 0:
        return cells
    try:
        own = cells_resolution(cells)
    except ValueError as err:
        raise DataValidationError(f"truth cells: {err}") from err
    if own < resolution:
        raise DataValidationError(
            f"the truth is at H3 resolution {own}, coarser than the panel's {resolution}"
        )
    if own == resolution:
        return cells
    uniques, codes = np.unique(cells, return_inverse=True)
    return cells_to_parents(uniques, resolution)[codes]


def oracle_reference(
    path: str | Path, panel: Panel, as_of: Sequence[pd.Timestamp], target: Sequence[str]
) -> dict[str, FloatArray]:
    """``{ORACLE: ...}`` from a truth file, ready for ``backtest(..., references=...)``."""
    if not target:
        raise ConfigError("an oracle needs at least one target category")
    return {ORACLE: truth_to_reference(read_truth(path), panel, as_of, target)}
