"""Static per-cell covariates as data: a panel may carry them, a forecaster reads them aligned.

A covariate table is a DataFrame indexed by H3 cell (uint64) with numeric columns, as
``features.covariates.cell_covariates`` builds from map layers. ``covariates_on_cells`` puts
it on a fitted model's cells: cells the table lacks are missing (NaN), not an error.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError


def covariates_on_cells(
    covariates: pd.DataFrame | None, cells: npt.NDArray[np.uint64]
) -> tuple[tuple[str, ...], npt.NDArray[np.float32]]:
    """Covariate names and values ``(n_cells, k)`` on ``cells`` (missing cells: NaN)."""
    if covariates is None:
        return (), np.empty((cells.size, 0), dtype=np.float32)
    if not isinstance(covariates, pd.DataFrame):
        raise ConfigError(f"covariates must be a DataFrame indexed by cell, got {type(covariates)}")
    try:
        index = pd.Index(np.asarray(covariates.index, dtype=np.uint64))
        values = covariates.to_numpy(dtype=np.float32)
    except (TypeError, ValueError, OverflowError) as err:
        raise ConfigError(
            f"covariates must have uint64 cells as index and numeric columns; columns are "
            f"{list(covariates.columns)}: {err}"
        ) from err
    if not index.is_unique:
        raise ConfigError("covariates have repeated cells in their index")
    pos = index.get_indexer(pd.Index(cells))
    out = np.full((cells.size, values.shape[1]), np.nan, dtype=np.float32)
    out[pos >= 0] = values[pos[pos >= 0]]
    return tuple(str(c) for c in covariates.columns), out
