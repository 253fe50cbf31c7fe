"""The feedback-loop monitor from a service's own records, for ``GET /v1/monitor`` and
``hotspots report effectiveness`` alike: the forecasts it served (the snapshot store), the
events it holds (the configured export plus every posted batch, read with the model's
settings), the patrols logged (the dosage) and the optional area layer of the settings
(``HOTSPOTS_MONITOR_AREAS_PATH`` and its fields), over ``HOTSPOTS_MONITOR_PERIODS``.
Both call ``monitor_from_records``, so the page and the API give the same figures; the API's
answer (``monitor_answer``) is kept, with its ETag, until a publish or a new batch of events or
patrols."""

from __future__ import annotations

import glob
import logging
import threading
import weakref
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

from hotspots.config import Settings
from hotspots.errors import RecordUnreadableError
from hotspots.feedback.failures import MONITOR, RECORD_ERRORS, ModelFailure, failure_of
from hotspots.feedback.monitor_groups import AreaLayer, GroupLayer, read_area_layer
from hotspots.feedback.monitor_report import thresholds_asked
from hotspots.feedback.monitor_served import ModelMonitor, model_monitor
from hotspots.feedback.patrol_store import PATROLS_DIR, PatrolStore
from hotspots.feedback.realised_shown import suppress_monitor
from hotspots.feedback.served import SnapshotReader
from hotspots.forecasters import Forecaster
from hotspots.ingest.event_store import EventStore
from hotspots.jobs.event_cache import EventCache
from hotspots.publishing.served import Served
from hotspots.publishing.snapshot_store import SnapshotStore
from hotspots.registry import LoadedModel
from hotspots.serving.state import ServiceState

Answer = tuple[bytes, bytes, str]
"""The document's bytes, its gzip bytes and its strong ETag."""
Asked = tuple[int | None, int | None]
"""The window (P) and repeat (X) a request asked for (None: the model's own)."""

_CACHES: weakref.WeakKeyDictionary[ServiceState, dict[tuple[str, Asked], tuple[Any, Answer]]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()
logger = logging.getLogger(__name__)


def monitor_answer(state: ServiceState, served: Served, asked: Asked = (None, None)) -> Answer:
    """The monitor document of ``served`` with the thresholds ``asked``, built on the first
    call after a publish or a new batch of events or patrols (a blocking call: run it in a
    worker thread) and kept. Thresholds that do not fit raise ``ConfigError``; records of
    the model that cannot be read, ``RecordUnreadableError`` naming the model and why."""
    key = (
        served.label,
        served.snapshot.etag,
        state.events.generation(),
        state.patrols.generation(),
        len(state.store.list(served.name)),
        layer_key(state.settings),  # a replaced area layer changes the answer too
    )
    with _LOCK:
        cache = _CACHES.setdefault(state, {})
        hit = cache.get((served.name, asked))
        if hit is not None and hit[0] == key:
            return hit[1]
    window, repeat = asked
    check_thresholds(served.manifest, window, repeat)  # a wrong request stays a 422
    try:
        found = monitor_from_records(
            state.settings,
            served.name,
            served.version,
            served.model,
            served.manifest,
            events=state.events,
            patrols=state.patrols,
            snapshots=state.store,
            window=window,
            repeat=repeat,
            areas=served_area_layer(state),
        )
    except RECORD_ERRORS as err:
        failed = failure_of(served.name, MONITOR, err)
        logger.error("model %s", failed.line())
        raise RecordUnreadableError(failed.line()) from err
    answer = found.document()
    with _LOCK:
        if len(cache) > 64:  # thresholds asked for: keep the cache small
            cache.clear()
        cache[(served.name, asked)] = (key, answer)
    return answer


def monitor_from_records(
    settings: Settings,
    name: str,
    version: str,
    model: Forecaster,
    manifest: Mapping[str, Any],
    *,
    events: EventStore,
    patrols: PatrolStore,
    snapshots: SnapshotReader,
    window: int | None = None,
    repeat: int | None = None,
    areas: AreaLayer | None = None,
) -> ModelMonitor:
    """The monitor of version ``version`` of model ``name``. ``window`` (P) and ``repeat``
    (X): instead of the thresholds the model recorded at training time (None: those).
    ``areas``: the settings' area layer, read already (None: read here when set)."""
    loaded = EventCache(settings.events_path, events).get(manifest)
    logged = patrols.read()
    found = model_monitor(
        name,
        version,
        model,
        manifest,
        loaded.events,
        snapshots,
        settings.monitor_periods,
        groups=_groups(areas or area_layer(settings), model),
        patrols=None if logged.empty else logged,
        timezone=loaded.timezone,
        overrides={"window": window, "repeat": repeat},
    )
    # the patrolled cells' share of the events gives their count: withheld as the dosage's
    return suppress_monitor(found, settings.min_events_shown)


def monitors_from_records(
    settings: Settings,
    models: Mapping[str, LoadedModel],
    *,
    window: int | None = None,
    repeat: int | None = None,
    areas: AreaLayer | None = None,
    snapshots: SnapshotReader | None = None,
) -> tuple[dict[str, ModelMonitor], list[ModelFailure]]:
    """``monitor_from_records`` of each of ``models`` (loaded from the registry) over the
    state folder's stores (what ``hotspots report effectiveness`` writes), and the models
    whose records could not be read or monitored, with why (logged; the others are
    monitored). Check the thresholds asked first (``check_thresholds``). The area layer
    (``areas``, or the settings') is read once for every model; ``snapshots``: the
    snapshot store (default: the state folder's)."""
    if areas is None and models:
        areas = area_layer(settings)
    state = settings.state_dir
    events = EventStore(state / "events")
    patrols = PatrolStore(state / PATROLS_DIR)
    snapshots = snapshots or SnapshotStore(state / "snapshots")
    out: dict[str, ModelMonitor] = {}
    failed: list[ModelFailure] = []
    for name, loaded in sorted(models.items()):
        try:
            out[name] = monitor_from_records(
                settings,
                name,
                loaded.version,
                loaded.forecaster,
                loaded.manifest,
                events=events,
                patrols=patrols,
                snapshots=snapshots,
                window=window,
                repeat=repeat,
                areas=areas,
            )
        except RECORD_ERRORS as err:
            failed.append(failure_of(name, MONITOR, err))
            logger.error("model %s", failed[-1].line())
    return out, failed


def check_thresholds(
    manifest: Mapping[str, Any], window: int | None = None, repeat: int | None = None
) -> None:
    """Raise ``ConfigError`` when the ``window`` and ``repeat`` asked do not fit the model's
    recorded thresholds (a wrong request, told before any model's records are read)."""
    thresholds_asked(manifest, {"window": window, "repeat": repeat})


def area_layer(settings: Settings) -> AreaLayer | None:
    """The configured area layer, read (None when unset)."""
    if settings.monitor_areas_path is None:
        return None
    return read_area_layer(
        settings.monitor_areas_path,
        group_field=settings.monitor_group_field,
        population_field=settings.monitor_population_field,
    )


def layer_key(settings: Settings) -> Hashable:
    """What the settings' area layer read depends on: its fields and its file's path,
    modification time and size (and those of a shapefile's sidecar files, which hold its
    fields); None when there is no layer or a file cannot be seen (then it is read, and
    says why)."""
    if settings.monitor_areas_path is None:
        return None
    path = Path(settings.monitor_areas_path)
    files = [path]
    if path.suffix.lower() == ".shp":
        files += sorted(p for p in path.parent.glob(f"{glob.escape(path.stem)}.*") if p != path)
    try:
        stats = [(f.resolve(), f.stat()) for f in files]
    except OSError:
        return None
    seen = tuple((str(f), st.st_mtime_ns, st.st_size) for f, st in stats)
    return (settings.monitor_group_field, settings.monitor_population_field, *seen)


_LAYERS: weakref.WeakKeyDictionary[ServiceState, tuple[Hashable, AreaLayer | None]] = (
    weakref.WeakKeyDictionary()
)


def served_area_layer(state: ServiceState) -> AreaLayer | None:
    """The settings' area layer as a service holds it: read on first use and kept (with the
    cells found in each group) while its file is the same (``layer_key``), so answers do not
    read and parse it each time, and a replaced file is read again."""
    key = layer_key(state.settings)
    with _LOCK:
        hit = _LAYERS.get(state)
    if key is not None and hit is not None and hit[0] == key:
        return hit[1]
    layer = area_layer(state.settings)
    if key is not None:
        with _LOCK:
            _LAYERS[state] = (key, layer)
    return layer


def _groups(areas: AreaLayer | None, model: Forecaster) -> GroupLayer | None:
    """The groups of the model's cells (None without a layer)."""
    return None if areas is None else areas.on(model.cells_, model.resolution_)
