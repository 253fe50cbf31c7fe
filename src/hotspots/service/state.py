"""What the service serves: one immutable ``Served`` per model name, swapped atomically.

A request reads ``state.served`` once and answers from that mapping alone, so a promote
that swaps the mapping (one reference assignment) never mixes two versions in a response.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.config import Settings
from hotspots.errors import ConfigError, DataValidationError, HotspotsError, ModelNotFoundError
from hotspots.features import Panel, events_to_panel
from hotspots.forecasters import Forecaster
from hotspots.grid import StudyArea
from hotspots.jobs.data import (
    LoadedEvents,
    event_options,
    ingest_options,
    load_events,
    whole_periods_end,
    whole_periods_start,
)
from hotspots.registry import LoadedModel, Registry
from hotspots.service.audit import AuditLog
from hotspots.service.keys import KeyStore
from hotspots.service.publish import publish_forecast
from hotspots.service.snapshot import Snapshot
from hotspots.service.snapshot_store import SnapshotStore, as_of_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Served:
    """One model version as served: the model, its snapshot and each cell's recent counts.

    ``positions[h][i]`` is the rank position (0 = rank 1) in period ``h`` of the model's
    ``i``-th cell; ``history`` holds the target counts per model cell (rows) of the
    ``history_periods`` periods before ``as_of``.
    """

    name: str
    version: str
    model: Forecaster
    manifest: Mapping[str, Any]
    snapshot: Snapshot
    positions: tuple[npt.NDArray[np.int64], ...]
    history: npt.NDArray[np.int64]
    history_periods: tuple[pd.Timestamp, ...]

    @property
    def label(self) -> str:
        """``name/version``, as the audit log records it."""
        return f"{self.name}/{self.version}"

    @property
    def cells(self) -> npt.NDArray[np.uint64]:
        """The model's study cells, sorted."""
        return np.asarray(self.model.cells_, dtype=np.uint64)


class EventCache:
    """Events read once per (file, reading settings) while loading several models."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._loaded: dict[str, LoadedEvents] = {}

    def get(self, manifest: Mapping[str, Any]) -> LoadedEvents:
        """The events for the model of ``manifest``."""
        if self.path is None:
            raise ConfigError(
                "no events to forecast from: set HOTSPOTS_EVENTS_PATH or `hotspots serve --events`"
            )
        kwargs = event_options(manifest)
        key = repr(sorted(kwargs.items()))
        if key not in self._loaded:
            self._loaded[key] = load_events(self.path, ingest_options(**kwargs))
        return self._loaded[key]


def history_panel(model: Forecaster, events: pd.DataFrame) -> tuple[Panel, pd.Timestamp]:
    """The model's study cells counted over the events' whole periods, and the ``as_of``
    that follows them (the next forecast to publish)."""
    freq = model.freq_
    as_of = whole_periods_end(events, freq)
    start = whole_periods_start(events, freq)
    if start >= as_of:
        raise DataValidationError(
            f"the events cover no whole {freq} period (first {start.date()}, as_of {as_of.date()})"
        )
    area = StudyArea(np.asarray(model.cells_, dtype=np.uint64), model.resolution_)
    panel = events_to_panel(events, freq=freq, study_area=area, start=start, end=as_of)
    return panel, as_of


def recent_counts(
    panel: Panel, cells: npt.NDArray[np.uint64], target: tuple[str, ...], n: int
) -> tuple[npt.NDArray[np.int64], tuple[pd.Timestamp, ...]]:
    """Target counts per cell (rows aligned to ``cells``) of the panel's last ``n`` periods."""
    idx = [panel.categories.index(c) for c in target if c in panel.categories]
    take = slice(max(0, len(panel.periods) - n), len(panel.periods))
    counts = panel.counts[idx, take].sum(axis=0, dtype=np.int64).T  # (n_cells, n)
    out = np.zeros((cells.size, counts.shape[1]), dtype=np.int64)
    found = StudyArea(panel.cells, panel.resolution).index_of(cells)
    out[found >= 0] = counts[found[found >= 0]]
    return out, tuple(pd.Timestamp(p) for p in panel.periods[take])


def _issued_at(store: SnapshotStore, name: str, version: str, as_of: pd.Timestamp) -> Any:
    """The issue time of a saved snapshot of this version and ``as_of`` (None: publish new),
    so restarts and sibling workers serve the same bytes and ETag."""
    try:
        metas = store.list(name)
    except (HotspotsError, OSError, ValueError):
        return None
    key = as_of_key(as_of)
    same = [m for m in metas if m.get("version") == version and m.get("as_of") == key]
    return same[-1]["issued_at"] if same else None


def build_served(
    name: str, loaded: LoadedModel, events: LoadedEvents, settings: Settings, store: SnapshotStore
) -> Served:
    """Publish the next forecast of a loaded model from ``events`` and save it for replay."""
    model = loaded.forecaster
    panel, as_of = history_panel(model, events.events)
    options: dict[str, Any] = {
        "name": name,
        "version": loaded.version,
        "as_of": as_of,
        "horizon": settings.forecast_horizon,
        "min_events_shown": settings.min_events_shown,
    }
    issued = _issued_at(store, name, loaded.version, as_of)
    snapshot = publish_forecast(model, panel, issued_at=issued, **options)
    try:
        store.save(snapshot)
    except ConfigError:  # the events changed since that issue: this is a new forecast
        snapshot = publish_forecast(model, panel, **options)
        store.save(snapshot)
    cells = np.asarray(model.cells_, dtype=np.uint64)
    positions = []
    for table in snapshot.tables:
        pos = np.empty(cells.size, dtype=np.int64)
        pos[table.order] = np.arange(cells.size, dtype=np.int64)
        positions.append(pos)
    history, periods = recent_counts(panel, cells, model.target_, settings.history_periods)
    return Served(
        name=name,
        version=loaded.version,
        model=model,
        manifest=loaded.manifest,
        snapshot=snapshot,
        positions=tuple(positions),
        history=history,
        history_periods=periods,
    )


class ServiceState:
    """Everything the app shares: settings, registry, keys, audit log and what is served."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = Registry(settings.models_dir)
        self.store = SnapshotStore(settings.state_dir / "snapshots")
        self.keys = KeyStore(settings.state_dir / "keys.json")
        self.audit = AuditLog(settings.state_dir / "audit.jsonl")
        self.failures: Mapping[str, str] = MappingProxyType({})
        self._served: Mapping[str, Served] = MappingProxyType({})
        self._swap = threading.Lock()

    @property
    def served(self) -> Mapping[str, Served]:
        """Every served model by name (read it once per request)."""
        return self._served

    def load_all(self) -> None:
        """Load and publish the current version of every registered model; log failures."""
        events = EventCache(self.settings.events_path)
        served: dict[str, Served] = {}
        failures: dict[str, str] = {}
        for summary in self.registry.list_models():
            if summary.current is None:
                failures[summary.name] = "no current version (promote one)"
                continue
            try:
                loaded = self.registry.load(summary.name)
                source = events.get(loaded.manifest)
                served[summary.name] = build_served(
                    summary.name, loaded, source, self.settings, self.store
                )
            except (HotspotsError, OSError, ValueError) as err:
                logger.error("model %r not served: %s", summary.name, err)
                failures[summary.name] = f"{type(err).__name__}: {err}"
        with self._swap:
            self._served = MappingProxyType(served)
            self.failures = MappingProxyType(failures)
        logger.info("serving %d model(s); %d failed", len(served), len(failures))

    def promote(self, name: str, version: str) -> Served:
        """Load and publish ``version`` of ``name``, make it current in the registry, then
        swap it in. Built before anything changes, so a failure leaves both as they were."""
        with self._swap:
            loaded = self.registry.load(name, version)  # checks every file's checksum
            label = loaded.version
            source = EventCache(self.settings.events_path).get(loaded.manifest)
            fresh = build_served(name, loaded, source, self.settings, self.store)
            self.registry.promote(name, label)
            self._served = MappingProxyType({**self._served, name: fresh})
            self.failures = MappingProxyType({k: v for k, v in self.failures.items() if k != name})
        logger.info("promoted and now serving %s", fresh.label)
        return fresh

    def pick(self, name: str | None) -> Served:
        """The served model ``name`` (default: the first by name); ModelNotFoundError if none."""
        served = self._served
        if name is None:
            if not served:
                raise ModelNotFoundError("no model is being served yet; see /readyz")
            return served[min(served)]
        found = served.get(name)
        if found is None:
            known = ", ".join(sorted(served)) or "none"
            raise ModelNotFoundError(f"no served model named {name!r}; models served: {known}")
        return found
