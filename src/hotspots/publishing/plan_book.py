"""Plans as a service publishes them: one default budget built at publish time, any other
budget built on first request and kept (a bounded cache keyed by the normalised parameters).

A ``PlanBook`` holds what ``build_plan`` needs for every served crime type (one forecast per
model and period, the model's cells and target) and the event history with each event's cell
and its heaped minutes, computed once per reading of the events (models may read one export
differently: a plan reads it as its first type's model does, ``plan_query.reading_type``),
so a plan on demand costs one ``build_plan`` (tens of ms) and a repeat costs a dict lookup.
It returns ``plan_to_bytes`` output (what ``hotspots plan`` writes) wrapped by the caller's
``pack`` (the service adds gzip and an ETag). With ``record``, each plan is handed to it
once, when built (``plan_store.PlanStore.record``: the plans a service served).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.grid import cells_area_km2, points_to_cells
from hotspots.jobs.data import local_times
from hotspots.publishing.plan_document import build_plan, distinct_types, history_start_of
from hotspots.publishing.plan_heaps import MinuteWeights, heaped_minutes
from hotspots.publishing.plan_io import plan_to_bytes
from hotspots.publishing.plan_query import PlanQuery, parse_weights, reading_type, select_types
from hotspots.publishing.plan_shifts import DEFAULT_SHIFTS, SHIFTS_SETTING, parse_shifts
from hotspots.publishing.plan_store import plan_record
from hotspots.publishing.plans import STOPS, CellArray, FloatArray, PlanBudget, fit_to_study_area
from hotspots.publishing.snapshot import strong_etag

logger = logging.getLogger(__name__)

T = TypeVar("T")
CACHE_SIZE = 64
"""Plans on demand kept per book (the default budget's are kept apart, never evicted)."""
FORMATS = ("json", "geojson")


@dataclass(frozen=True, eq=False)
class PlanInput:
    """One crime type's forecast as a plan reads it (one served model).

    ``periods[h]`` is the forecast of period ``h + 1`` (columns ``cell``, ``period_start``,
    ``expected_count``); ``cells`` are the model's sorted study cells.
    """

    cells: CellArray
    target: tuple[str, ...] | None
    freq: str
    resolution: int
    as_of: pd.Timestamp
    periods: tuple[pd.DataFrame, ...]
    version: str | None = None
    """The model version that made the forecast (for the record of a served plan)."""

    @classmethod
    def of(
        cls,
        model: Any,
        as_of: pd.Timestamp,
        periods: Iterable[tuple[pd.Timestamp, CellArray, FloatArray]],
        version: str | None = None,
    ) -> PlanInput:
        """From a fitted forecaster and its forecast, one ``(period start, cells, expected
        count)`` per period (any cell order)."""
        frames = tuple(
            pd.DataFrame(
                {
                    "cell": np.asarray(cells, dtype=np.uint64),
                    "period_start": start,
                    "expected_count": np.asarray(expected, dtype=np.float64),
                }
            )
            for start, cells, expected in periods
        )
        target = getattr(model, "target_", None)
        return cls(
            cells=np.asarray(model.cells_, dtype=np.uint64),
            target=None if target is None else tuple(str(t) for t in target),
            freq=str(model.freq_),
            resolution=int(model.resolution_),
            as_of=pd.Timestamp(as_of),
            periods=frames,
            version=version,
        )


@dataclass(frozen=True, eq=False)
class PlanHistory:
    """The events a plan reads (``_history``: before as_of, local time), each one's cell, the
    start of the history and the heaped minutes among them (``plan_heaps``)."""

    events: pd.DataFrame
    cells: CellArray
    start: pd.Timestamp
    heaps: MinuteWeights

    @classmethod
    def of(
        cls, events: pd.DataFrame, as_of: pd.Timestamp, resolution: int, freq: str
    ) -> PlanHistory:
        kept, cells = _history(events, as_of, resolution)
        return cls(kept, cells, history_start_of(kept, freq), heaped_minutes(kept))


class PlanBook(Generic[T]):
    """Every plan of one publish: the default budget's built now, the others on request.

    Types that cannot share a plan with the first (another period length, H3 resolution or
    as_of) are left out of ``names`` and named in ``excluded``. A plan of every type (no
    ``categories`` asked for) combines ``combined``: each type that counts none of the crimes
    an earlier one (by name) counts; the others, in ``overlapping``, are planned when asked
    for by name or category. ``configured`` is the default
    budget as given; ``default`` is it fitted to the study area (``fit_to_study_area``: the
    same unless the study area is too small for it), and so is any request that leaves the
    number of areas or the km2 to the default.

    ``events`` is the history every type reads, or the events as each type's model reads
    them (by name; one frame shared by the models that read them alike is read once): a
    plan reads those of its first type (``reading_type``).
    """

    def __init__(
        self,
        inputs: Mapping[str, PlanInput],
        events: pd.DataFrame | Mapping[str, pd.DataFrame],
        *,
        default: PlanBudget,
        pack: Callable[[bytes], T],
        cache_size: int = CACHE_SIZE,
        min_events_shown: int = 0,
        record: Callable[[dict[str, Any]], object] | None = None,
        shifts: str = DEFAULT_SHIFTS,
    ) -> None:
        if not inputs:
            raise ConfigError("a plan book needs the forecast of at least one crime type")
        first = inputs[min(inputs)]
        grid = (first.freq, first.resolution, first.as_of)
        same = {k for k, v in inputs.items() if (v.freq, v.resolution, v.as_of) == grid}
        self.inputs = {k: v for k, v in sorted(inputs.items()) if k in same}
        self.excluded = {k: v for k, v in sorted(inputs.items()) if k not in same}
        self.combined, self.overlapping = distinct_types(
            {k: v.target for k, v in self.inputs.items()}
        )
        for name, kept in self.overlapping.items():
            logger.warning(
                "plans: %s is left out of the plan of every type (it forecasts crimes %s "
                "forecasts too; a plan would count them twice); ask for it by name",
                name,
                kept,
            )
        self.freq, self.resolution, self.as_of = grid
        self._histories = self._read(events)
        first_read = self._histories[reading_type(self.inputs)]
        self.events, self.event_cells = first_read.events, first_read.cells
        self.history_start, self.heaps = first_read.start, first_read.heaps
        self._cells = np.unique(np.concatenate([v.cells for v in self.inputs.values()]))
        self._cell_km2 = cells_area_km2(self._cells)
        self._study_km2: dict[tuple[str, ...], FloatArray] = {}
        self._study_km2[()] = self._km2_of(self.combined)  # a plan of every type: these
        self._fitted: dict[tuple[tuple[str, ...], int | None], tuple[PlanBudget, str | None]] = {}
        self.configured = default
        self.default, self.default_note = fit_to_study_area(
            default, self._study_km2[()], self.resolution
        )
        self.min_events_shown = int(min_events_shown)
        self.shifts = parse_shifts(shifts, SHIFTS_SETTING)
        self.pack = pack
        self.record = record
        self._cache: OrderedDict[PlanQuery, T] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()
        self._pinned = {q: pack(self._bytes(q, "published")[0]) for q in self._default_queries()}

    def _read(self, events: pd.DataFrame | Mapping[str, pd.DataFrame]) -> dict[str, PlanHistory]:
        """Per type, the history its plans read (one per distinct frame)."""
        if isinstance(events, pd.DataFrame):
            events = dict.fromkeys(self.inputs, events)
        missing = [k for k in self.inputs if k not in events]
        if missing:
            raise ConfigError(f"a plan book has no events for the crime type(s) {missing}")
        read: dict[int, PlanHistory] = {}
        for name in self.inputs:
            frame = events[name]
            if id(frame) not in read:
                read[id(frame)] = PlanHistory.of(frame, self.as_of, self.resolution, self.freq)
        return {name: read[id(events[name])] for name in self.inputs}

    @property
    def names(self) -> tuple[str, ...]:
        """The crime types (model names) a plan can be asked for."""
        return tuple(self.inputs)

    @property
    def horizon(self) -> int:
        """The periods every type forecasts (``horizon=1..`` this)."""
        return min(len(v.periods) for v in self.inputs.values())

    def query(
        self,
        *,
        areas: int | None = None,
        max_area_km2: float | None = None,
        total_km2: float | None = None,
        categories: Iterable[str] = (),
        weights: str | None = None,
        horizon: int = 1,
        fmt: str = "json",
        stop: str = "cap",
        shifts: str | None = None,
    ) -> PlanQuery:
        """A normalised query (ConfigError naming what is wrong); no area limit given: the
        default budget's, no ``areas``: the default number (either fitted to the chosen
        types' study area when it is too small for the default); no ``shifts``: the book's."""
        if fmt not in FORMATS:
            raise ConfigError(f"format {fmt!r}: must be one of {list(FORMATS)}")
        if stop not in STOPS:
            raise ConfigError(f"stop {stop!r}: must be one of {list(STOPS)}")
        if not 1 <= horizon <= self.horizon:
            raise ConfigError(f"horizon {horizon}: must be between 1 and {self.horizon}")
        default_km2 = max_area_km2 is None and total_km2 is None
        if default_km2:
            max_area_km2, total_km2 = self.configured.max_area_km2, self.configured.total_km2
        count = self.configured.areas if areas is None else areas
        types = self.select(categories)
        budget, note = PlanBudget(count, max_area_km2, total_km2), None
        if default_km2:  # the fast path's case (a dashboard polling the default): kept
            key = (types, areas)  # bounded: the types' sets, and areas=1..MAX_AREAS or None
            fitted = self._fitted.get(key)
            if fitted is None:
                fitted = self._fitted[key] = self._fit(budget, types, areas is None, True)
            budget, note = fitted
        elif areas is None:
            budget, note = self._fit(budget, types, True, False)
        targets = {k: v.target for k, v in self.inputs.items()}
        parsed = parse_weights(
            weights, types or self.combined, "weights", "crime type of this plan", targets
        )
        pairs = tuple(sorted((k, float(v)) for k, v in parsed.items() if v != 1.0))
        starts = self.shifts if shifts is None else parse_shifts(shifts, "shifts")
        return PlanQuery(budget, types, pairs, horizon, fmt, stop, starts, note)

    def _fit(
        self, budget: PlanBudget, types: tuple[str, ...], areas: bool, km2: bool
    ) -> tuple[PlanBudget, str | None]:
        """``budget`` fitted to the study area of ``types`` where it was left to the default."""
        return fit_to_study_area(budget, self._km2_of(types), self.resolution, areas=areas, km2=km2)

    def _km2_of(self, types: tuple[str, ...]) -> FloatArray:
        """The areas of the study cells of ``types`` (every type: ``()``), kept per set."""
        found = self._study_km2.get(types)
        if found is None:
            cells = np.unique(np.concatenate([self.inputs[k].cells for k in types]))
            found = self._study_km2[types] = self._cell_km2[np.searchsorted(self._cells, cells)]
        return found

    def select(self, categories: Iterable[str]) -> tuple[str, ...]:
        """Types named by ``categories``: a model name, or a category a model's target
        counts (sorted, unique; empty when none is given)."""
        targets = {k: v.target for k, v in self.inputs.items()}
        return select_types(targets, categories, left_out=tuple(self.excluded))

    def cached(self, query: PlanQuery) -> T | None:
        """The packed bytes of ``query``'s plan if built already (a dict lookup), else None."""
        pinned = self._pinned.get(query)
        if pinned is not None:
            return pinned
        with self._lock:
            found = self._cache.get(query)
            if found is not None:
                self._cache.move_to_end(query)
            return found

    def get(self, query: PlanQuery) -> T:
        """The packed bytes of ``query``'s plan (built on first request, recorded, then
        cached; a plan whose record failed is not cached, so the next request tries again)."""
        found = self.cached(query)
        if found is not None:
            return found
        data, recorded = self._bytes(query, "requested")  # outside the lock: blocks no one
        packed = self.pack(data)
        if not recorded:
            return packed
        with self._lock:
            self._cache[query] = packed
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return packed

    def _default_queries(self) -> list[PlanQuery]:
        return [
            PlanQuery(self.default, fmt=fmt, shifts=self.shifts, note=self.default_note)
            for fmt in FORMATS
        ]

    def _bytes(self, query: PlanQuery, first: str) -> tuple[bytes, bool]:
        """The plan's bytes, and whether it is recorded (or nothing records plans)."""
        document = self.document(query)
        data = plan_to_bytes(document, query.fmt)
        if self.record is None:
            return data, True
        as_json = data if query.fmt == "json" else plan_to_bytes(document, "json")
        types = query.types or self.combined
        params = {
            **query.budget.as_dict(),
            "types": list(types),
            "weights": dict(query.weights),
            "horizon": query.horizon,
            "stop": query.stop,
            "shifts": list(query.shifts),
        }
        versions = {k: self.inputs[k].version for k in types}
        try:
            self.record(plan_record(document, strong_etag(as_json), versions=versions,
                                    params=params, first=first))  # fmt: skip
        except OSError as err:  # served all the same; recorded at the next try
            logger.error("served plan not recorded (%s): %s", params, err)
            return data, False
        return data, True

    def document(self, query: PlanQuery) -> dict[str, Any]:
        """The plan document of ``query`` (``build_plan`` on the book's inputs)."""
        types = query.types or self.combined
        forecasts = {k: self.inputs[k].periods[query.horizon - 1] for k in types}
        cells = np.unique(np.concatenate([self.inputs[k].cells for k in types]))
        read = self._histories[reading_type(types)]
        return build_plan(
            forecasts,
            cells,
            self.resolution,
            read.events,
            as_of=self.as_of,
            freq=self.freq,
            budget=query.budget,
            weights=dict(query.weights),
            categories={k: self.inputs[k].target for k in types},
            stop=query.stop,
            event_cells=read.cells,
            history_start=read.start,
            cell_km2=self._cell_km2[np.searchsorted(self._cells, cells)],
            min_events_shown=self.min_events_shown,
            budget_note=query.note,
            shifts=query.shifts,
            heaps=read.heaps,
        )


def _history(
    events: pd.DataFrame, as_of: pd.Timestamp, resolution: int
) -> tuple[pd.DataFrame, CellArray]:
    """The events a plan reads (before ``as_of``; local time without its zone, precision and
    category as a pandas categorical: each plan compares, filters and maps them) and each
    one's cell."""
    local = local_times(events)
    keep = np.asarray(local < as_of, dtype=bool)
    kept = events.loc[keep]
    cells = points_to_cells(
        kept["lat"].to_numpy(np.float64), kept["lng"].to_numpy(np.float64), resolution
    )
    slim = pd.DataFrame(
        {
            "occurred_at": local[keep].reset_index(drop=True),  # naive: no zone to convert
            "time_precision": kept["time_precision"].reset_index(drop=True),
            "category": kept["category"].astype("category").reset_index(drop=True),
        }
    )
    return slim, cells
