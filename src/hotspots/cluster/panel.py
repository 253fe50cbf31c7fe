"""A panel from an events table larger than memory: partitioned Parquet read with
dask.dataframe, each partition counted where it is read (``events_to_panel``: vectorised
H3, the same period and window rules), and only the counts brought together.

Why not DuckDB's h3 extension: it is a community extension downloaded at run time (not a
PyPI package), which a locked-down deployment cannot fetch; and counting through
``events_to_panel`` per partition keeps one declaration of how events become counts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hotspots.errors import DataValidationError
from hotspots.features import Panel, events_to_panel
from hotspots.features.panel import period_range
from hotspots.grid import StudyArea

logger = logging.getLogger(__name__)

COLUMNS = ("occurred_at", "time_precision", "lat", "lng", "category")
"""The event-table columns a panel needs (``ingest.schema``)."""


@dataclass(frozen=True)
class PartCounts:
    """One partition's non-zero counts (cell, period_start, category, n) and what it left
    out, as ``Panel`` counts it."""

    counts: pd.DataFrame
    cells: np.ndarray
    n_outside: int
    n_out_of_range: int
    n_other_category: int


def partition_counts(
    events: pd.DataFrame,
    resolution: int,
    freq: str,
    study_area: StudyArea | None,
    start: Any,
    end: Any,
    categories: Sequence[str] | None,
) -> PartCounts:
    """``events_to_panel`` of one partition, as its non-zero counts."""
    if events.empty:
        return PartCounts(_empty(), np.empty(0, np.uint64), 0, 0, 0)
    try:
        p = events_to_panel(
            events, resolution, freq, study_area=study_area, start=start, end=end,
            categories=categories,
        )  # fmt: skip
    except DataValidationError:
        if study_area is not None:
            raise
        return PartCounts(_empty(), np.empty(0, np.uint64), 0, len(events), 0)  # none in range
    c, t, i = np.nonzero(p.counts)
    frame = pd.DataFrame(
        {
            "cell": p.cells[i],
            "period_start": p.periods.to_numpy()[t],
            "category": np.asarray(p.categories, dtype=object)[c],
            "n": p.counts[c, t, i].astype(np.int64),
        }
    )
    return PartCounts(frame, p.cells, p.n_outside, p.n_out_of_range, p.n_other_category)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cell": np.empty(0, np.uint64),
            "period_start": np.empty(0, "datetime64[ns]"),
            "category": np.empty(0, object),
            "n": np.empty(0, np.int64),
        }
    )


def parquet_to_panel(
    source: str | Path,
    resolution: int = 9,
    freq: str = "W",
    *,
    study_area: StudyArea | None = None,
    k: int = 0,
    start: Any = None,
    end: Any = None,
    categories: Sequence[str] | None = None,
) -> Panel:
    """The panel ``events_to_panel`` makes of every event in ``source`` (a folder of
    event-table Parquet files, e.g. ``events/city=NAME/part.parquet``, or a glob), counted
    one partition at a time on the Dask workers (the current client's, else threads here).

    The panel has counts only (``Panel.events`` is None), as a panel read from Parquet.
    """
    import dask
    import dask.dataframe as dd

    frame = dd.read_parquet(str(source), columns=list(COLUMNS))
    if study_area is not None and k:  # a given area is grown before counting, as a whole
        study_area, k = study_area.grown(k), 0
    parts = [
        dask.delayed(partition_counts)(part, resolution, freq, study_area, start, end, categories)
        for part in frame.to_delayed()
    ]
    logger.info("counting %d partitions of %s", len(parts), source)
    done: list[PartCounts] = list(dask.compute(*parts))
    return combine_counts(done, resolution, freq, study_area, k, start, end, categories)


def combine_counts(
    parts: Sequence[PartCounts],
    resolution: int,
    freq: str,
    study_area: StudyArea | None,
    k: int,
    start: Any,
    end: Any,
    categories: Sequence[str] | None,
) -> Panel:
    """One dense panel from partitions' counts, as ``events_to_panel`` of them all."""
    table = pd.concat([p.counts for p in parts], ignore_index=True)
    table = table.groupby(["category", "period_start", "cell"], as_index=False).agg(n=("n", "sum"))
    if study_area is None:
        seen = [p.cells for p in parts if p.cells.size]
        if not seen:
            raise DataValidationError("no event of the partitions falls in the window")
        study_area = StudyArea(np.unique(np.concatenate(seen)), resolution)
    area = study_area.grown(k) if k else study_area
    cats = tuple(categories) if categories is not None else tuple(sorted(set(table["category"])))
    first = start if start is not None else table["period_start"].min()
    last = end if end is not None else table["period_start"].max() + pd.Timedelta(1, "ns")
    periods = period_range(first, last, freq)
    counts = np.zeros((len(cats), len(periods), len(area)), dtype=np.int32)
    c = pd.Index(cats).get_indexer(pd.Index(table["category"]))
    t = periods.get_indexer(pd.DatetimeIndex(table["period_start"]))
    i = area.index_of(table["cell"].to_numpy(np.uint64))
    counts[c, t, i] = table["n"].to_numpy()
    outside = sum(p.n_outside for p in parts)
    out_of_range = sum(p.n_out_of_range for p in parts)
    other = sum(p.n_other_category for p in parts)
    return Panel(counts, area.cells, periods, cats, freq, resolution, outside, out_of_range, other)
