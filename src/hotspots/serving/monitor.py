"""The feedback-loop monitor document of a served model (``GET /v1/monitor``), built from the
service's own record and kept until a publish or a new batch of events or patrols.

What it reads: the forecasts served (the snapshot store), the events held (the configured ones
and every posted batch), the patrols logged (their dosage) and the optional area layer
(``HOTSPOTS_MONITOR_AREAS_PATH``).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from hotspots.feedback.monitor_groups import GroupLayer, read_group_layer
from hotspots.feedback.monitor_served import monitor_document
from hotspots.jobs.event_cache import EventCache
from hotspots.publishing.served import Served
from hotspots.serving.state import ServiceState

Answer = tuple[bytes, bytes, str]
"""The document's bytes, its gzip bytes and its strong ETag."""

_CACHES: weakref.WeakKeyDictionary[ServiceState, dict[str, tuple[Any, Answer]]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def monitor_answer(state: ServiceState, served: Served) -> Answer:
    """The monitor document of ``served``, built on the first call after a publish or a new
    batch of events or patrols (a blocking call: run it in a worker thread) and kept."""
    metas = state.store.list(served.name)
    key = (
        served.label,
        served.snapshot.etag,
        state.events.generation(),
        state.patrols.generation(),
        len(metas),
    )
    with _LOCK:
        cache = _CACHES.setdefault(state, {})
        hit = cache.get(served.name)
        if hit is not None and hit[0] == key:
            return hit[1]
    answer = _build(state, served)
    with _LOCK:
        cache[served.name] = (key, answer)
    return answer


def _build(state: ServiceState, served: Served) -> Answer:
    settings = state.settings
    events = EventCache(settings.events_path, state.events).get(served.manifest)
    patrols = state.patrols.read()
    return monitor_document(
        served,
        events.events,
        state.store,
        settings.monitor_periods,
        _groups(state, served),
        patrols=None if patrols.empty else patrols,
        timezone=events.timezone,
    )


def _groups(state: ServiceState, served: Served) -> GroupLayer | None:
    """The configured area layer over the model's cells (None when unset)."""
    s = state.settings
    if s.monitor_areas_path is None:
        return None
    return read_group_layer(
        s.monitor_areas_path,
        served.cells,
        served.model.resolution_,
        group_field=s.monitor_group_field,
        population_field=s.monitor_population_field,
    )
