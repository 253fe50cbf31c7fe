"""A runaway feedback loop on the synthetic city, and the same city without it.

Each period the model is refitted on the recorded counts so far and forecasts the next
period; the top ``coverage`` of the area is flagged and patrolled. Crime happens as the
city's true intensity says (Poisson draws per cell); with ``discovery`` > 0, patrols record
extra events in the patrolled cells (``discovery`` x the true rate, e.g. 0.3 = 30% more
recorded there), which the next fit learns from. Both runs share every random draw, so they
differ by the feedback alone. The first ``reference_periods`` of the loop run without
patrols' effect, as the training-time backtest does: the monitor's reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import clone

from hotspots.features import Panel
from hotspots.feedback.monitor import Monitor, monitor, top_share_flags
from hotspots.feedback.monitor_reference import Thresholds, reference_from_frame
from hotspots.forecasters import Forecaster
from hotspots.synthetic import City

TARGET = "all"


@dataclass(frozen=True, eq=False)
class LoopRun:
    """One simulated run: flags and recorded counts of every loop period, and the monitor."""

    periods: pd.DatetimeIndex
    flagged: npt.NDArray[np.bool_]
    recorded: npt.NDArray[np.int64]
    monitor: Monitor
    start: int
    """The first period (index into ``periods``) at which discovery may act."""

    def first_flag(self) -> int | None:
        """Loop periods after ``start`` until the monitor first flagged (None: never)."""
        starts = pd.DatetimeIndex([pd.Timestamp(f["period"]) for f in self.monitor.flags])
        at = self.periods.get_indexer(starts) - self.start
        after = at[at >= 0]
        return int(after.min()) + 1 if after.size else None


def true_rates(
    city: City, *, stationary: bool = True, category: str | None = None
) -> tuple[npt.NDArray[np.float64], pd.DatetimeIndex]:
    """The city's true weekly expected counts, every category summed (or ``category``
    alone), per whole week and cell. ``stationary``: each cell's mean rate in every week, so
    nothing but the feedback changes where crime is recorded (the city's own seasons move
    concentration too)."""
    summed, starts = city.truth_array("W")
    if category is not None:
        summed = summed[[city.categories.index(category)]]
    rates = summed.sum(axis=0)[1:-1]  # the first and last weeks may be part weeks
    if stationary:
        rates = np.broadcast_to(rates.mean(axis=0), rates.shape).copy()
    return rates, starts[1:-1]


def simulate_loop(
    city: City,
    model: Forecaster,
    *,
    discovery: float,
    history: int = 20,
    reference_periods: int = 12,
    coverage: float = 0.01,
    thresholds: Thresholds | None = None,
    seed: int = 0,
    stationary: bool = True,
    category: str | None = None,
) -> LoopRun:
    """Run the loop over every period of ``city`` after ``history`` periods of recorded
    crime (see the module docstring); the model is ``model`` refitted each period, on the
    counts of ``category`` (None: every category)."""
    th = thresholds or Thresholds(coverage=coverage)
    rates, starts = true_rates(city, stationary=stationary, category=category)
    rng = np.random.default_rng(seed)
    base = rng.poisson(rates)  # what is recorded without patrols
    extra = rng.poisson(rates * discovery)  # what patrols would discover in a cell
    recorded = base.astype(np.int64).copy()
    cells, res = city.cells, city.area.resolution
    n_periods = len(starts)
    flagged = np.zeros((n_periods, cells.size), dtype=bool)
    begin = history - reference_periods
    for t in range(begin, n_periods):
        panel = Panel(recorded[None, :t].astype(np.int32), cells, starts[:t], (TARGET,), "W", res)
        fitted = clone(model).fit(panel)
        expected = fitted.predict(panel, starts[t])["expected_count"]
        flagged[t] = top_share_flags(expected.to_numpy()[None, :], cells, th.coverage)[0]
        if t >= history:  # patrols now act on what is recorded
            recorded[t] = base[t] + extra[t] * flagged[t]
    loop = slice(begin, n_periods)
    result = loop_monitor(cells, starts[loop], flagged[loop], recorded[loop], reference_periods, th)
    return LoopRun(starts[loop], flagged[loop], recorded[loop], result, history - begin)


def loop_monitor(
    cells: npt.NDArray[np.uint64],
    periods: pd.DatetimeIndex,
    flagged: npt.NDArray[np.bool_],
    recorded: npt.NDArray[np.int64],
    start: int,
    thresholds: Thresholds,
    *,
    served: bool = False,
) -> Monitor:
    """The monitor of a loop's periods against the reference of its first ``start``
    periods (before patrols acted), with ``thresholds`` (so one run is judged by several).
    ``served``: monitor the periods from ``start`` on alone, as the service monitors a
    model served after training on the first ones (it leaves out the periods before the
    first one served, so a prior cell is one flagged since; a backtest reference counts
    back as few periods in its first folds)."""
    first = monitor(
        cells, periods[:start], flagged[:start], recorded[:start], thresholds=thresholds
    )
    source = "the periods before patrols acted"
    reference = reference_from_frame(
        first.periods, source, pool=thresholds.pool, window=thresholds.window
    )
    at = slice(start if served else 0, None)
    return monitor(
        cells, periods[at], flagged[at], recorded[at], reference=reference, thresholds=thresholds
    )
