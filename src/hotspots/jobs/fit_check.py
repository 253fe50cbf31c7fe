"""Whether an event history fits a fitted model, checked before anything is forecast from it.

A model answers for any events it is given: a renamed target category, another city's events
or an export that ends before the model's training window all give a plausible-looking flat
forecast. ``check_events_fit`` refuses those (``DataValidationError``, one line naming what
does not match) and warns when the target's recent rate is far from the training rate. The
CLI's ``forecast``, the service's republish and ``POST /v1/events`` call this one function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hotspots.errors import DataValidationError
from hotspots.features import period_floor, period_range
from hotspots.features.precision import check_precision
from hotspots.forecasters import Forecaster
from hotspots.grid import StudyArea, cells_to_latlng, points_to_cells
from hotspots.jobs.data import local_times, whole_periods_end

RATE_FACTOR = 3.0
"""A recent target rate under 1/3 or over 3 times the training rate is "far outside"."""
RECENT_PERIODS = 8
"""How many whole periods before the events' end the recent rate is measured over."""
_UNIT = {"D": "day", "W": "week", "M": "month"}


def check_events_fit(
    model: Forecaster,
    events: pd.DataFrame,
    manifest: Mapping[str, Any] | None = None,
    *,
    batch: bool = False,
) -> list[str]:
    """Refuse events that do not fit ``model``; return warnings worth showing.

    Refused (``DataValidationError``): month-precision events for a daily or weekly model
    (``features.precision``), none of the model's categories in the events
    (target categories, or with ``batch`` any category it knows), events that all end before
    the model's training window starts, and (unless ``batch``: a posted batch may hold other
    categories only) no target event inside the model's study area. ``manifest`` is the
    registry manifest, whose ``data`` section gives the training window and rate.
    """
    data = dict((manifest or {}).get("data") or {})
    check_precision(events, model.freq_)
    present = set(events["category"].dropna().astype(str).unique()) if len(events) else set()
    warnings = _check_categories(model, present, batch)
    _check_window(events, data)
    if batch:
        return warnings
    times = _target_times_in_area(model, events)
    warnings += _rate_warning(model, events, times, data)
    return warnings


def _check_categories(model: Forecaster, present: set[str], batch: bool) -> list[str]:
    wanted = tuple(model.categories_) if batch else tuple(model.target_)
    found = [c for c in wanted if c in present]
    if not found:
        what = "any category the model knows" if batch else "the model's target category"
        raise DataValidationError(
            f"the events have no row of {what} ({_names(wanted)}); their categories are "
            f"{_names(sorted(present))}. A renamed category can be mapped back with "
            "--category-map (data.category_map)"
        )
    missing = [c for c in model.target_ if c not in present]
    if missing and not batch:
        return [f"target categories {_names(missing)} have no event: they count as zero"]
    return []


def _check_window(events: pd.DataFrame, data: Mapping[str, Any]) -> None:
    start = data.get("training_start")
    if not start or not len(events):
        return
    last = local_times(events).max()
    if last < pd.Timestamp(start).tz_localize(None):
        until = data.get("training_until")
        window = f"{pd.Timestamp(start).date()} to {pd.Timestamp(until).date() if until else '?'}"
        raise DataValidationError(
            f"the events end {last.date()}, before the model's training window ({window}) "
            "starts: these are not the events it was trained on, or an older export"
        )


def _target_times_in_area(model: Forecaster, events: pd.DataFrame) -> pd.Series:
    """Local times of the target events inside the model's study area; refuses none."""
    target = events["category"].isin(list(model.target_)).to_numpy()
    rows = events.loc[target]
    cells = points_to_cells(
        rows["lat"].to_numpy(np.float64), rows["lng"].to_numpy(np.float64), model.resolution_
    )
    area = StudyArea(np.asarray(model.cells_, dtype=np.uint64), model.resolution_)
    inside = area.index_of(cells) >= 0
    if not inside.any():
        lat, lng = cells_to_latlng(np.asarray(model.cells_, dtype=np.uint64))
        where = (
            f"; they lie around {rows['lat'].median():.4f}, {rows['lng'].median():.4f}"
            if len(rows)
            else ""
        )
        raise DataValidationError(
            f"none of the {len(rows):,} target events ({_names(model.target_)}) falls in the "
            f"model's study area ({area.cells.size:,} cells at H3 resolution "
            f"{model.resolution_} around {np.median(lat):.4f}, {np.median(lng):.4f}){where}: "
            "these events are from another place than the model's"
        )
    return local_times(rows.loc[inside])


def _rate_warning(
    model: Forecaster, events: pd.DataFrame, times: pd.Series, data: Mapping[str, Any]
) -> list[str]:
    """A warning when the recent target rate in the area is far from the training rate."""
    n_train, n_periods = data.get("target_events_in_panel"), data.get("periods")
    if not n_train or not n_periods:
        return []
    trained = float(n_train) / float(n_periods)
    freq = model.freq_
    end = whole_periods_end(events, freq)
    first = pd.Timestamp(period_floor([local_times(events).min()], freq)[0])
    if first >= end:
        return []
    periods = period_range(first, end, freq)[-RECENT_PERIODS:]
    count = int(((times >= periods[0]) & (times < end)).sum())
    recent = count / len(periods)
    if trained / RATE_FACTOR <= recent <= trained * RATE_FACTOR:
        return []
    unit = _UNIT[freq]
    return [
        f"the events have {recent:,.1f} target events a {unit} in the study area over the "
        f"{len(periods)} {unit}s to {end.date()}, against {trained:,.1f} a {unit} in training: "
        "data this unlike the training data make the forecast doubtful"
    ]


def _names(values: Any) -> str:
    items = [str(v) for v in values]
    shown = ", ".join(repr(v) for v in items[:12])
    return shown + (f", ... ({len(items)} in all)" if len(items) > 12 else "") if items else "none"
