"""A panel from an events table larger than memory: partitioned Parquet (a folder of event
tables, e.g. ``events/city=NAME/part.parquet``, or a glob pattern) read with dask.dataframe,
each partition counted where it is read (``events_to_panel``: vectorised H3, the same period
and window rules), and only the counts brought together. A spec names such a table as its
``[data] events``; on a cluster the partitions are counted on the workers.

Why not DuckDB's h3 extension: it is a community extension downloaded at run time (not a
PyPI package), which a locked-down deployment cannot fetch; and counting through
``events_to_panel`` per partition keeps one declaration of how events become counts.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hotspots.errors import DataValidationError, InputFileError
from hotspots.features.panel import Panel, events_to_panel, period_range
from hotspots.grid import StudyArea

logger = logging.getLogger(__name__)

COLUMNS = ("occurred_at", "time_precision", "lat", "lng", "category")
"""The event-table columns a panel needs (``ingest.schema``)."""

_GLOB = frozenset("*?[")


def is_partitioned(source: str | Path) -> bool:
    """True when ``source`` names partitions: a folder, or a glob pattern."""
    return Path(source).is_dir() or bool(_GLOB & set(str(source)))


def partition_files(source: str | Path) -> list[Path]:
    """The Parquet partitions ``source`` names, sorted: every ``*.parquet`` under a folder
    (at any depth), or the files a glob pattern matches; each must hold the event-table
    columns a panel needs (``COLUMNS``). InputFileError otherwise, naming the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(source)
    if path.is_dir():
        files, where = sorted(f for f in path.rglob("*.parquet") if f.is_file()), "folder"
    elif _GLOB & set(str(source)):
        found = glob.glob(str(source), recursive=True)
        files, where = sorted(Path(f) for f in found if Path(f).is_file()), "pattern"
    else:
        raise InputFileError(f"{source} is neither a folder nor a glob pattern of Parquet files")
    if not files:
        raise InputFileError(f"no Parquet file (*.parquet) in the {where} {source}")
    for f in files:
        try:
            names = set(pq.read_schema(f).names)
        except (pa.ArrowInvalid, OSError) as err:
            raise InputFileError(f"{f} is not a Parquet file ({err})") from err
        if missing := [c for c in COLUMNS if c not in names]:
            raise InputFileError(
                f"{f} lacks the event-table columns {missing} (an event table as hotspots "
                f"ingest writes it has {list(COLUMNS)})"
            )
    return files


def partition_times(files: Sequence[Path]) -> pd.DataFrame:
    """``occurred_at`` and ``time_precision`` of every event of the partitions (what the
    window rules read: a few bytes per event), read one file at a time."""
    import pyarrow.parquet as pq

    frames = [pq.read_table(f, columns=list(COLUMNS[:2])).to_pandas() for f in files]
    return pd.concat(frames, ignore_index=True)


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
    source: str | Path | Sequence[Path],
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
    event-table Parquet files, e.g. ``events/city=NAME/part.parquet``, a glob, or the files
    themselves), counted one partition at a time on the Dask workers (the current client's,
    else threads here).

    The panel has counts only (``Panel.events`` is None), as a panel read from Parquet.
    """
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as err:
        raise InputFileError(
            f"partitioned events ({source}) are read with Dask: pip install 'hotspots[dask]'"
        ) from err

    files = partition_files(source) if isinstance(source, str | Path) else list(source)
    frame = dd.read_parquet([str(f) for f in files], columns=list(COLUMNS))
    if study_area is not None and k:  # a given area is grown before counting, as a whole
        study_area, k = study_area.grown(k), 0
    parts = [
        dask.delayed(partition_counts)(part, resolution, freq, study_area, start, end, categories)
        for part in frame.to_delayed()
    ]
    logger.info("counting %d partitions of %s", len(parts), source)
    done = _compute(parts) if _on_a_worker() else list(dask.compute(*parts))
    return combine_counts(done, resolution, freq, study_area, k, start, end, categories)


def _on_a_worker() -> bool:
    try:
        from distributed import get_worker
    except ImportError:
        return False
    try:
        get_worker()
    except ValueError:
        return False
    return True


def _compute(parts: list[Any]) -> list[PartCounts]:
    """The partitions counted as tasks of the cluster this task runs on; the task leaves
    its worker's thread while it waits (waiting in it could leave every thread waiting)."""
    from distributed import worker_client

    with worker_client() as client:
        done: list[PartCounts] = client.gather(client.compute(parts))
    return done


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
