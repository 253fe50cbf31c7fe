"""Incidents posted to the API: validated like ``hotspots ingest``, stored durably in batches.

Each accepted post becomes one event table ``<state>/events/batch-<time>-<id>.parquet``,
written to a temporary name, flushed to disk (fsync), renamed, and the folder flushed, all
before the API answers: an acknowledged batch survives a crash, and a crash mid-write leaves
no half batch (only a hidden temporary file, which is never read).

Rows with an ``id`` that is already stored (in the served events or an earlier batch) are
not stored again, so a client may retry a post whose answer it did not get. Rows without an
id get ``<batch>:r<row>`` and cannot be recognised on a retry.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow.parquet as pq

from hotspots.atomic import BatchFolder
from hotspots.errors import HotspotsError, InputFileError
from hotspots.ingest import IngestOptions, IngestResult, ingest_file, read_events, write_events
from hotspots.ingest.coords import Area
from hotspots.ingest.jsonrecords import records_table
from hotspots.ingest.validate import ValidationReport

logger = logging.getLogger(__name__)

CSV_TYPES = ("text/csv", "application/csv")
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")
MEDIA_TYPES = CSV_TYPES + JSONL_TYPES
"""Body types ``POST /v1/events`` reads."""
INCOMING = ".incoming"
"""The folder (inside the store's) where request bodies are read; scratch only."""


def id_hashes(ids: pd.Series) -> npt.NDArray[np.uint64]:
    """64-bit hashes of event ids (equal ids hash alike; a collision is ~1 in 10^19/pair)."""
    return np.asarray(pd.util.hash_array(ids.astype(str).to_numpy(object)), dtype=np.uint64)


def read_body(body: bytes, media_type: str, folder: Path, options: IngestOptions) -> IngestResult:
    """Validate a posted CSV or JSON-lines body exactly as ``hotspots ingest`` reads a file.

    The body goes to a temporary file in ``folder`` (removed after): CSV as it is, JSON
    lines as a Parquet table of its fields.
    """
    if not body.strip():
        raise InputFileError("the request body is empty: send CSV or JSON lines")
    table = None if media_type in CSV_TYPES else records_table(body, "the body")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = Path(tmp) / ("request-body.csv" if table is None else "request-body.parquet")
        if table is None:
            path.write_bytes(body)
        else:
            pq.write_table(table, path)
        label = "the posted CSV" if table is None else "the posted JSON lines"
        try:
            result = ingest_file(path, options)
        except HotspotsError as exc:  # the client sent a body, not a file of that name
            exc.args = tuple(_renamed(a, path.name, label) for a in exc.args)
            if isinstance(report := getattr(exc, "report", None), ValidationReport):
                _rename_report(report, path.name, label)  # a 422's report, as the answer's
            raise
        _rename_report(result.report, path.name, label)
        return result


def _renamed(arg: object, name: str, label: str) -> object:
    return arg.replace(name, label) if isinstance(arg, str) else arg


def _rename_report(report: ValidationReport, name: str, label: str) -> None:
    report.source = label
    report.notes = [note.replace(name, label) for note in report.notes]


@dataclass(frozen=True)
class Appended:
    """What one post stored: the batch id (None if nothing), rows stored and already stored."""

    batch: str | None
    stored: int
    already_stored: int
    first_event: str | None
    last_event: str | None


class EventStore(BatchFolder):
    """The batches of posted events in ``folder``, and the ids stored so far.

    ``base_ids`` returns the ids of the events the service was started with; it is called
    once, on the first append, so a service that never receives a post never hashes them.
    """

    def __init__(self, folder: Path, base_ids: Callable[[], pd.Series] | None = None) -> None:
        self.folder = folder
        self._base_ids = base_ids
        self._known: npt.NDArray[np.uint64] | None = None
        self._lock = threading.Lock()

    def read(self, timezone: str) -> pd.DataFrame | None:
        """Every stored batch as one event table in ``timezone`` (None when there are none)."""
        frames = []
        for path in self.batches():
            events, _ = read_events(path)
            events["occurred_at"] = events["occurred_at"].dt.tz_convert(timezone)
            frames.append(events)
        return pd.concat(frames, ignore_index=True) if frames else None

    def append(self, result: IngestResult, meta: dict[str, Any]) -> Appended:
        """Store the accepted events whose ids are new, durably, as one batch."""
        events = result.events
        with self._lock:
            known = self._known_ids()
            generated = _generated_ids(events)
            seen = np.isin(id_hashes(events["event_id"]), known) & ~generated
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            batch = f"{stamp}-{uuid.uuid4().hex[:8]}"
            fresh = events.loc[~seen].reset_index(drop=True)
            if fresh.empty:
                return Appended(None, 0, int(seen.sum()), None, None)
            fresh["event_id"] = _batch_ids(fresh, generated[~seen], batch)
            path = self.folder / f"batch-{batch}.parquet"
            write_events(fresh, path, {**meta, "batch": batch}, durable=True)
            self._known = np.union1d(known, id_hashes(fresh["event_id"]))
        times = fresh["occurred_at"]
        logger.info("stored batch %s: %d events", batch, len(fresh))
        return Appended(
            batch, len(fresh), int(seen.sum()), times.min().isoformat(), times.max().isoformat()
        )

    def _known_ids(self) -> npt.NDArray[np.uint64]:
        if self._known is None:
            parts = [id_hashes(self._base_ids())] if self._base_ids is not None else []
            for path in self.batches():
                ids = pq.read_table(path, columns=["event_id"]).column(0).to_pandas()
                parts.append(id_hashes(ids))
            self._known = np.unique(np.concatenate(parts)) if parts else np.empty(0, np.uint64)
        return self._known


def _generated_ids(events: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Rows whose id ingest made up (``r<source row>``: the row had no id)."""
    made = np.char.add("r", events["source_row"].to_numpy().astype(str))
    return np.asarray(events["event_id"].astype(str).to_numpy() == made, dtype=bool)


def _batch_ids(events: pd.DataFrame, generated: npt.NDArray[np.bool_], batch: str) -> pd.Series:
    """Ids as given; ``<batch>:r<row>`` for the rows that had none."""
    ids = events["event_id"].astype("string")
    if generated.any():
        rows = events["source_row"].to_numpy()[generated].astype(str)
        ids[generated] = np.char.add(f"{batch}:r", rows)
    return ids


def bbox_options(options: IngestOptions, bbox: tuple[float, float, float, float]) -> IngestOptions:
    """``options`` with the study area set to ``bbox`` (south, west, north, east): a post
    of a few rows has no useful median location for ingest's distance screen."""
    return replace(options, area=Area(bbox=bbox))
