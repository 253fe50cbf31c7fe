"""``hotspots serve --retrain-every``: ``hotspots retrain`` of every served model, one run at
a time, inside the service (the app's lifespan ticks it; ``service.retrain_loop``).

A model is retrained from the training spec its current manifest records, reading the
service's events file (``HOTSPOTS_EVENTS_PATH``, when set, in place of the spec's) and the
events posted to ``/v1/events``. When a new version wins it is made current in the registry
and the service republishes, as after ``hotspots models promote`` and a refresh. A failure is
logged and kept for ``/readyz``; it never stops the service or the schedule.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from types import MappingProxyType

from hotspots.errors import HotspotsError
from hotspots.jobs.retrain import retrain
from hotspots.jobs.spec import spec_from_manifest
from hotspots.serving.state import ServiceState

logger = logging.getLogger(__name__)


class RetrainSchedule:
    """The last outcome of each served model's retrain, as one line (``/readyz``)."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state
        self.last: Mapping[str, str] = MappingProxyType({})
        self._lock = threading.Lock()

    def run_once(self) -> dict[str, str]:
        """Retrain every served model once, then republish if any new version was promoted;
        returns (and keeps) each model's outcome line, or why it failed."""
        with self._lock:  # one run at a time, should a tick outlast the interval
            state, lines, promoted = self.state, {}, False
            for name, served in sorted(state.served.items()):
                try:
                    spec = spec_from_manifest(served.manifest, state.settings.events_path)
                    outcome = retrain(spec, state.registry, state.events)
                except Exception as err:  # logged and shown in /readyz, never raised
                    lines[name] = failed(name, served.version, err)
                    continue
                logger.info("%s", outcome.line())
                lines[name] = outcome.line()
                promoted |= outcome.status == "promoted"
            self.last = MappingProxyType(lines)
        if promoted:
            state.refresh()  # serves the registry's new current versions
        return lines


def failed(name: str, serving: str, err: Exception) -> str:
    """Log a model's failed retrain in one line (what failed, why, what is still served;
    a traceback only for an error that is not a known kind) and return its /readyz line."""
    why = f"{type(err).__name__}: {err}"
    expected = isinstance(err, HotspotsError | OSError | ValueError)
    log = logger.error if expected else logger.exception
    log("retrain of model %r failed: %s; it still serves %s", name, why, serving)
    return f"failed: {why}"
