"""Reading and writing the normalised event table (Parquet with hotspots metadata)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hotspots.atomic import atomic_path
from hotspots.errors import InputFileError
from hotspots.ingest.schema import EVENT_COLUMNS, PRECISION_DTYPE

META_KEY = b"hotspots.events"


def write_events(
    events: pd.DataFrame, path: str | Path, metadata: dict[str, Any], durable: bool = False
) -> None:
    """Write an event table atomically, with ``metadata`` (JSON) in the Parquet footer
    (``durable``: on disk, fsynced, when this returns)."""
    table = pa.Table.from_pandas(events.loc[:, list(EVENT_COLUMNS)], preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[META_KEY] = json.dumps(metadata, default=str).encode()
    with atomic_path(path, durable=durable) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp, compression="snappy")


def is_event_table(path: str | Path) -> bool:
    """True for a Parquet file written by ``write_events``."""
    try:
        return META_KEY in (pq.read_schema(path).metadata or {})
    except (pa.ArrowInvalid, OSError):
        return False


def read_events(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read an event table and its metadata; InputFileError if it is not one."""
    p = Path(path)
    if not is_event_table(p):
        raise InputFileError(f"{p.name} is not a hotspots event table (no {META_KEY.decode()})")
    table = pq.read_table(p)
    meta = json.loads(table.schema.metadata[META_KEY])
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    frame["time_precision"] = frame["time_precision"].astype(str).astype(PRECISION_DTYPE)
    return frame, meta
