"""The events a publish (or a retrain) reads: the configured export plus every batch posted to
the API (``hotspots.ingest.event_store``), read once per reading settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hotspots.errors import ConfigError
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
        base = load_events(self.path, ingest_options(**kwargs)) if self.path else None
        tz = base.timezone if base else str(kwargs.get("timezone") or "UTC")
        store = self.posted
        posted = store.read(tz) if store is not None else None
        if posted is None or store is None:
            if base is None:
                raise ConfigError(
                    "no events to forecast from: set HOTSPOTS_EVENTS_PATH or `hotspots serve "
                    "--events`, or post some to /v1/events"
                )
            return base
        if base is None:
            return LoadedEvents(posted, tz, store.folder, "")
        return with_posted(base, posted)
