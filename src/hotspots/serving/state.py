"""What the service serves: one immutable ``Served`` per model name, swapped atomically.

``Served`` is built by publishing (``hotspots.publishing.served.build_served``): the service
loads models and events and swaps what publishing made; it builds no panel itself.

A request reads ``state.served`` once and answers from that mapping alone, so a promote
that swaps the mapping (one reference assignment) never mixes two versions in a response.

The registry is the record of which version is current. A republish serves each model at
the registry's current version, so a promote or rollback made elsewhere (another worker, or
``hotspots models promote|rollback``) is served after the next republish; with a schedule
(``refresh_seconds``) the service checks for one every tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping
from types import MappingProxyType

import pandas as pd
import pyarrow.parquet as pq

from hotspots.access.audit import AUDIT_FILE, AuditLog
from hotspots.access.keys import KEYS_FILE, KeyStore
from hotspots.atomic import prune_temp
from hotspots.config import Settings
from hotspots.errors import HotspotsError, ModelNotFoundError
from hotspots.feedback.patrol_store import PATROLS_DIR, PatrolStore
from hotspots.ingest import is_event_table
from hotspots.ingest.event_store import INCOMING, EventStore
from hotspots.jobs.data import event_options, ingest_options, load_events
from hotspots.jobs.event_cache import EventCache
from hotspots.publishing import PlanBook, PlanBudget
from hotspots.publishing.plan_store import PLANS_DIR, PlanStore
from hotspots.publishing.served import Served, build_plans, build_served
from hotspots.publishing.snapshot import View
from hotspots.publishing.snapshot_store import SnapshotStore
from hotspots.registry import Registry

logger = logging.getLogger(__name__)


class ServiceState:
    """Everything the app shares: settings, registry, keys, audit log and what is served."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = Registry(settings.models_dir)
        self.store = SnapshotStore(settings.state_dir / "snapshots")
        self.keys = KeyStore(settings.state_dir / KEYS_FILE)
        self.audit = AuditLog(settings.state_dir / AUDIT_FILE)
        self.events = EventStore(settings.state_dir / "events", self._base_ids)
        self.patrols = PatrolStore(settings.state_dir / PATROLS_DIR)
        self.served_plans = PlanStore(settings.state_dir / PLANS_DIR)
        """Every plan served (pre-built at publish, or built for a request), recorded once."""
        self.published: tuple[str, ...] = ()
        """The posted batches the served forecasts include (``events.generation()``)."""
        self.failures: Mapping[str, str] = MappingProxyType({})
        self._served: Mapping[str, Served] = MappingProxyType({})
        self._tried: Mapping[str, str | None] = MappingProxyType({})
        """The version last published (or tried) per model, to tell a registry change."""
        self._pointer_errors: dict[str, str] = {}
        """The last logged error reading each model's current version (logged once)."""
        self._swap = threading.Lock()
        self.plans: PlanBook[View] | None = None
        """The patrol plans of what is served (None: nothing served, or see plan_failure)."""
        self.plan_failure: str | None = None

    @property
    def served(self) -> Mapping[str, Served]:
        """Every served model by name (read it once per request)."""
        return self._served

    def load_all(self) -> None:
        """Load and publish the current version of every registered model; log failures.
        First, remove what a killed process left half-written in the state folder, and
        watch the key file (``KeyStore.watch``; ``close`` ends it)."""
        with contextlib.suppress(OSError):  # a folder it cannot make: keys checked by stat
            self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.keys.watch():
            logger.info("the key file is checked by stat at each request (not watched)")
        left = prune_temp(self.settings.state_dir)
        left += prune_temp(self.events.folder / INCOMING, pattern="tmp*")
        if left:
            logger.warning("removed %d file(s) a killed process left half-written", left)
        generation = self.events.generation()
        models = self.registry.list_models()
        events = EventCache(self.settings.events_path, self.events)
        served, failures = self._publish_each({m.name: None for m in models if m.current}, events)
        failures |= {m.name: "no current version (promote one)" for m in models if not m.current}
        with self._swap:
            self._served = MappingProxyType(served)
            self._publish_plans(events)
            self.failures = MappingProxyType(failures)
            self._tried = MappingProxyType({m.name: m.current for m in models})
            self.published = generation
        if not models:
            logger.warning(
                "serving 0 models: the models folder %s holds no model", self.settings.models_dir
            )
        else:
            logger.info("serving %d model(s); %d failed", len(served), len(failures))

    def refresh(self) -> tuple[dict[str, Served], dict[str, str]]:
        """Republish every model at the registry's current version (a served model keeps its
        version when the registry has none or cannot say), and try again those that failed,
        from the events as they are now, posted batches included; swap them in at once.

        Returns the republished models and, by name, why any could not be (those keep
        serving what they served)."""
        with self._swap:
            generation = self.events.generation()
            versions = self.wanted()
            events = EventCache(self.settings.events_path, self.events)
            fresh, failed = self._publish_each(versions, events)
            self._served = MappingProxyType({**self._served, **fresh})
            self._publish_plans(events)
            self.failures = MappingProxyType(
                {
                    k: v
                    for k, v in {**self.failures, **failed}.items()
                    if k not in fresh and k in versions  # not gone from the registry
                }
            )
            self._tried = MappingProxyType(versions)  # a model gone from the registry too
            self.published = generation  # a failure is retried with the next batch
        done = ", ".join(s.label for s in fresh.values()) or "nothing"
        logger.info("republished %s; %d failed", done, len(failed))
        return fresh, failed

    def wanted(self) -> dict[str, str | None]:
        """The version each model should serve, by name: the registry's current one; for a
        served model whose registry pointer is missing or unreadable, the served one; None
        (the current one, to be reported as missing) for a model never promoted."""
        out: dict[str, str | None] = {name: s.version for name, s in self._served.items()}
        for name in self.registry.names():
            try:
                current = self.registry.current(name)
            except HotspotsError as err:  # a broken pointer: keep what is served
                self._pointer_error(name, str(err))
                current = None
            else:
                self._pointer_error(name, None)
            if current is not None or name not in out:
                out[name] = current
        return out

    def _pointer_error(self, name: str, error: str | None) -> None:
        """Log a model's unreadable current version when the error is new (not at every
        tick of the schedule), and when it reads again."""
        before = self._pointer_errors.get(name)
        if error == before:
            return
        if error is None:
            self._pointer_errors.pop(name, None)  # two threads may both see it read again
            logger.info("model %r: its current version reads again", name)
        else:
            self._pointer_errors[name] = error
            logger.error("model %r: cannot read its current version: %s", name, error)

    def stale(self) -> bool:
        """Whether a republish would change anything: events posted since the last one, or
        a model whose current version in the registry is not the one last published."""
        return self.events.generation() != self.published or self.wanted() != dict(self._tried)

    def _publish_each(
        self, versions: Mapping[str, str | None], events: EventCache
    ) -> tuple[dict[str, Served], dict[str, str]]:
        """Load (``None``: the current version) and publish each model from the events as
        they are now; the ones built, and why each other one could not be."""
        built: dict[str, Served] = {}
        failed: dict[str, str] = {}
        for name, version in versions.items():
            try:
                loaded = self.registry.load(name, version)  # checks every file's checksum
                source = events.get(loaded.manifest)
                built[name] = build_served(name, loaded, source, self.settings, self.store)
            except (HotspotsError, OSError, ValueError) as err:
                logger.error("model %r not published: %s", name, err)
                failed[name] = f"{type(err).__name__}: {err}"
        return built, failed

    def _publish_plans(self, events: EventCache) -> None:
        """The patrol plans of every served model (the default budget built now), from the
        events as each model reads them (a plan reads its first type's, as ``hotspots plan``
        does); a failure is logged and leaves no plan (the forecasts stand)."""
        served = self._served
        self.plans, self.plan_failure = None, None
        if not served:
            return
        default = PlanBudget(self.settings.plan_areas, self.settings.plan_max_area_km2)
        try:
            read = {name: events.get(s.manifest).events for name, s in served.items()}
            self.plans = build_plans(
                served,
                read,
                default,
                pack=View.of,
                min_events_shown=self.settings.min_events_shown,
                record=self.served_plans.record,
                shifts=self.settings.plan_shifts,
            )
        except (HotspotsError, OSError, ValueError) as err:
            logger.error("no patrol plan published: %s", err)
            self.plan_failure = f"{type(err).__name__}: {err}"

    def _base_ids(self) -> pd.Series:
        """Event ids of the configured events (the posted ones are the store's own)."""
        path = self.settings.events_path
        if path is None or not path.is_file():
            return pd.Series([], dtype="string")
        if is_event_table(path):
            return pq.read_table(path, columns=["event_id"]).column(0).to_pandas()
        served = self._served
        manifest = served[min(served)].manifest if served else {}
        return load_events(path, ingest_options(**event_options(manifest))).events["event_id"]

    def promote(self, name: str, version: str) -> Served:
        """Load and publish ``version`` of ``name``, make it current in the registry, then
        swap it in. Built before anything changes, so a failure leaves both as they were."""
        with self._swap:
            loaded = self.registry.load(name, version)  # checks every file's checksum
            label = loaded.version
            events = EventCache(self.settings.events_path, self.events)
            source = events.get(loaded.manifest)
            fresh = build_served(name, loaded, source, self.settings, self.store)
            self.registry.promote(name, label)
            self._served = MappingProxyType({**self._served, name: fresh})
            self._publish_plans(events)
            self.failures = MappingProxyType({k: v for k, v in self.failures.items() if k != name})
            self._tried = MappingProxyType({**self._tried, name: label})
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
            why = self.failures.get(name)  # in the registry, but its publish failed
            if why is not None:
                raise ModelNotFoundError(
                    f"model {name!r} is in the registry but not served, as its forecast could "
                    f"not be published: {why}; models served: {known}"
                )
            raise ModelNotFoundError(f"no served model named {name!r}; models served: {known}")
        return found


async def refresh_loop(state: ServiceState, seconds: float) -> None:
    """Every ``seconds``, republish if events were posted or a model's current version
    changed in the registry since the last publish (run as a task by the app's lifespan when
    ``refresh_seconds`` is set; cancelled at shutdown)."""
    from starlette.concurrency import run_in_threadpool

    while True:
        await asyncio.sleep(seconds)
        try:
            if await run_in_threadpool(state.stale):
                await run_in_threadpool(state.refresh)
        except Exception:  # keep the schedule alive; the error is in the log
            logger.exception("scheduled republish failed")
