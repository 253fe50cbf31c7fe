"""The patrol plans a service served, one small JSON record each, so the realised
effectiveness scores the plans officers were given, not plans grown again.

Layout::

    <state>/plans/plan-<sha256 of the plan's JSON document>.json
    <state>/plans/.record.lock        held while one process records a plan

A plan is recorded once: when the service pre-builds it at publish time (the default budget)
or when it is first built for a request (any other parameters), never per request, so the
pre-built bytes stay a dict lookup. The name is the plan document's ETag (its JSON bytes'
sha256: what ``/v1/plans/latest?format=json`` answers as ``ETag``), so the same plan asked as
JSON and as GeoJSON, by two workers, or again after a restart is one record. Each record is
written as the other stores write (``ingest/event_store.py``): to a hidden temporary name,
flushed to disk, renamed, and the folder flushed, under a lock file so two processes never
both write one plan; a crash leaves no half record.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hotspots.atomic import BatchFolder, atomic_path, file_lock

logger = logging.getLogger(__name__)

PLANS_DIR = "plans"
"""The store's folder inside the service's state folder."""
PLAN_GLOB = "plan-*.json"
LOCK_FILE = ".record.lock"


def record_name(etag: str) -> str:
    """The file name of the plan whose JSON document has ``etag`` (``"<sha256 hex>"``)."""
    digest = etag.strip('"')
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"a plan record is named by a sha256 ETag, got {etag!r}")
    return f"plan-{digest}.json"


class PlanStore(BatchFolder):
    """The recorded served plans in ``folder`` (``batches`` lists them, by name)."""

    pattern = PLAN_GLOB

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def record(self, record: dict[str, Any]) -> bool:
        """Store ``record`` (a plan's ``plan_record``) durably unless a record of the same
        ``etag`` is stored already; whether it was written now. Cheap for a plan recorded
        by this process before (a set lookup)."""
        name = record_name(str(record["etag"]))
        if name in self._known:
            return False
        with self._lock, file_lock(self.folder / LOCK_FILE):
            path = self.folder / name
            if path.exists():
                self._known.add(name)
                return False
            stamped = {**record, "recorded_at": _now()}
            with atomic_path(path, durable=True) as tmp:
                tmp.write_text(json.dumps(stamped, separators=(",", ":")), encoding="utf-8")
            self._known.add(name)
        logger.info("recorded served plan %s (%s)", name, record.get("first"))
        return True

    def read(self) -> list[dict[str, Any]]:
        """Every recorded plan, by the period it is for, then when it was recorded; a record
        that cannot be read is logged and left out."""
        out = []
        for path in self.batches():
            try:
                out.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError) as err:
                logger.error("served plan record %s not read: %s", path, err)
        return sorted(out, key=lambda r: (str(r.get("period_start")), str(r.get("recorded_at"))))


def plan_record(
    document: dict[str, Any],
    etag: str,
    *,
    versions: dict[str, str | None],
    params: dict[str, Any],
    first: str,
) -> dict[str, Any]:
    """What the store keeps of one plan document: its ETag, the parameters it was asked
    with, the model version of each crime type, the period, and each area's cells (what the
    effectiveness needs), without the boundaries, hours and reasons."""
    return {
        "etag": etag,
        "first": first,
        "as_of": document["as_of"],
        "period_start": document["period_start"],
        "freq": document["freq"],
        "resolution": document["resolution"],
        "models": versions,
        "params": params,
        "types": document["types"],
        "summary": document["summary"],
        "areas": [
            {
                "rank": a["rank"],
                "area_km2": a["area_km2"],
                "expected_count": a["expected_count"],
                "cells": a["cells"],
            }
            for a in document["areas"]
        ],
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
