"""The patrol plan document: where (areas), for what (per type), when (shift blocks and
hours), why (reasons).

``build_plan`` is a pure function of the forecast(s), the model's study cells and the event
history; its result is plain JSON-able data, so ``hotspots plan`` and the API can serve the
same document. Expected counts carry an 80% Poisson interval of the area's summed count (the
spread of the count around the forecast, not model uncertainty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import h3
import numpy as np
import pandas as pd
from scipy.stats import poisson

from hotspots.errors import ConfigError
from hotspots.grid import cells_area_km2, cells_to_strings
from hotspots.jobs.data import whole_periods_start
from hotspots.publishing.plan_context import (
    WITHHELD,
    FloatArray,
    ReasonFn,
    area_histories,
    events_in_areas,
    events_to_week_grid,
    forecast_reason,
    history_reasons,
    hours_of_week,
)
from hotspots.publishing.plan_heaps import MinuteWeights, heaped_minutes
from hotspots.publishing.plan_shifts import DEFAULT_SHIFTS, parse_shifts, shift_blocks
from hotspots.publishing.plans import (
    CellArray,
    IntArray,
    PlanBudget,
    check_budget,
    combine_scores,
    grow_areas,
    top_cells_sum_at_area,
)
from hotspots.publishing.suppression import withheld

INTERVAL = (0.1, 0.9)
"""Quantiles of the Poisson interval of an area's count (80%, as the forecast document)."""
ALGORITHM = {
    "cell": "each area starts at the highest-scoring free cell",
    "window": "each area starts at the free cell whose disk of about one area holds the most "
    "free score",
    "area": "each area is the one holding the most of those grown from the best free cells and "
    "from the free cells whose disk of about one area holds the most",
}
STOP_RULE = {
    "cap": "until the area limit",
    "top-cells": "until the area limit or a cell below the least of the top cells the whole "
    "budget would hold",
}


def algorithm(seed: str, stop: str) -> str:
    """The plan document's one-line description of how its areas were made."""
    return (
        "greedy region growing over H3 adjacency: an area takes its best adjacent free cell (or "
        "a weak one with the strong cell beyond it, when their mean beats the best single cell) "
        f"{STOP_RULE[stop]}; {ALGORITHM[seed]}"
    )


def forecast_to_expected(frame: pd.DataFrame, cells: CellArray) -> tuple[FloatArray, pd.Timestamp]:
    """Expected counts aligned with ``cells`` from a ranked forecast of one as_of (its first
    period), and that period's start; cells the forecast lacks count 0."""
    if frame.empty:
        raise ConfigError("the forecast has no rows")
    if "as_of" in frame and frame["as_of"].nunique() > 1:
        raise ConfigError("a plan is built from the forecast of one as_of; this one has several")
    first = frame["period_start"].min()
    rows = frame.loc[frame["period_start"] == first]
    where = rows["cell"].to_numpy(np.uint64)
    pos = np.minimum(np.searchsorted(cells, where), cells.size - 1)
    ok = cells[pos] == where
    out = np.zeros(cells.size)
    out[pos[ok]] = rows["expected_count"].to_numpy(np.float64)[ok]
    return out, pd.Timestamp(first)


def shared_categories(
    targets: Mapping[str, tuple[str, ...] | None],
) -> list[tuple[str, str, tuple[str, ...] | None]]:
    """Pairs of crime types (models) that count some of the same events: ``(a, b, shared)``,
    ``shared`` None where either counts every category. A plan adds its types' forecasts,
    so two such models would count those crimes twice."""
    names = sorted(targets)
    found: list[tuple[str, str, tuple[str, ...] | None]] = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ta, tb = targets[a], targets[b]
            if ta is None or tb is None:
                found.append((a, b, None))
            elif shared := tuple(sorted(set(ta) & set(tb))):
                found.append((a, b, shared))
    return found


def distinct_types(
    targets: Mapping[str, tuple[str, ...] | None],
) -> tuple[tuple[str, ...], dict[str, str]]:
    """The types a plan of every type combines (by name, each that counts no crime an earlier
    one counts), and each type left out -> the type it overlaps."""
    kept: list[str] = []
    left: dict[str, str] = {}
    for name in sorted(targets):
        clash = [k for k in kept if shared_categories({k: targets[k], name: targets[name]})]
        if clash:
            left[name] = clash[0]
        else:
            kept.append(name)
    return tuple(kept), left


def check_distinct_types(targets: Mapping[str, tuple[str, ...] | None], flag: str) -> None:
    """ConfigError naming two types of a plan that count the same crimes (``flag``: how the
    caller names a type, e.g. ``--model``)."""
    pairs = shared_categories(targets)
    if pairs:
        a, b, shared = pairs[0]
        what = f"the categories {list(shared)}" if shared else "every category"
        raise ConfigError(
            f"{flag} {a} and {b} both forecast {what}: a plan adds its types' forecasts, so "
            f"it would count those crimes twice; plan with one of them"
        )


def build_plan(
    forecasts: Mapping[str, pd.DataFrame],
    cells: CellArray,
    resolution: int,
    events: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    freq: str,
    budget: PlanBudget,
    weights: Mapping[str, float] | None = None,
    categories: Mapping[str, tuple[str, ...] | None] | None = None,
    reasons: ReasonFn = history_reasons,
    seed: str = "area",
    stop: str = "cap",
    event_cells: CellArray | None = None,
    history_start: pd.Timestamp | None = None,
    cell_km2: FloatArray | None = None,
    min_events_shown: int = 0,
    budget_note: str | None = None,
    shifts: str | Sequence[int] = DEFAULT_SHIFTS,
    heaps: MinuteWeights | None = None,
) -> dict[str, Any]:
    """The plan document for ``budget`` from one forecast per crime type.

    Parameters
    ----------
    forecasts
        Crime type -> ranked forecast of one as_of (``forecast_events`` output); the plan is for
        its first period.
    cells, resolution
        The model's study cells (sorted uint64) and their H3 resolution.
    events
        The event history (event table); only events before ``as_of`` are read.
    weights
        Severity weight per type (default 1); the areas maximise the weighted sum.
    categories
        Type -> event categories it counts (a model's ``target_``; ``None``: all), for the
        areas' hours and reasons.
    reasons
        Area history -> reasons; swap in a forecaster's explain hook here.
    seed
        How each area's first cell is chosen (``plans.SEEDS``).
    stop
        When an area stops growing (``plans.STOPS``): at its limit, or also at a cell below the
        least of the budget's top cells (areas then may be smaller than the limit).
    event_cells
        Optional: each event row's cell at ``resolution``, when the caller holds them already
        (a service publishing several budgets from one event table); else computed.
    history_start
        Optional: ``whole_periods_start(events, freq)``, when the caller holds it already
        (~10 ms on 150,000 events, a quarter of a plan on demand); else computed.
    cell_km2
        Optional: the area of each of ``cells``, when the caller holds them already (exact
        H3 areas cost ~20 ms for 5,000 cells); else computed.
    min_events_shown
        An area with fewer events (of its types) in its history is kept, ranked as it is,
        but ``suppressed``: its hours are ``"withheld"`` and its reasons carry no counts of
        past events (``HOTSPOTS_MIN_EVENTS_SHOWN``, as the forecast document's cells).
    budget_note
        Why ``budget`` is not the one configured (``fit_to_study_area``'s sentence), shown
        as the document's ``budget.note``; absent when None.
    shifts
        The hours the blocks of the day start at (``HOTSPOTS_PLAN_SHIFTS``, e.g. "7,15,23"):
        each area's ``when`` names the blocks of the week and of the day that stand out
        (``plan_shifts``) beside its hours; the document's ``shifts`` lists them.
    heaps
        Optional: ``heaped_minutes(events, as_of)``, when the caller holds it already; else
        computed. Events at a heaped clock minute (SF's 12:00) count in the hours and blocks
        only as much as the neighbouring hours predict (``plan_heaps``; ``NO_HEAPS``: all).
    """
    starts = parse_shifts(shifts, "shifts")
    if categories is not None:
        check_distinct_types(categories, "crime types")
    cells = np.asarray(cells, dtype=np.uint64)
    expected: dict[str, FloatArray] = {}
    period_start = None
    for name, frame in forecasts.items():
        expected[name], period_start = forecast_to_expected(frame, cells)
    score = combine_scores(expected, weights)
    cell_km2 = cells_area_km2(cells) if cell_km2 is None else np.asarray(cell_km2, np.float64)
    if cell_km2.shape != cells.shape:
        raise ValueError(f"{cell_km2.size} cell areas for {cells.size} cells")
    check_budget(budget, cell_km2, resolution)
    members = grow_areas(cells, score, cell_km2, budget, seed, stop)
    members.sort(key=lambda m: (-float(score[m].sum()), int(m[0])))  # rank 1 = most at stake
    cell_area = np.full(cells.size, -1, dtype=np.int64)
    for i, m in enumerate(members):
        cell_area[m] = i
    cat_weight = _category_weights(events, expected, weights, categories)
    if heaps is None:
        heaps = heaped_minutes(events, as_of)
    found = events_in_areas(
        events, cells, resolution, cell_area, as_of, cat_weight, event_cells, heaps
    )
    totals = np.array([score[m].sum() for m in members])
    counts = np.array([sum(e[m].sum() for e in expected.values()) for m in members])
    km2 = np.array([cell_km2[m].sum() for m in members])
    grid = events_to_week_grid(found, len(members))
    blocks = shift_blocks(grid, starts)
    whens = [
        w if isinstance(w, str) or b is None else b | w
        for w, b in zip(hours_of_week(grid), blocks, strict=True)
    ]
    # the history starts where the training panels do: one function decides both
    start = history_start if history_start is not None else history_start_of(events, freq)
    histories = area_histories(
        found, len(members), as_of, freq, km2, float(cell_km2.sum()), counts, start=start
    )
    # an area with too few past events keeps its place but shows none of them
    shown = (~withheld([h.counts.sum() for h in histories], min_events_shown)).tolist()
    whens = [w if ok else WITHHELD for w, ok in zip(whens, shown, strict=True)]
    whys = [
        reasons(h) if ok else [forecast_reason(h)] for h, ok in zip(histories, shown, strict=True)
    ]
    # each area's 80% Poisson interval, every area in one call
    bounds = [np.where(counts > 0, poisson.ppf(q, np.maximum(counts, 1e-12)), 0) for q in INTERVAL]
    areas = [
        _area(
            i,
            m,
            cells,
            expected,
            counts[i],
            totals[i],
            km2[i],
            whens[i],
            whys[i],
            shown[i],
            (int(bounds[0][i]), int(bounds[1][i])),
        )  # fmt: skip
        for i, m in enumerate(members)
    ]
    return {
        "as_of": as_of.strftime("%Y-%m-%d"),
        "period_start": period_start.strftime("%Y-%m-%d") if period_start is not None else None,
        "freq": freq,
        "resolution": int(resolution),
        "shifts": list(starts),
        "budget": budget.as_dict() | ({} if budget_note is None else {"note": budget_note}),
        "types": {
            k: {
                "weight": float((weights or {}).get(k, 1.0)),
                "categories": _listed((categories or {}).get(k)),
            }
            for k in expected
        },
        "algorithm": algorithm(seed, stop),
        "summary": _summary(score, cell_km2, km2, counts, totals),
        "areas": areas,
    }


def _summary(
    score: FloatArray, cell_km2: FloatArray, km2: FloatArray, counts: FloatArray, totals: FloatArray
) -> dict[str, Any]:
    """The plan's totals, and the share the same km2 of the highest single cells would hold."""
    top = top_cells_sum_at_area(score, score, cell_km2, float(km2.sum()))
    city = float(score.sum())
    return {
        "areas": int(km2.size),
        "area_km2": _r(km2.sum()),
        "expected_count": _r(counts.sum()),
        "score": _r(totals.sum()),
        "share_of_forecast": _r(totals.sum() / city) if city > 0 else 0.0,
        "top_cells_share_same_area": _r(top / city) if city > 0 else 0.0,
    }


def _category_weights(
    events: pd.DataFrame,
    expected: Mapping[str, FloatArray],
    weights: Mapping[str, float] | None,
    categories: Mapping[str, tuple[str, ...] | None] | None,
) -> dict[str, float] | None:
    """Event category -> the largest weight of a type that counts it (None: all, weight 1)."""
    if categories is None and not weights:
        return None
    listed = {name: (categories or {}).get(name) for name in expected}
    seen: list[str] = []
    if any(cats is None for cats in listed.values()):
        seen = [str(c) for c in pd.unique(events["category"].dropna())]
    out: dict[str, float] = {}
    for name, cats in listed.items():
        weight = float((weights or {}).get(name, 1.0))
        for cat in seen if cats is None else cats:
            out[cat] = max(out.get(cat, 0.0), weight)
    return out


def _area(
    index: int,
    members: IntArray,
    cells: CellArray,
    expected: Mapping[str, FloatArray],
    count: float,
    score: float,
    km2: float,
    when: dict[str, Any] | str,
    why: list[str],
    shown: bool,
    interval: tuple[int, int],
) -> dict[str, Any]:
    low, high = interval
    strings = [str(s) for s in cells_to_strings(cells[members])]
    return {
        "rank": index + 1,
        "area_km2": _r(km2),
        "n_cells": len(strings),
        "expected_count": _r(count),
        "interval": {
            "low": int(low),
            "high": int(high),
            "level": round(INTERVAL[1] - INTERVAL[0], 2),
        },
        "score": _r(score),
        "expected_by_type": {k: _r(v[members].sum()) for k, v in expected.items()},
        "when": when,
        "reasons": why,
        "suppressed": not shown,
        "cells": strings,
        "boundary": cells_to_boundary_geojson(strings),
    }


def cells_to_boundary_geojson(cells: list[str]) -> dict[str, Any]:
    """The dissolved outline of H3 cells as a GeoJSON geometry ([lng, lat] pairs, closed
    rings, 6 decimals); one Polygon for a contiguous area."""
    geo = h3.cells_to_geo(cells)  # h3 v4 gives GeoJSON order already: (lng, lat)
    return {"type": geo["type"], "coordinates": _round(geo["coordinates"])}


def _round(value: Any) -> Any:
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], float):
            return [round(v, 6) for v in value]
        return [_round(v) for v in value]
    return value


def _listed(cats: tuple[str, ...] | str | None) -> list[str] | None:
    if cats is None:
        return None
    return [cats] if isinstance(cats, str) else [str(c) for c in cats]


def _r(value: Any) -> float:
    return round(float(value), 4)


def history_start_of(events: pd.DataFrame, freq: str) -> pd.Timestamp:
    """Where the area histories start: where the training panels do (one function decides
    both), ``Timestamp.max`` when there are no events."""
    return whole_periods_start(events, freq) if len(events) else pd.Timestamp.max
