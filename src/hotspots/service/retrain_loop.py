"""``hotspots serve --retrain-every``: ``hotspots retrain`` of every served model on a
schedule, inside the service.

Each tick runs in a worker thread, so requests are answered meanwhile from what is served.
A model is retrained from the training spec its current manifest records, reading the
service's events file (``HOTSPOTS_EVENTS_PATH``, when set, in place of the spec's) and the
events posted to ``/v1/events``. When a new version wins it is made current in the
registry and the service republishes, as after ``hotspots models promote`` and a refresh.
A failure is logged and shown in ``/readyz`` (with a key); it never stops the service or
the schedule.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from hotspots.config import Settings
from hotspots.errors import ConfigError, HotspotsError
from hotspots.jobs.retrain import retrain
from hotspots.jobs.spec import TrainingSpec, spec_from_dict
from hotspots.serving.state import ServiceState

logger = logging.getLogger(__name__)


def spec_of(manifest: Mapping[str, Any], settings: Settings) -> TrainingSpec:
    """The training spec a manifest records, reading the service's events file when set."""
    raw = manifest.get("spec")
    if not isinstance(raw, Mapping) or not raw.get("name"):
        raise ConfigError(
            f"model {manifest.get('name')!r} {manifest.get('version')}: its manifest holds no "
            "training spec to retrain from (publish it with `hotspots train`)"
        )
    data = dict(raw.get("data") or {})
    if settings.events_path is not None:
        data["events"] = str(settings.events_path)
    return spec_from_dict({**raw, "data": data}, source=f"the manifest of {raw['name']!r}")


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
                    spec = spec_of(served.manifest, state.settings)
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


async def retrain_loop(schedule: RetrainSchedule, seconds: float) -> None:
    """Every ``seconds``, ``schedule.run_once`` in a worker thread (run as a task by the
    app's lifespan when ``retrain_seconds`` is set; cancelled at shutdown)."""
    from starlette.concurrency import run_in_threadpool

    while True:
        await asyncio.sleep(seconds)
        try:
            await run_in_threadpool(schedule.run_once)
        except Exception:  # keep the schedule alive; the error is in the log
            logger.exception("scheduled retrain failed")
