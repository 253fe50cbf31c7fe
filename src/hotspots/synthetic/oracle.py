"""The oracle a forecaster can be held to: expected counts given what was known at the origin.

``City.truth`` is the compensator: the intensity of each day given everything before *that
day*, events of the same week included. Ranking cells by a week's compensator therefore uses
near repeats of events that happened inside the week being forecast, which no forecast made
at the week's start can know. ``origin_truth`` is the expectation of each period's count
given everything before the period starts: the self-excitation is carried forward in
expectation (each expected event excites as a real one would), so it is the best any
forecaster made at the period's start can do, and the honest oracle for PAI shares.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.synthetic.city import City, truth_to_frame
from hotspots.synthetic.profiles import CATEGORIES, DECAY, PROFILES
from hotspots.synthetic.simulate import spread_kernel

FloatArray = npt.NDArray[np.float64]


def origin_truth(city: City, freq: str = "W") -> tuple[FloatArray, pd.DatetimeIndex]:
    """Expected counts per category, period and cell given the events before each period.

    Same shape and periods as ``City.truth_array(freq)``. The excitation at each period
    start is rebuilt from the events (it starts from zero on the first simulated day, so
    the first weeks lack the burn-in's excitation); the background is the compensator less
    that excitation, and within the period the excitation evolves as in the simulation with
    expected counts in place of the drawn ones.
    """
    _, starts = city.truth_array(freq)  # validates freq, gives the period starts
    n_cat, days, n_cells = city.truth.shape
    kernel = spread_kernel(city.area)
    gain = np.array([[p.alpha * (1 - DECAY)] for p in PROFILES])
    day_starts = pd.date_range(city.start, periods=days, freq="D")
    first = np.searchsorted(day_starts.values, starts.values)  # first simulated day of each
    flat, day_bounds = _events_by_day(city, days)
    background = np.empty_like(city.truth)
    at_start = np.zeros((len(starts), n_cat, n_cells))
    state = np.zeros((n_cat, n_cells))
    period = 0
    for d in range(days):  # one vectorised step per day, as the simulation runs
        if period < len(first) and first[period] == d:
            at_start[period], period = state, period + 1
        background[:, d] = np.maximum(city.truth[:, d] - state, 0.0)
        today = flat[day_bounds[d] : day_bounds[d + 1]]
        counts = np.bincount(today, minlength=n_cat * n_cells).reshape(n_cat, n_cells)
        state = DECAY * state + gain * (kernel @ counts.T.astype(np.float64)).T
    bounds = [*first.tolist(), days]
    out = np.zeros((n_cat, len(starts), n_cells))
    for t in range(len(starts)):
        expected = at_start[t]
        for d in range(bounds[t], bounds[t + 1]):
            lam = background[:, d] + expected
            out[:, t] += lam
            expected = DECAY * expected + gain * (kernel @ lam.T).T
    return out, starts


def origin_truth_frame(city: City, freq: str = "W") -> pd.DataFrame:
    """``origin_truth`` as tidy rows, like ``City.truth_frame``."""
    return truth_to_frame(city.cells, *origin_truth(city, freq))


def _events_by_day(city: City, days: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each clean event's ``category * n_cells + cell``, ordered by day, and the day bounds
    (events of day ``d`` are ``[bounds[d], bounds[d + 1])``)."""
    events = city.events
    cat = pd.Index(CATEGORIES).get_indexer(pd.Index(events["offence"]))
    when = (
        pd.to_datetime(events["occurred"], format="%Y-%m-%d %H:%M:%S")
        .to_numpy()
        .astype("datetime64[D]")
    )
    day = (when - np.datetime64(city.start.date(), "D")).astype(np.int64)
    flat = cat * city.cells.size + np.searchsorted(city.cells, city.event_cells)
    order = np.argsort(day, kind="stable")
    return flat[order], np.searchsorted(day[order], np.arange(days + 1))
