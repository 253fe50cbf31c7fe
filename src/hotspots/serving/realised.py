"""Realised effectiveness from the service's own records, for ``GET /v1/effectiveness``, the
``/readyz`` flag, the Prometheus gauges and ``hotspots report effectiveness`` alike.

What was served comes from the published snapshots (``feedback.served`` says why) and the
recorded served plans (``publishing.plan_store``; none recorded: plans grown again); the
events from the configured export plus every batch posted to ``/v1/events`` (as a republish
reads them, with each model's reading settings); the patrols from ``POST /v1/patrols`` and
``hotspots patrols import``; each model's frequency, target, baselines and cutoffs from its
current version in the registry (its training spec).

``RealisedCache`` computes once per state of those records: a new publish, a posted batch
or a patrol batch makes it stale. ``peek`` (the probe and the scrape) never waits: it gives
the last result and starts a refresh in the background when stale.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import pandas as pd

from hotspots.config import Settings
from hotspots.errors import UnknownCategoryError
from hotspots.feedback.effectiveness import SERVED, Realised, check_category, realised_effectiveness
from hotspots.feedback.failures import (
    MONITOR,
    REALISED,
    RECORD_ERRORS,
    REGISTRY,
    ModelFailure,
    failure_of,
    failures_frame,
    frame_to_failures,
)
from hotspots.feedback.patrol_store import PATROLS_DIR, PatrolStore
from hotspots.feedback.plans_combined import ModelFolds, realised_combined_plans
from hotspots.feedback.plans_realised import plans_built_from, records_to_plans, unscored_plans
from hotspots.feedback.realised_io import combine
from hotspots.feedback.served import (
    ServedForecast,
    SnapshotReader,
    last_issued,
    snapshots_to_served,
)
from hotspots.grid.regions import PlanBudget
from hotspots.ingest.event_store import EventStore
from hotspots.ingest.schema import empty_events
from hotspots.jobs.event_cache import EventCache
from hotspots.jobs.spec import BASELINES
from hotspots.publishing.plan_store import PLANS_DIR, PlanStore
from hotspots.publishing.snapshot_store import SnapshotStore, saves_in
from hotspots.registry import LoadedModel, Registry
from hotspots.serving.generations import GenerationCache, TreeGenerations, subfolders
from hotspots.serving.state import ServiceState

logger = logging.getLogger(__name__)

DEFAULT_COVERAGES = (0.01, 0.05, 0.10)


def cutoffs_of(manifest: Mapping[str, Any]) -> tuple[float, ...]:
    """The spec's backtest coverages, its selection coverage first (the flag's cutoff)."""
    backtest = (manifest.get("spec") or {}).get("backtest") or {}
    coverages = tuple(float(c) for c in backtest.get("coverages") or DEFAULT_COVERAGES)
    first = float(backtest.get("select_coverage") or coverages[0])
    return (first, *(c for c in coverages if abs(c - first) > 1e-12))


def baselines_of(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    """The spec's baselines (every baseline when the spec does not say)."""
    model = (manifest.get("spec") or {}).get("model") or {}
    return tuple(model.get("baselines") or BASELINES)


ModelInfo = tuple[Mapping[str, Any], str]
"""A model's manifest and period frequency."""


def realised_from_records(
    settings: Settings,
    *,
    models: Mapping[str, ModelInfo] | None = None,
    category: str | None = None,
    events: EventStore | None = None,
    patrols: PatrolStore | None = None,
    plans: PlanStore | None = None,
    known_failures: Sequence[ModelFailure] = (),
    snapshots: SnapshotReader | None = None,
) -> Realised:
    """The realised figures of ``models`` (default: every model with published snapshots,
    at its current version in the registry). A model whose records cannot be read or
    scored is logged and left out, and ``failures`` says which and why (the others are
    scored); so is a combination of crime types whose served plans need such a model (or
    ``known_failures``' models: failed before, not reported again) or whose scoring
    failed, and the other combinations are scored. A ``category`` that no model's events
    hold raises ``UnknownCategoryError`` (the request is wrong, not a model), naming it and
    the categories there are. ``snapshots``: the snapshot store to read (default: the
    state folder's; a ``ServedMemo`` to share the reading with the monitor)."""
    store = SnapshotStore(settings.state_dir / "snapshots")
    snapshots = snapshots or store
    events = events or EventStore(settings.state_dir / "events")
    patrols = patrols or PatrolStore(settings.state_dir / PATROLS_DIR)
    served_plans = records_to_plans((plans or PlanStore(settings.state_dir / PLANS_DIR)).read())
    failed: list[ModelFailure] = []
    if models is None:
        current = current_models(settings, store)
        models, failed = model_infos(current.loaded), list(current.failed)
    cache = EventCache(settings.events_path, events)
    logged = patrols.read()
    parts = []
    folds: dict[tuple[str, int], ModelFolds] = {}
    built: dict[tuple[str, str], ServedForecast] = {}
    lost: dict[str, ModelFailure] = {}  # plans that fail alone, by ETag
    unknown: UnknownCategoryError | None = None
    for name, (manifest, freq) in sorted(models.items()):
        try:
            if category is not None:  # a wrong one is told before the snapshots are read
                check_category(category, cache.get(manifest).events)
            served = snapshots_to_served(snapshots, name)
            if not served:
                continue
            mine = [p for p in served_plans if name in p.types]
            unread: dict[str, ModelFailure] = {}  # their built-from snapshot is damaged
            built |= plans_built_from(snapshots, mine, served, unread)
            parts.append(
                realised_effectiveness(
                    served,
                    cache.get(manifest).events,
                    freq=freq,
                    baselines=baselines_of(manifest),
                    coverages=cutoffs_of(manifest),
                    patrols=logged,
                    k_periods=settings.effectiveness_k_periods,
                    category=category,
                    plan_budget=PlanBudget(settings.plan_areas, settings.plan_max_area_km2),
                    served_plans=served_plans,
                    folds=folds,
                    plan_forecasts=built,
                    lost_plans=unread,
                )
            )
            lost |= unread
        except UnknownCategoryError as err:  # a category asked for: the caller is told
            if category is None:
                failed.append(_failed(name, REALISED, err))
            else:
                logger.info("model %r: realised effectiveness not computed: %s", name, err)
            unknown = err
        except RECORD_ERRORS as err:
            failed.append(_failed(name, REALISED, err))
    if not parts and unknown is not None and category is not None:
        raise UnknownCategoryError(f"category {category!r}: {unknown}") from unknown
    if parts:
        joined = combine(parts)
    else:
        joined = realised_effectiveness([], empty_events(), freq="W", baselines=())
    broken = {f.model: f.what() for f in [*known_failures, *failed] if f.part != MONITOR}
    combined = realised_combined_plans(served_plans, folds, SERVED, built, failed=broken, lost=lost)
    if len(combined):
        joined = replace(joined, plans=pd.concat([joined.plans, combined], ignore_index=True))
    # each part judged the other models' plans unscored: judge them once over all
    why = {etag: f"see failures: {f.what()}" for etag, f in lost.items()}
    unscored = unscored_plans(served_plans, joined.plans, models, joined.pending, why)
    every = [*failed, *{id(f): f for f in lost.values()}.values()]
    return replace(joined, unscored_plans=unscored, failures=failures_frame(every))


class CurrentModels(NamedTuple):
    """The models with published forecasts: those loaded from the registry, and those whose
    current version could not be (``failed``, part ``registry``)."""

    loaded: dict[str, LoadedModel]
    failed: list[ModelFailure]


def current_models(
    settings: Settings, snapshots: SnapshotStore, skip: Collection[str] = ()
) -> CurrentModels:
    """Every model with a snapshot folder (but ``skip``), at its current version in the
    registry."""
    registry = Registry(settings.models_dir)
    registry.check_root()  # a file is the one error for every model, not one per model
    root = snapshots.root
    names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    names = [n for n in names if n not in skip]
    loaded: dict[str, LoadedModel] = {}
    failed: list[ModelFailure] = []
    for name in names:
        try:
            loaded[name] = registry.load(name)
        except RECORD_ERRORS as err:
            failed.append(_failed(name, REGISTRY, err))
    return CurrentModels(loaded, failed)


def model_infos(loaded: Mapping[str, LoadedModel]) -> dict[str, ModelInfo]:
    """Each loaded model's manifest and period frequency."""
    return {n: (m.manifest, str(m.forecaster.freq_)) for n, m in loaded.items()}


def _failed(name: str, part: str, err: BaseException) -> ModelFailure:
    """``err`` as ``name``'s failure, logged as an error."""
    found = failure_of(name, part, err)
    logger.error("model %s", found.line())
    return found


class RealisedCache:
    """The last realised figures of a service, recomputed when its records changed."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state
        self._events = GenerationCache(state.events.folder, state.events.generation)
        self._patrols = GenerationCache(state.patrols.folder, state.patrols.generation)
        self._plans = GenerationCache(state.served_plans.folder, state.served_plans.generation)
        self._tree = TreeGenerations()
        self._lock = threading.Lock()
        self._results: dict[str | None, tuple[Hashable, Realised]] = {}
        self._running: threading.Thread | None = None

    def key(self) -> Hashable:
        """What the figures depend on: the posted events, what is served, the patrols, the
        recorded plans and the published records (the folders listed again only when they
        changed: the probe and the scrape ask)."""
        state = self.state
        served = tuple((n, s.version, s.snapshot.etag) for n, s in sorted(state.served.items()))
        published = self._published(state.served.keys())
        return (self._events(), served, self._patrols(), self._plans(), published)

    def _published(self, served: Collection[str]) -> Hashable:
        """Every model's saved snapshots (``_compute`` scores them all, also of models the
        service does not serve) and, for a model not served, its registry record (its
        current version is the one scored): a publish, promote or removal elsewhere."""
        root, models = str(self.state.store.root), str(self.state.registry.root)
        walk, join = self._tree, os.path.join
        out = []
        for name in walk(root, subfolders):
            folder = join(root, name)
            saves = tuple(walk(join(folder, a), saves_in) for a in walk(folder, subfolders))
            record = () if name in served else walk(join(models, name), _registry_record)
            out.append((name, saves, record))
        walk.prune()
        return tuple(out)

    def get(self, category: str | None = None) -> Realised:
        """The figures as of now (computed here when stale; one computation at a time)."""
        with self._lock:
            key = self.key()
            found = self._results.get(category)
            if found is not None and found[0] == key:
                return found[1]
            value = self._compute(category)
            if category is not None and len(self._results) > 16:  # categories asked for
                self._results = {None: self._results[None]} if None in self._results else {}
            self._results[category] = (key, value)
            return value

    def _compute(self, category: str | None) -> Realised:
        """The figures of the served models, and of those with published forecasts that the
        service does not serve, found as the report finds them (``current_models``): one
        that loads is scored, one that does not is a ``registry`` failure with its load
        error, which the plans of several types needing it are told too."""
        state = self.state
        models = {n: (s.manifest, str(s.model.freq_)) for n, s in state.served.items()}
        others = current_models(state.settings, state.store, skip=models)
        value = realised_from_records(
            state.settings,
            models=models | model_infos(others.loaded),
            category=category,
            events=state.events,
            patrols=state.patrols,
            plans=state.served_plans,
            known_failures=others.failed,
        )
        every = [*others.failed, *frame_to_failures(value.failures)]
        return replace(value, failures=failures_frame(every))

    def peek(self) -> Realised | None:
        """The last figures for every category (None before the first), without waiting;
        starts a refresh in the background when they are stale."""
        found = self._results.get(None)
        if found is None or found[0] != self.key():
            self._refresh_in_background()
        return None if found is None else found[1]

    def _refresh_in_background(self) -> None:
        running = self._running
        if running is not None and running.is_alive():
            return
        self._running = threading.Thread(target=self._refresh, name="realised", daemon=True)
        self._running.start()

    def _refresh(self) -> None:
        try:
            self.get()
        except Exception:  # keep the probe and the scrape alive; the error is in the log
            logger.exception("realised effectiveness could not be computed")


def _registry_record(folder: str) -> tuple[str, ...]:
    """``Registry.generation`` of the model whose registry folder is ``folder``."""
    models, name = os.path.split(folder)
    return Registry(models).generation(name)


_CACHES: weakref.WeakKeyDictionary[ServiceState, RealisedCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def realised_cache(state: ServiceState) -> RealisedCache:
    """The one cache of ``state`` (made on first use)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(state)
        if cache is None:
            cache = _CACHES[state] = RealisedCache(state)
        return cache


def flagged_models(realised: Realised | None) -> dict[str, str]:
    """Why each flagged model is flagged, in words (for ``/readyz``)."""
    if realised is None or realised.flags.empty:
        return {}
    out = {}
    for row in realised.flags.itertuples():
        if bool(row.flagged):
            out[str(row.model)] = (
                f"realised PAI@{row.cutoff} below the best baseline's ({row.best_baseline}) in "
                f"the last {row.periods_below} periods (k = {row.k_periods})"
            )
    return out


def posted_alone_warning(settings: Settings, names: Collection[str] = ()) -> str | None:
    """Why figures read without the service's export mislead, or None: with no
    ``events_path`` only the posted events are read, and when they start after the first
    served forecast's ``data_through`` (the history it was made from is not among them),
    each baseline is fitted on the posted weeks alone and the served forecast, made from
    the whole history, is compared with baselines that lacked it. ``names``: the models
    to look at [every model with published forecasts]."""
    if settings.events_path is not None:
        return None
    posted = EventStore(settings.state_dir / "events").read("UTC")
    if posted is None or posted.empty:
        return None
    folder = settings.state_dir / "snapshots"
    store = SnapshotStore(folder)
    if not names and folder.is_dir():
        names = [p.name for p in folder.iterdir() if p.is_dir()]
    firsts = [(n, next(iter(last_issued(store, n).values()), None)) for n in sorted(names)]
    served = sorted((str(m["data_through"]), n, str(m["as_of"])) for n, m in firsts if m)
    start = posted["occurred_at"].min().tz_localize(None)
    if not served or start < pd.Timestamp(served[0][0]):
        return None
    through, name, as_of = served[0]
    return (
        f"no --events (nor HOTSPOTS_EVENTS_PATH): the report reads the posted events alone, "
        f"which start {start.date()}, after the events the first forecast served ({name} as "
        f"of {as_of}) was made from (through the period from {through}): each baseline is "
        "fitted on the posted weeks alone, so the figures compare the served forecasts with "
        "baselines that lacked the history; pass --events with the file `hotspots serve "
        "--events` reads"
    )
