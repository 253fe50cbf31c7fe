"""The one forecast pipeline: events -> panel -> forecast document, for the CLI and the API.

``publish_events`` is what ``hotspots forecast`` (``.json`` / ``.geojson``) and the service
both call, so for the same model version, events and ``as_of`` they make the same bytes (all
but the issue time). ``build_served`` adds what the service keeps beside the document: the
saved copy for replay, each cell's rank position and its recent counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.atomic import atomic_path
from hotspots.config import Settings
from hotspots.errors import ConfigError, HotspotsError
from hotspots.features import Panel
from hotspots.forecasters import Forecaster, check_horizon
from hotspots.grid import StudyArea
from hotspots.jobs.data import LoadedEvents, quiet_end_note, whole_periods_end
from hotspots.jobs.fit_check import check_events_fit
from hotspots.jobs.forecast import history_panel
from hotspots.publishing.forecast_document import areas_from_boundary_file, publish_forecast
from hotspots.publishing.plan_book import PlanBook, PlanInput
from hotspots.publishing.plan_shifts import DEFAULT_SHIFTS
from hotspots.publishing.plans import PlanBudget
from hotspots.publishing.snapshot import Snapshot
from hotspots.publishing.snapshot_store import SnapshotStore, as_of_key
from hotspots.registry import LoadedModel

logger = logging.getLogger(__name__)
T = TypeVar("T")

DOCUMENT_SUFFIXES = (".json", ".geojson")


def publish_events(
    model: Forecaster,
    events: pd.DataFrame,
    *,
    name: str,
    version: str,
    as_of: Any = None,
    horizon: int = 1,
    issued_at: Any = None,
    min_events_shown: int = 0,
    areas: Mapping[str, npt.ArrayLike] | None = None,
) -> tuple[Snapshot, Panel]:
    """The forecast document of ``model`` from ``events`` at ``as_of`` (default: the end of
    the events' last whole period, the next forecast due), and the panel it read.

    The panel follows ``jobs.forecast.history_panel``; the rest is ``publish_forecast``.
    A horizon beyond a year (``check_horizon``) is refused before the events are counted.
    """
    check_horizon(horizon, model.freq_)
    panel, as_of = history_panel(model, events, as_of)
    snapshot = publish_forecast(
        model,
        panel,
        name=name,
        version=version,
        as_of=as_of,
        horizon=horizon,
        issued_at=issued_at,
        min_events_shown=min_events_shown,
        areas=areas,
    )
    return snapshot, panel


def document_paths(out: Path, horizon: int) -> list[Path]:
    """Where ``write_document`` writes each period: ``out``, then ``<stem>-2<suffix>``..."""
    return [out] + [out.with_name(f"{out.stem}-{h}{out.suffix}") for h in range(2, horizon + 1)]


def write_document(snapshot: Snapshot, out: Path) -> list[Path]:
    """Write every cell of each period's document (``.json`` or ``.geojson`` by suffix),
    the bytes the API serves for ``top`` = every cell, atomically; the paths written."""
    fmt = out.suffix.lower().lstrip(".")
    if f".{fmt}" not in DOCUMENT_SUFFIXES:
        raise ConfigError(f"{out.name}: a forecast document is one of {list(DOCUMENT_SUFFIXES)}")
    paths = document_paths(out, len(snapshot.tables))
    for period, path in enumerate(paths):
        data = snapshot.view(top=snapshot.n_cells, fmt=fmt, period=period).bytes
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(data)
    return paths


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


def named_areas(model: Forecaster, settings: Settings) -> dict[str, npt.NDArray[np.bool_]]:
    """The configured named areas as masks over the model's cells (none when unset)."""
    if settings.areas_path is None:
        return {}
    return areas_from_boundary_file(
        settings.areas_path, settings.areas_field, model.cells_, model.resolution_
    )


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
    for warning in check_events_fit(model, events.events, loaded.manifest):
        logger.warning("model %r: %s", name, warning)
    as_of = whole_periods_end(events.events, model.freq_)  # the next forecast due
    if (quiet := quiet_end_note(events.events, model.freq_)) is not None:
        logger.warning("model %r: %s", name, quiet)
    options: dict[str, Any] = {
        "name": name,
        "version": loaded.version,
        "as_of": as_of,
        "horizon": settings.forecast_horizon,
        "min_events_shown": settings.min_events_shown,
        "areas": named_areas(model, settings),
    }
    with store.publishing(name):  # a sibling worker publishing it now saves first
        issued = _issued_at(store, name, loaded.version, as_of)
        snapshot, panel = publish_events(model, events.events, issued_at=issued, **options)
        try:
            store.save(snapshot)
        except ConfigError:  # the events changed since that issue: this is a new forecast
            snapshot, panel = publish_events(model, events.events, **options)
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


def plan_input(served: Served) -> PlanInput:
    """What a plan reads of a served model: its cells, target and each period's forecast."""
    periods = [(t.start, t.cell, t.expected_count) for t in served.snapshot.tables]
    return PlanInput.of(served.model, served.snapshot.as_of, periods, served.version)


def build_plans(
    served: Mapping[str, Served],
    events: pd.DataFrame | Mapping[str, pd.DataFrame],
    default: PlanBudget,
    *,
    pack: Callable[[bytes], T],
    min_events_shown: int = 0,
    record: Callable[[dict[str, Any]], object] | None = None,
    shifts: str = DEFAULT_SHIFTS,
) -> PlanBook[T]:
    """The patrol plans beside the served forecasts, at publish time: one book over every
    served model (one crime type each) whose ``default`` budget is built now, from
    ``events`` (the history the plans' when and why read: one frame, or each model's reading
    of it by name, a plan reading its first type's); ``pack`` wraps the bytes;
    ``record`` is given each plan once, when built (``PlanStore.record``); ``shifts`` the
    default blocks of the day (``HOTSPOTS_PLAN_SHIFTS``)."""
    return PlanBook(
        {name: plan_input(s) for name, s in served.items()},
        events,
        default=default,
        pack=pack,
        min_events_shown=min_events_shown,
        record=record,
        shifts=shifts,
    )
