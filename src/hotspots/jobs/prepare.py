"""The first stage of ``hotspots train`` and ``hotspots backtest``: read a spec's events and
count them into its panel, on whole periods (``snap_window``), as ``Prepared``.

``jobs.train`` runs the stages after it (backtests, selection, the final fit) on what this
returns, and re-exports ``Prepared``, ``prepare`` and ``snap_window``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.features import Panel, events_to_panel, period_floor
from hotspots.features.panel import to_timestamp
from hotspots.features.partitions import is_partitioned, parquet_to_panel
from hotspots.forecasters import next_period_start
from hotspots.grid import StudyArea
from hotspots.jobs.data import (
    LoadedEvents,
    Progress,
    ingest_options,
    load_events,
    load_partitions,
)
from hotspots.jobs.data import whole_periods_end as _whole_end
from hotspots.jobs.data import whole_periods_start as _whole_start
from hotspots.jobs.dates import check_year_first
from hotspots.jobs.spec import TrainingSpec, check_spec, match_categories


@dataclass(frozen=True)
class Prepared:
    """The events and the panel a spec trains on."""

    spec: TrainingSpec
    loaded: LoadedEvents
    panel: Panel
    target: tuple[str, ...]
    until: pd.Timestamp
    notes: tuple[str, ...] = ()
    resolution_choice: dict[str, Any] | None = None
    """How ``grid.resolutions`` chose the panel's resolution (``jobs.geometry``), or None."""

    @property
    def target_events(self) -> int:
        """Target-category events counted in the panel."""
        idx = [self.panel.categories.index(c) for c in self.target]
        return int(self.panel.counts[idx].sum())

    def data_summary(self) -> dict[str, Any]:
        """The data fingerprint plus what the panel holds, for the manifest and card."""
        p = self.panel
        return {
            **self.loaded.fingerprint(),
            "training_start": p.periods[0].isoformat(),
            "training_until": self.until.isoformat(),
            "periods": len(p.periods),
            "freq": p.freq,
            "resolution": p.resolution,
            "study_cells": int(p.cells.size),
            "study_area_km2": round(p.study_area.area_km2, 3),
            "categories": list(p.categories),
            "target_categories": list(self.target),
            "events_in_panel": int(p.counts.sum()),
            "target_events_in_panel": self.target_events,
            "n_outside_study_area": p.n_outside,
            "window_notes": list(self.notes),
            **({"resolution_choice": self.resolution_choice} if self.resolution_choice else {}),
        }

    @property
    def nbytes(self) -> int:
        """The bytes of its arrays and frames (the events read, the panel's counts, cells,
        periods, events and covariates; a frame's columns as ``memory_usage(deep=False)``
        counts them): about what a copy of it takes, e.g. for Dask (``cluster.sizes``)."""
        p, events = self.panel, self.panel.events
        frames = [f for f in (self.loaded.events, p.covariates) if f is not None]
        arrays: list[Any] = [p.counts, p.cells, p.periods]
        if events is not None:
            arrays += [events.time_ns, events.cell, events.category, events.lat, events.lng]
            arrays.append(events.precision)
        return sum(int(np.asarray(a).nbytes) for a in arrays) + sum(
            int(f.memory_usage(index=True, deep=False).sum()) for f in frames
        )


def prepare(
    spec: TrainingSpec, progress: Progress | None = None, loaded: LoadedEvents | None = None
) -> Prepared:
    """Read the spec's events (or take ``loaded``, e.g. the export plus events posted since)
    and count them into its panel (before ``window.until``).

    A ``window.until`` or ``window.start`` inside a period is snapped to a period start (see
    ``snap_window``), so every period of the panel, and every backtest fold, is whole.
    ``loaded`` also spares a second read when one spec is prepared at several resolutions.
    """
    check_spec(spec)  # a wrong model, parameter or path fails before the data are read
    data = spec.data
    if loaded is None:
        options = ingest_options(**data.model_dump(exclude={"events"}))
        if is_partitioned(data.events):
            loaded = load_partitions(data.events, options)
        else:
            loaded = load_events(data.events, options, progress)
    freq = spec.grid.period
    start, until, notes = snap_window(spec.window.start, spec.window.until, freq)
    until = until if until is not None else _whole_end(loaded.events, freq)
    first = start if start is not None else _whole_start(loaded.events, freq)
    panel = _count(spec, loaded, first, until)
    if spec.covariates:  # static data of the panel's cells, which LightGBM reads
        from hotspots.features.covariates import CovariateLayer, cell_covariates

        layers = [CovariateLayer(c.path, c.kind, c.name, c.where) for c in spec.covariates]
        panel = replace(panel, covariates=cell_covariates(panel.cells, layers))
    target = target_categories(spec, panel, loaded)
    return Prepared(spec, loaded, panel, target, until, notes)


PANEL_SECTIONS = ("data", "grid", "window", "covariates")
"""The sections of a spec that ``prepare`` reads to make its events and panel: the events and
how they are read (boundary included), the cells and periods, the window and the cells'
covariates. The target, the model and the backtest do not change them (the panel counts every
category; the target only picks among them)."""


def panel_key(spec: TrainingSpec) -> str:
    """Equal for specs that ``prepare`` makes the same events and panel of (``PANEL_SECTIONS``)."""
    return spec.model_dump_json(include=set(PANEL_SECTIONS))


def for_spec(prepared: Prepared, spec: TrainingSpec) -> Prepared:
    """``prepared`` as ``prepare(spec)`` makes it, for a ``spec`` of the same ``panel_key``: its
    events and panel (the same objects, not copies) with ``spec`` and ``spec``'s target."""
    if panel_key(spec) != panel_key(prepared.spec):
        differ = [k for k in PANEL_SECTIONS if getattr(spec, k) != getattr(prepared.spec, k)]
        raise ValueError(
            f"spec {spec.name!r} has another panel than {prepared.spec.name!r}: their "
            f"{', '.join(differ)} differ"
        )
    check_spec(spec)  # as prepare does: the same errors, in the same order
    target = target_categories(spec, prepared.panel, prepared.loaded)
    return replace(prepared, spec=spec, target=target)


def target_categories(spec: TrainingSpec, panel: Panel, loaded: LoadedEvents) -> tuple[str, ...]:
    """The spec's target among the panel's categories; a target no accepted row has is
    refused saying where its rows may have gone: left out by policy (drugs, public order),
    or rejected (Vancouver's person offences, whose locations are withheld)."""
    try:
        return match_categories(spec.target, panel.categories)
    except ConfigError as err:
        report = loaded.report.to_dict() if loaded.report is not None else {}
        report = report or loaded.meta.get("report") or {}
        raise ConfigError(f"{err}{_where_gone(spec.target.categories, report)}") from None


def _where_gone(entries: Sequence[str], report: dict[str, Any]) -> str:
    """``; left out by policy ...`` or ``; ... rejected ...``: why no accepted row has them."""
    left = {
        c: n
        for c, n in (report.get("excluded_by_policy") or {}).items()
        if any(c == e or re.search(e, c, re.IGNORECASE) for e in entries)  # as matched
    }
    if left:
        named = ", ".join(f"{c!r} ({n:,} rows)" for c, n in left.items())
        return (
            f"; the export's {named} were left out by policy as officer-initiated: "
            "data.include_discretionary = true (--include-discretionary) keeps them"
        )
    rejected = report.get("rejected") or {}
    if sum(rejected.values()) < 0.01 * (report.get("rows_read") or 0) or not rejected:
        return ""  # a few rejects cannot hide a whole crime type: a misspelt name is likelier
    reasons = ", ".join(f"{r} {n:,}" for r, n in rejected.items())
    return (
        f"; if the export holds it, its rows may all be among the {sum(rejected.values()):,} "
        f"rejected ({reasons}: see the validation report)"
    )


class SharedPanels:
    """``prepare`` for ``specs`` taken in turn, reading and counting once for the specs of one
    ``panel_key`` (``for_spec`` gives the others theirs): the same results, without a second
    read. A prepared panel is held until the last spec of its key has taken it, no longer.
    Specs choosing among ``grid.resolutions`` (``jobs.geometry``) are not prepared here."""

    def __init__(self, specs: Sequence[TrainingSpec]) -> None:
        self.left = Counter(panel_key(s) for s in specs if not s.grid.resolutions)
        self.held: dict[str, Prepared] = {}

    def reads(self, spec: TrainingSpec) -> bool:
        """Whether ``prepare(spec)`` reads the events (no spec before it had its panel)."""
        return panel_key(spec) not in self.held

    def prepare(self, spec: TrainingSpec, progress: Progress | None = None) -> Prepared:
        """``prepare(spec)``, or an earlier spec's events and panel as ``spec``'s."""
        key = panel_key(spec)
        held = self.held.pop(key, None)
        prepared = prepare(spec, progress) if held is None else for_spec(held, spec)
        self.left[key] -= 1
        if self.left[key] > 0:
            self.held[key] = prepared
        return prepared


def _count(
    spec: TrainingSpec, loaded: LoadedEvents, start: pd.Timestamp, end: pd.Timestamp
) -> Panel:
    """The spec's panel of ``loaded``: of its events, or partition by partition (on the
    workers, on a cluster) when they are in Parquet partitions."""
    data, res, freq = spec.data, spec.grid.resolution, spec.grid.period
    area = StudyArea.from_boundary(data.boundary, res) if data.boundary else None
    k = spec.grid.k_ring
    if loaded.partitions:
        return parquet_to_panel(
            loaded.partitions, res, freq, study_area=area, k=k, start=start, end=end
        )
    return events_to_panel(loaded.events, res, freq, study_area=area, k=k, start=start, end=end)


_UNIT = {"D": "day", "W": "week", "M": "month"}


def snap_window(
    start: str | None, until: str | None, freq: str
) -> tuple[pd.Timestamp | None, pd.Timestamp | None, tuple[str, ...]]:
    """The training window's bounds on period starts, and a note for each bound moved.

    ``until`` inside a period moves back to that period's start: the part period is left out
    rather than scored and fitted as a whole one. ``start`` inside a period moves on to the
    next period start, so the first period is whole too.
    """
    unit, notes = _UNIT[freq], []
    lo, hi = (_naive(v, f"window.{k}") for k, v in (("start", start), ("until", until)))
    if hi is not None and (floor := _floor(hi, freq)) != hi:
        notes.append(
            f"--until {_show(hi)} ({hi.day_name()}) is inside the {unit} starting "
            f"{floor.date()}: training stops at {floor.date()}, so no {unit} is a part one"
        )
        hi = floor
    if lo is not None and _floor(lo, freq) != lo:
        nxt = next_period_start(lo, freq)
        notes.append(
            f"--start {_show(lo)} ({lo.day_name()}) is inside a {unit}: training starts at "
            f"{nxt.date()}, the next {unit} start, so no {unit} is a part one"
        )
        lo = nxt
    return lo, hi, tuple(notes)


def _naive(value: str | None, name: str) -> pd.Timestamp | None:
    if not value:
        return None
    check_year_first(value, name)
    ts = to_timestamp(value, name)
    return ts.tz_localize(None) if ts.tz is not None else ts


def _show(ts: pd.Timestamp) -> str:
    return str(ts.date()) if ts == ts.normalize() else ts.isoformat(sep=" ")


def _floor(ts: pd.Timestamp, freq: str) -> pd.Timestamp:
    return pd.Timestamp(period_floor([ts], freq)[0])
