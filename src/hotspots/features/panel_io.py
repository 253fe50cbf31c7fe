"""Panel files: non-zero counts as Parquet rows, cells and periods in the schema metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hotspots.atomic import atomic_path
from hotspots.errors import InputFileError, IntegrityError
from hotspots.features.panel import _DROPPED, _PANDAS_FREQ, Panel
from hotspots.grid import cells_to_strings, strings_to_cells

META_KEY = b"hotspots.panel"
FORMAT_VERSION = 1


def _meta(panel: Panel) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "freq": panel.freq,
        "resolution": panel.resolution,
        "categories": list(panel.categories),
        "cells": cells_to_strings(panel.cells).tolist(),
        "periods": np.datetime_as_string(panel.periods.values, unit="D").tolist(),
        **{k: int(getattr(panel, k)) for k in _DROPPED},
    }


def write_panel(panel: Panel, path: str | Path) -> None:
    """Write the non-zero counts atomically, so all-zero cells and periods round-trip."""
    table = pa.Table.from_pandas(
        panel.to_frame(include_total=False, nonzero_only=True), preserve_index=False
    )
    meta = {**(table.schema.metadata or {}), META_KEY: json.dumps(_meta(panel)).encode()}
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp)


def read_panel(path: str | Path) -> Panel:
    """Read a panel written by ``write_panel``."""
    p = Path(path)
    try:
        table = pq.read_table(p)
    except (OSError, pa.ArrowException) as err:
        raise InputFileError(f"cannot read panel file {p}: {err}") from err
    raw = (table.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise InputFileError(f"{p} is not a hotspots panel: no {META_KEY.decode()!r} metadata")
    try:
        meta = json.loads(raw)
        cells = strings_to_cells(meta["cells"])
        periods = pd.DatetimeIndex(meta["periods"]).as_unit("ns")
        cats, freq, res = tuple(meta["categories"]), meta["freq"], int(meta["resolution"])
        dropped = {k: int(meta[k]) for k in _DROPPED}
    except (KeyError, TypeError, ValueError) as err:
        raise InputFileError(f"panel file {p} has broken metadata: {err!r}") from err
    counts = np.zeros((len(cats), len(periods), cells.size), dtype=np.int32)
    c = pd.Index(cats).get_indexer(table.column("category").to_pandas())
    t = periods.get_indexer(pd.DatetimeIndex(table.column("period_start").to_numpy()))
    i = pd.Index(cells).get_indexer(table.column("cell").to_numpy())
    if (c < 0).any() or (t < 0).any() or (i < 0).any():
        raise IntegrityError(f"panel file {p} has rows outside its stored cells/periods")
    counts[c, t, i] = table.column("count").to_numpy()
    if periods.size and freq in _PANDAS_FREQ:
        periods = pd.DatetimeIndex(periods, freq=_PANDAS_FREQ[freq])
    return Panel(
        counts,
        cells,
        periods,
        cats,
        freq,
        res,
        n_outside=dropped["n_outside"],
        n_out_of_range=dropped["n_out_of_range"],
        n_other_category=dropped["n_other_category"],
    )
