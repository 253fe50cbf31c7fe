"""The events a publish (or a retrain) reads: the configured export plus every batch posted to
the API (``hotspots.ingest.event_store``), read once per reading settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hotspots.errors import ConfigError
from hotspots.ingest import IngestOptions
from hotspots.ingest.event_store import EventStore
from hotspots.jobs.data import (
    LoadedEvents,
    event_options,
    ingest_options,
    load_events,
    with_posted,
)


class EventCache:
    """Events read once per (file, reading settings) while loading several models: the
    configured events plus every batch posted to the API (an event id counts once)."""

    def __init__(self, path: Path | None, posted: EventStore | None = None) -> None:
        self.path = path
        self.posted = posted
        self._loaded: dict[str, LoadedEvents] = {}

    def get(self, manifest: Mapping[str, Any]) -> LoadedEvents:
        """The events for the model of ``manifest``."""
        kwargs = event_options(manifest)
        key = repr(sorted(kwargs.items()))
        if key not in self._loaded:
            self._loaded[key] = self._load(kwargs)
        return self._loaded[key]

    def _load(self, kwargs: dict[str, Any]) -> LoadedEvents:
        return read_with_posted(self.path, ingest_options(**kwargs), self.posted)[0]


def read_with_posted(
    path: Path | None, options: IngestOptions, posted: EventStore | None
) -> tuple[LoadedEvents, int]:
    """The events of ``path`` read with ``options`` plus every batch stored in ``posted``,
    in the export's timezone (``options``' without one), an event id counting once: what
    the service forecasts from, and ``hotspots forecast|plan --state-dir``. Also how many
    posted events were added (those whose id was not read already)."""
    base = load_events(path, options) if path else None
    tz = base.timezone if base else str(options.timezone or "UTC")
    events = posted.read(tz) if posted is not None else None
    if events is None or posted is None:
        if base is None:
            raise ConfigError(
                "no events to forecast from: set HOTSPOTS_EVENTS_PATH or `hotspots serve "
                "--events`, or post some to /v1/events"
            )
        return base, 0
    if base is None:
        return LoadedEvents(events, tz, posted.folder, ""), len(events)
    both = with_posted(base, events)
    return both, len(both.events) - len(base.events)
