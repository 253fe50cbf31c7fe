"""Patrol logs stored durably, as ``ingest/event_store.py`` stores posted events.

Each accepted post or import becomes one Parquet table ``<folder>/batch-<time>-<id>.parquet``,
written to a temporary name, flushed to disk (fsync), renamed, and the folder flushed, all
before the caller is answered: an acknowledged batch survives a crash, and a crash mid-write
leaves no half batch (only a hidden temporary file, which is never read).

Rows whose ``patrol_id`` is already stored are not stored again (the first stored wins), so
a client may retry a post whose answer it did not get. Unlike the event store, appends hold
a lock file too, so two processes (service workers, the CLI) never store one id twice.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hotspots.atomic import BatchFolder, atomic_path, file_lock

logger = logging.getLogger(__name__)

PATROLS_DIR = "patrols"
"""The store's folder inside the service's state folder (the CLI imports there too)."""
LOCK_FILE = ".append.lock"
SCHEMA = pa.schema(
    [
        ("patrol_id", pa.string()),
        ("start", pa.timestamp("ns", tz="UTC")),
        ("end", pa.timestamp("ns", tz="UTC")),
        ("minutes", pa.float64()),
        ("unit", pa.string()),
        ("tactic", pa.string()),
        ("place_kind", pa.string()),
        ("place", pa.string()),
        ("cells", pa.list_(pa.uint64())),
        ("resolution", pa.int8()),
        ("source_row", pa.int64()),
    ]
)
"""The stored patrol table: times in UTC, each patrol's cells as a list of uint64."""


def id_hashes(ids: pd.Series) -> npt.NDArray[np.uint64]:
    """64-bit hashes of patrol ids (equal ids hash alike)."""
    return np.asarray(pd.util.hash_array(ids.astype(str).to_numpy(object)), dtype=np.uint64)


@dataclass(frozen=True)
class Stored:
    """What one append stored: the batch id (None if nothing), rows stored and already stored."""

    batch: str | None
    stored: int
    already_stored: int


def empty_patrols() -> pd.DataFrame:
    """A patrol table with no rows and the stored dtypes."""
    return SCHEMA.empty_table().to_pandas()


class PatrolStore(BatchFolder):
    """The stored patrol batches in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._known: npt.NDArray[np.uint64] | None = None
        self._seen: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def read(self) -> pd.DataFrame:
        """Every stored patrol, oldest batch first (an empty table when there are none)."""
        tables = [pq.read_table(p, schema=SCHEMA) for p in self.batches()]
        if not tables:
            return empty_patrols()
        return pa.concat_tables(tables).to_pandas()

    def append(self, patrols: pd.DataFrame, meta: dict[str, Any]) -> Stored:
        """Store, durably and as one batch, the patrols whose ids are not stored yet."""
        with self._lock, file_lock(self.folder / LOCK_FILE):
            known = self._known_ids()
            hashes = id_hashes(patrols["patrol_id"])
            seen = np.isin(hashes, known)
            fresh = patrols.loc[~seen].reset_index(drop=True)
            if fresh.empty:
                return Stored(None, 0, int(seen.sum()))
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            batch = f"{stamp}-{uuid.uuid4().hex[:8]}"
            table = pa.Table.from_pandas(fresh, schema=SCHEMA, preserve_index=False)
            table = table.replace_schema_metadata(
                {"hotspots": _meta_json({**meta, "batch": batch})}
            )
            path = self.folder / f"batch-{batch}.parquet"
            with atomic_path(path, durable=True) as tmp:
                pq.write_table(table, tmp)
            self._known = np.union1d(known, hashes[~seen])
            self._seen = self.generation()
        logger.info("stored patrol batch %s: %d patrols", batch, len(fresh))
        return Stored(batch, len(fresh), int(seen.sum()))

    def _known_ids(self) -> npt.NDArray[np.uint64]:
        """Hashes of every stored id, re-read when another process added a batch."""
        generation = self.generation()
        if self._known is None or generation != self._seen:
            parts = [
                id_hashes(pq.read_table(p, columns=["patrol_id"]).column(0).to_pandas())
                for p in self.batches()
            ]
            self._known = np.unique(np.concatenate(parts)) if parts else np.empty(0, np.uint64)
            self._seen = generation
        return self._known


def _meta_json(meta: dict[str, Any]) -> str:
    return json.dumps(meta, default=str)
