"""Where a forecast starts: the history it may read and the periods it forecasts.

``origin_of`` cuts the panel's periods at an ``as_of`` (naive local time) into the history
(the whole periods before the period holding it) and the ``horizon`` target periods after
it, with their leads; ``check_horizon`` holds a horizon to a year (``MAX_HORIZON``). Every
forecaster's ``fit`` and ``predict`` (``forecasters.base``) goes through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError, DataValidationError
from hotspots.features.panel import period_floor, period_range, to_timestamp


@dataclass(frozen=True)
class Origin:
    """Where a forecast starts: history ``[0, history_end)`` and the periods it forecasts.

    ``leads[h]`` counts periods from the last history period to ``targets[h]``; it is
    ``h + 1`` when ``as_of`` is a period start and ``h + 2`` when it falls inside a period.
    """

    history_end: int
    targets: pd.DatetimeIndex
    leads: npt.NDArray[np.int64]


def next_period_start(as_of: Any, freq: str) -> pd.Timestamp:
    """The first period start at or after ``as_of`` (naive local time)."""
    ts = _timestamp(as_of, "as_of")
    floor = pd.Timestamp(period_floor([ts], freq)[0])
    if floor == ts:
        return floor
    return pd.Timestamp(period_range(floor, floor + pd.Timedelta(days=32), freq)[1])


MAX_HORIZON: dict[str, int] = {"D": 365, "W": 52, "M": 12}
"""The most periods a forecast reaches ahead, by period: a year. Further out, every model
repeats what it forecasts for the last lead it was trained on (or a flat baseline), and a
year-old history says little about next year's streets; the cost, though, grows with it."""


def check_horizon(horizon: Any, freq: str) -> None:
    """``ConfigError`` unless ``horizon`` is a whole number of periods from 1 to the period's
    ``MAX_HORIZON``, naming the value and the limit."""
    if not isinstance(horizon, int | np.integer) or isinstance(horizon, bool) or horizon < 1:
        raise ConfigError(f"horizon must be a whole number of periods >= 1, got {horizon!r}")
    limit = MAX_HORIZON.get(freq)
    if limit is not None and horizon > limit:
        raise ConfigError(
            f"horizon {horizon} is more than {limit}: a '{freq}' model forecasts at most "
            f"{limit} periods (a year) ahead"
        )


def origin_of(panel_periods: pd.DatetimeIndex, freq: str, as_of: Any, horizon: int) -> Origin:
    """History and target periods for a forecast made at ``as_of`` over ``horizon`` periods
    (``check_horizon``: at most a year of them)."""
    check_horizon(horizon, freq)
    ts = _timestamp(as_of, "as_of")
    current = pd.Timestamp(period_floor([ts], freq)[0])  # the period holding as_of
    history_end = int(np.searchsorted(panel_periods.values, current.to_datetime64(), "left"))
    if history_end == len(panel_periods) and history_end:
        previous = pd.Timestamp(period_floor([current - pd.Timedelta(days=1)], freq)[0])
        if panel_periods[-1] != previous:
            raise DataValidationError(
                f"the panel ends with the period of {panel_periods[-1].date()}, before the "
                f"period just before as_of {ts.date()}: build it up to as_of (end=...) so the "
                "periods in between count, as zeros if nothing happened"
            )
    first = next_period_start(ts, freq)
    span = pd.Timedelta(days=32 * (horizon + 1))
    targets = period_range(first, first + span, freq)[:horizon]
    leads = np.arange(1, horizon + 1, dtype=np.int64) + (0 if first == current else 1)
    return Origin(history_end, pd.DatetimeIndex(targets), leads)


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    ts = to_timestamp(value, name)
    if ts.tz is not None:
        raise ConfigError(f"{name} must be naive local time like the panel, got {value!r}")
    return ts.as_unit("ns")
