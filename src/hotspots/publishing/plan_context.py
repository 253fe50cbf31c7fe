"""What a patrol area's own history says: when its crime happens and why it was chosen.

Both read the events before the plan's ``as_of`` that fall in each area, vectorised over all
events at once (one ``bincount`` per question). Reasons are a small pluggable function of an
``AreaHistory``: the default, ``history_reasons``, compares the long-run rate with the last few
periods; a forecaster's own explain hook can be wrapped into the same signature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import binom, poisson

from hotspots.features import period_floor
from hotspots.forecasters.explain import RECENT_PERIODS
from hotspots.grid import points_to_cells
from hotspots.jobs.data import local_times
from hotspots.publishing.plan_heaps import NO_HEAPS, MinuteWeights

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TOP_HOURS = 3
"""Hours of the week reported per area."""
HOUR_ALPHA = 0.05
"""An hour is named only when an even spread of the area's timed events would put as many
in it with probability under this, over all the hours of the week (or day) at once."""
REASON_ALPHA = 0.05
"""A history reason is given only when its count would come about by chance under the rate it
is compared with (Poisson) with probability under this (``beyond_chance``)."""
UNITS = {"D": "day", "W": "week", "M": "month"}
WITHHELD = "withheld"
"""An area's ``when`` when its history has too few events to show (``min_events_shown``)."""


@dataclass(frozen=True)
class AreaEvents:
    """The history events that fall in some plan area: which area, weight, time."""

    area: IntArray
    """Area index (0-based, in plan order) of each event."""
    weight: FloatArray
    """Severity weight of each event's crime type."""
    times: pd.Series
    """Local wall-clock times (naive)."""
    timed: npt.NDArray[np.bool_]
    """True where the time of day is known (minute or hour precision)."""
    city_times: npt.NDArray[np.datetime64]
    """Local times (naive) of the history events in the study area, in an area or not: the
    city's rate counts them."""
    heaps: MinuteWeights = NO_HEAPS
    """The heaped minutes of the events read (``plan_heaps``), ``slot`` of these events."""


@dataclass(frozen=True)
class AreaHistory:
    """What a reason function sees about one area."""

    counts: FloatArray
    """Events (of the plan's types) per model period, oldest first, the last ending at as_of."""
    area_km2: float
    city_rate: float
    """The city's events per period and km2 over the same periods."""
    expected: float
    """The forecast's expected count for the area's next period."""
    freq: str


ReasonFn = Callable[[AreaHistory], list[str]]


def events_in_areas(
    events: pd.DataFrame,
    cells: npt.NDArray[np.uint64],
    resolution: int,
    cell_area: IntArray,
    as_of: pd.Timestamp,
    category_weight: Mapping[str, float] | None,
    event_cells: npt.NDArray[np.uint64] | None = None,
    heaps: MinuteWeights = NO_HEAPS,
) -> AreaEvents:
    """The events before ``as_of`` in the study cells, with the area each falls in (-1: none).

    ``cell_area[i]`` is the area index of ``cells[i]`` (-1 outside every area).
    ``category_weight`` maps a category to its type's severity weight; categories not in it
    are left out (``None``: every category, weight 1). ``event_cells`` (each event row's cell at
    ``resolution``) saves indexing the points again when several plans read the same events.
    ``heaps`` (``plan_heaps.heaped_minutes`` of these events) weighs heaped clock minutes down.
    """
    if event_cells is not None and len(event_cells) != len(events):
        raise ValueError(f"{len(event_cells)} event cells for {len(events)} events")
    heaps.check(len(events))
    times = local_times(events)
    keep = np.array(times < as_of, dtype=bool)  # a writable copy
    category = events["category"]
    if category_weight is not None:
        keep &= np.asarray(category.isin(list(category_weight)), dtype=bool)
    rows = np.flatnonzero(keep)  # only the events read are indexed (a fraction of a city's)
    weight = np.ones(rows.size, dtype=np.float64)
    if category_weight is not None:
        weight = np.asarray(category.take(rows).map(dict(category_weight)), dtype=np.float64)
    if event_cells is not None:
        where = np.asarray(event_cells, dtype=np.uint64)[rows]
    else:
        lat = events["lat"].to_numpy(np.float64)[rows]
        where = points_to_cells(lat, events["lng"].to_numpy(np.float64)[rows], resolution)
    pos = np.minimum(np.searchsorted(cells, where), max(cells.size - 1, 0))
    inside = cells[pos] == where if cells.size else np.zeros(rows.size, dtype=bool)
    area = np.where(inside, cell_area[pos], -1)
    hit = area >= 0
    precision = events["time_precision"].take(rows[hit]).astype(str).to_numpy()
    return AreaEvents(
        area=area[hit].astype(np.int64),
        weight=weight[hit],
        times=times.take(rows[hit]).reset_index(drop=True),
        timed=precision == "minute",
        city_times=times.take(rows[inside]).to_numpy(dtype="M8[ns]"),
        heaps=heaps.take(rows[hit]),
    )


@dataclass(frozen=True)
class WeekGrid:
    """The timed events of every plan area per hour of the week (Monday 00:00 first)."""

    weighted: FloatArray
    """Areas x 168: severity-weighted events (those at a heaped minute at its weight)."""
    raw: FloatArray
    """Areas x 168: events without severity weights (what the tests and ``events`` count,
    rounded; those at a heaped minute at its weight)."""
    counted: IntArray
    """Per area: its events with a time of day as ``raw`` counts them (rounded)."""
    untimed: IntArray
    """Per area: its events without one (dates or months only, or a placeholder clock time
    read as a date at ingest), left out of the hours and blocks."""
    timed: IntArray | None = None
    """Per area: its events with a time of day, each a whole event (None: ``counted``)."""
    excess: FloatArray | None = None
    """Areas x heaped minutes: the events at each minute beyond its weight, not counted."""
    heaped: tuple[str, ...] = ()
    """The heaped minutes' labels ("12:00"), the columns of ``excess``."""

    @property
    def with_time(self) -> IntArray:
        """Per area: its events with a time of day, each a whole event."""
        return self.counted if self.timed is None else self.timed


def events_to_week_grid(found: AreaEvents, n_areas: int) -> WeekGrid:
    """The hour-of-week grid of every area, one ``bincount`` each for the weighted and raw
    counts; the hours and the shift blocks (``plan_shifts``) both read it. An event at a
    heaped minute (``found.heaps``) counts at its weight in both."""
    timed = found.timed
    slot = (found.times.dt.day_of_week.to_numpy() * 24 + found.times.dt.hour.to_numpy())[timed]
    area = found.area[timed]
    at = area * 168 + slot
    heap, excess = found.heaps.take(timed).weigh(area, n_areas)
    weight = found.weight[timed] if heap is None else found.weight[timed] * heap
    grid = np.bincount(at, weights=weight, minlength=n_areas * 168)
    raw = np.bincount(at, weights=heap, minlength=n_areas * 168).reshape(n_areas, 168)
    timed_n = np.bincount(area, minlength=n_areas).astype(np.int64)
    counted = timed_n if heap is None else np.rint(raw.sum(axis=1)).astype(np.int64)
    untimed = np.bincount(found.area[~timed], minlength=n_areas)
    return WeekGrid(
        grid.reshape(n_areas, 168).astype(np.float64),
        raw.astype(np.float64),
        counted,
        untimed.astype(np.int64),
        timed_n,
        excess,
        tuple(m.label for m in found.heaps.minutes),
    )


def hours_of_week(grid: WeekGrid) -> list[dict[str, Any] | str]:
    """Per area, the ``TOP_HOURS`` hours of the week, and of the day (all days together: a
    steadier signal on a thin history), with the most severity-weighted events; "unknown"
    when none of its events has a time of day (month- or day-only data).

    An hour is named only when it stands out from an even spread (``standing_out``): 8 events
    put one in each of 8 hours of the week, which read as "21x" busier than average. The lists
    are empty when no hour stands out. ``lift`` is the share over an even spread's (1/168 of
    the week, 1/24 of the day); ``events`` the hour's own past events (without severity
    weights), which an officer weighs the lift by: 2 events make an "84x" hour of an area with 4.
    ``events_without_time`` counts the area's events left out for want of a time of day;
    ``placeholder_excess`` those, at each heaped minute, beyond what the hours around predict,
    which the hours, blocks and their ``events`` do not count (``plan_heaps``).
    """
    n_areas, counted, timed = grid.counted.size, grid.counted, grid.with_time
    weighted = grid.weighted
    of_day, raw_of_day = (g.reshape(n_areas, 7, 24).sum(axis=1) for g in (weighted, grid.raw))
    raw, raw_of_day = (np.rint(g).astype(np.int64) for g in (grid.raw, raw_of_day))
    excess = np.rint(grid.excess).astype(np.int64) if grid.excess is not None else None
    # one call for every area (scipy's per-call checks cost more than the sums)
    # an hour stands out by its count and, as weighted, holds more than an even share: with
    # severity weights a count can stand out in an hour the heavier types avoid (a "0.2x")
    weight = weighted.sum(axis=1, keepdims=True)
    week_ok = standing_out(raw, counted[:, None]) & (weighted * 168 > weight)
    day_ok = standing_out(raw_of_day, counted[:, None]) & (of_day * 24 > weight)
    out: list[dict[str, Any] | str] = []
    for i in range(n_areas):
        total = float(weighted[i].sum())
        if timed[i] == 0 or total <= 0:
            out.append("unknown")
            continue
        week = [
            {"day": DAYS[s // 24], "hour": s % 24, "label": f"{DAYS[s // 24]} {_span(s % 24)}"}
            | _share(weighted[i, s], total, 168)
            | {"events": int(raw[i, s])}
            for s in _top(weighted[i], week_ok[i])
        ]
        day = [
            {"hour": h, "label": _span(h)}
            | _share(of_day[i, h], total, 24)
            | {"events": int(raw_of_day[i, h])}
            for h in _top(of_day[i], day_ok[i])
        ]
        out.append(
            {
                "top_hours": week,
                "top_hours_of_day": day,
                "events_with_time": int(timed[i]),
                "events_without_time": int(grid.untimed[i]),
                "placeholder_excess": {}
                if excess is None
                else {m: int(n) for m, n in zip(grid.heaped, excess[i], strict=True) if n > 0},
            }
        )
    return out


def standing_out(
    events: IntArray,
    total: int | IntArray,
    even: float | FloatArray | None = None,
    tests: float | FloatArray | None = None,
) -> npt.NDArray[np.bool_]:
    """The slots (the last axis: hours, or shift blocks) holding more of ``total`` events
    than an even spread plausibly puts in one: the binomial chance of at least that many,
    times the number of ``tests`` (Bonferroni), is under ``HOUR_ALPHA``. ``even`` is each
    slot's share of an even spread and ``tests`` their number, by default 1 / slots and the
    slots (hours of equal length). Rows of areas at once: ``total`` a column."""
    slots = np.shape(events)[-1]
    share = 1.0 / slots if even is None else even
    chance = binom.sf(np.asarray(events) - 1, total, share) * (slots if tests is None else tests)
    return np.asarray((events > 0) & (chance < HOUR_ALPHA))


def _top(values: FloatArray, allowed: npt.NDArray[np.bool_]) -> list[int]:
    """Positions of the ``TOP_HOURS`` largest positive ``allowed`` values, ties to the earlier
    hour."""
    best = np.lexsort((np.arange(values.size), -np.where(allowed, values, -np.inf)))
    return [int(s) for s in best[:TOP_HOURS] if allowed[s] and values[s] > 0]


def _span(hour: int) -> str:
    return f"{hour:02d}:00-{(hour + 1) % 24:02d}:00"


def _share(value: float, total: float, slots: int) -> dict[str, float]:
    share = float(value) / total
    return {"share": round(share, 4), "lift": round(share * slots, 2)}


def area_histories(
    found: AreaEvents,
    n_areas: int,
    as_of: pd.Timestamp,
    freq: str,
    area_km2: FloatArray,
    city_km2: float,
    expected: FloatArray,
    *,
    start: pd.Timestamp,
) -> list[AreaHistory]:
    """Event counts per whole period before ``as_of`` for every area (one bincount); not
    weighted, so reasons speak of events an officer can count. The window starts at
    ``start``, where the training panels start (``whole_periods_start`` of the events): a
    whole period, so a history that began on a Friday does not count its three days as a
    low week, and after any stray event before the dense months, which would add empty
    periods, lower the long-run mean and could fake a "recent rise"."""
    end = pd.Timestamp(period_floor([as_of], freq)[0])
    start = min(start, end)
    periods = pd.date_range(start, end, freq={"D": "D", "W": "W-MON", "M": "MS"}[freq])
    periods = periods[periods < end]
    n = max(len(periods), 1)
    floor = period_floor(found.times, freq)
    index = np.searchsorted(periods.values, floor, side="right") - 1
    ok = (index >= 0) & (floor < end.to_datetime64())  # whole periods only, at both ends
    counts = np.bincount(found.area[ok] * n + index[ok], minlength=n_areas * n)
    counts = counts.reshape(n_areas, n).astype(np.float64)
    city = found.city_times
    city_events = int(((city >= start.to_datetime64()) & (city < end.to_datetime64())).sum())
    city_rate = city_events / n / city_km2 if city_km2 > 0 else 0.0
    return [
        AreaHistory(counts[i], float(area_km2[i]), city_rate, float(expected[i]), freq)
        for i in range(n_areas)
    ]


def history_reasons(history: AreaHistory) -> list[str]:
    """Readable reasons from the area's own history, strongest first (at most three).

    - long-run hotspot: the area's rate per km2 over the whole history is >= 2x the city's;
    - recent rise: the last ``RECENT_PERIODS`` periods average >= 1.25x the long-run mean;
    - near repeats: the last period alone had >= 3 events and >= 2x the long-run mean
      ("busy last month" for monthly periods, too coarse to show a near repeat);
    - otherwise, the forecast itself (its expected count).

    Each also needs its count to be beyond chance at the rate it is compared with
    (``beyond_chance``): 6 events in 4 weeks against 0.8 a week long-run read as a "recent
    rise" of 1.9x, and a Poisson count of mean 3.2 reaches 6 one time in ten.
    """
    unit = UNITS[history.freq]
    counts = history.counts
    long_run = float(counts.mean()) if counts.size else 0.0
    found: list[tuple[float, str]] = []
    if history.area_km2 > 0 and history.city_rate > 0 and counts.size:
        ratio = long_run / history.area_km2 / history.city_rate
        at_city_rate = history.city_rate * history.area_km2 * counts.size
        if ratio >= 2 and beyond_chance(counts.sum(), at_city_rate):
            found.append(
                (
                    ratio,
                    f"long-run hotspot: {ratio:.1f}x the city's rate per km2 over "
                    f"{counts.size} {unit}s",
                )
            )
    if counts.size > RECENT_PERIODS and long_run > 0:
        recent = float(counts[-RECENT_PERIODS:].mean())
        lately = counts[-RECENT_PERIODS:].sum()
        if recent >= 1.25 * long_run and beyond_chance(lately, long_run * RECENT_PERIODS):
            found.append(
                (
                    recent / long_run,
                    f"recent rise: {recent:.1f} a {unit} in the last {RECENT_PERIODS} {unit}s "
                    f"against {long_run:.1f} long-run",
                )
            )
    last = counts[-1] if counts.size else 0.0
    if last >= 3 and last >= 2 * long_run and beyond_chance(last, long_run):
        found.append(
            (
                float(last) / max(long_run, 1e-9),
                # near repeats follow an event within days: a month's count cannot show them
                f"busy last month: {last:.0f} events against {long_run:.1f} long-run"
                if history.freq == "M"
                else f"near repeats: {last:.0f} events in the last {unit}",
            )
        )
    found.sort(key=lambda pair: -pair[0])
    reasons = [text for _, text in found[:3]]
    return reasons or [forecast_reason(history)]


def beyond_chance(observed: float, expected: float) -> bool:
    """Whether ``observed`` events are more than a Poisson count of mean ``expected``
    plausibly reaches: the chance of at least as many is under ``REASON_ALPHA``."""
    if expected <= 0:
        return observed > 0
    return bool(poisson.sf(round(observed) - 1, expected) < REASON_ALPHA)


def forecast_reason(history: AreaHistory) -> str:
    """The reason that reads no past event: the forecast itself."""
    return f"forecast: {history.expected:.1f} expected next {UNITS[history.freq]}"
