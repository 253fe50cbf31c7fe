"""A self-exciting point process (Hawkes / ETAS, after Mohler et al. 2011) on the H3 cells.

Each cell has a steady background rate, and every event raises the rate of its own cell and
of the cells one step away for a few days: the near-repeat pattern of burglary and other
crimes. In discrete days:

    rate[d, i] = (1 - theta) * base[d, i] + theta * u[d, i]
    u[d + 1] = decay * u[d] + (1 - decay) * K @ events[d]

``base[d]`` is the cell's mean daily count over the days before ``d`` (all of them, or
exponentially weighted with a half-life of ``background_half_lives`` days, so a place that
heats up or cools down is followed), ``K`` spreads an event's excitation (``own_share`` to
its cell, the rest evenly over its in-study neighbours), and ``theta`` is the share of events
that are near repeats (the branching ratio). The background half-life, ``decay`` and
``own_share`` are chosen from small grids and ``theta`` maximises the Poisson likelihood of
the last ``fit_days`` days, each day forecast from the days before it (the likelihood is
concave in ``theta``, so each grid point is a one-dimensional search). A forecast carries the
excitation at the origin forward in expectation, expected events exciting as real ones do.
It needs the events' times to the day: daily or weekly panels built from events.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from pydantic import Field
from scipy import optimize, sparse

from hotspots.errors import ConfigError
from hotspots.features.calendar import shift_periods
from hotspots.features.event_table import NS_PER_DAY, EventTable
from hotspots.features.lags import neighbours_of
from hotspots.features.panel import Panel
from hotspots.forecasters.base import (
    FloatArray,
    Forecaster,
    ForecasterState,
    History,
    Origin,
    origin_of,
)
from hotspots.forecasters.explain import (
    MAX_REASONS,
    Reasons,
    relative_risk,
    target_label,
)
from hotspots.forecasters.params import Positive, Share

Decay = Annotated[float, Field(gt=0, lt=1)]
"""The share of an event's excitation left a day later."""
NONEMPTY = Field(min_length=1)

NEAR_REPEAT_SHARE = 0.1
"""Share of a cell's rate from near-repeat excitation above which ``explain`` names it."""


class SelfExcitingForecaster(Forecaster):
    """Background rate per cell plus near-repeat excitation, fitted by likelihood.

    Parameters
    ----------
    target
        Categories forecast (summed); ``None`` = every category.
    fit_days
        Days at the end of the history whose likelihood chooses the parameters (at most the
        second half of the history: the first half feeds their background).
    decays, own_shares
        Grids of the daily decay of an event's excitation and of the share it keeps in its
        own cell (the rest goes to the cells one step away).
    background_half_lives
        Grid of the background's half-life in days (``None``: the plain mean of all days).
    """

    name = "hawkes"
    min_history = 4

    def __init__(
        self,
        *,
        target: Any = None,
        fit_days: Annotated[int, Field(ge=7)] = 365,
        decays: Annotated[tuple[Decay, ...], NONEMPTY] = (0.5, 0.75, 0.9),
        own_shares: Annotated[tuple[Share, ...], NONEMPTY] = (0.4, 0.7, 1.0),
        background_half_lives: Annotated[tuple[Positive | None, ...], NONEMPTY] = (
            None,
            365.0,
            730.0,
        ),
    ) -> None:
        self.target = target
        self.fit_days = fit_days
        self.decays = decays
        self.own_shares = own_shares
        self.background_half_lives = background_half_lives

    def _fit(self, history: History) -> None:
        daily, n_days = _daily_counts(history)
        # the first half of the history only feeds the background the fit window is judged on
        fit_from = max(n_days - int(self.fit_days), n_days // 2, 1)
        counts = daily[fit_from:].toarray()
        bases = {
            h: _background(daily, h, fit_from, n_days)[:-1] for h in self.background_half_lives
        }
        best: tuple[float, float, float, float | None, float] | None = None
        for decay in self.decays:
            for share in self.own_shares:
                kernel = _kernel(history.cells, history.resolution, share)
                u = _excitation(daily, kernel, decay, fit_from, n_days)[:-1]
                for half_life, base in bases.items():
                    theta, loglik = _best_theta(base, u, counts)
                    if best is None or loglik > best[4]:
                        best = (theta, float(decay), float(share), half_life, loglik)
        assert best is not None  # the grids are checked to be non-empty
        self.theta_, self.decay_, self.own_share_, self.background_half_life_, self.loglik_ = best

    def _predict(self, history: History, origin: Origin) -> FloatArray:
        daily, n_days = _daily_counts(history)
        kernel = _kernel(self.cells_, self.resolution_, self.own_share_)
        # the excitation of events a few months back has decayed away (decay ** 120 < 1e-5)
        state = _excitation(daily, kernel, self.decay_, n_days, n_days, start=n_days - 120)[0]
        base_now = _background(daily, self.background_half_life_, n_days, n_days)[0]
        n = history.n_periods
        last = int(origin.leads.max())
        bounds = shift_periods(history.periods[0], np.arange(n, n + last + 1), history.freq)
        day_bounds = ((bounds.asi8 - history.end_ns) // NS_PER_DAY).astype(np.int64)
        base = (1 - self.theta_) * base_now
        excited = self.theta_ * state
        step = self.theta_ * (1 - self.decay_)
        per_period = np.zeros((last, self.cells_.size))
        for d in range(int(day_bounds[-1])):  # a few days to a few weeks, vectorised over cells
            rate = base + excited
            per_period[np.searchsorted(day_bounds, d, side="right") - 1] += rate
            excited = self.decay_ * excited + step * (kernel @ rate)
        return per_period[origin.leads - 1]

    def unusable_reason(self, panel: Panel) -> str | None:
        """Set when the panel's periods or events' times are coarser than days."""
        return day_times_problem(panel.freq, panel.events)

    def fitted_in_words(self) -> dict[str, float]:
        """The fitted parameters in words a reader can check."""
        self._check_fitted()
        return {
            "near_repeat_share": float(self.theta_),
            "excitation_half_life_days": float(np.log(0.5) / np.log(self.decay_)),
            "share_kept_in_own_cell": float(self.own_share_),
            "background_half_life_days": float(self.background_half_life_ or np.inf),
        }

    def _explain(
        self, panel: Panel, as_of: Any, horizon: int, hidden: npt.NDArray[np.bool_]
    ) -> Reasons:
        """Each cell's rate at the origin split into its background and its near-repeat
        excitation, the larger part first; the excitation is named where it is at least
        ``NEAR_REPEAT_SHARE`` of the cell's rate. No counts are shown, so ``hidden`` changes
        nothing."""
        origin = origin_of(panel.periods, panel.freq, as_of, horizon)
        history = self._history(panel, origin.history_end)
        daily, n_days = _daily_counts(history)
        kernel = _kernel(self.cells_, self.resolution_, self.own_share_)
        state = _excitation(daily, kernel, self.decay_, n_days, n_days, start=n_days - 120)[0]
        base = (1 - self.theta_) * _background(daily, self.background_half_life_, n_days, n_days)[0]
        excited = self.theta_ * state
        label = target_label(self.target_, self.categories_)
        half_life = np.log(0.5) / np.log(self.decay_)
        level = ("high" if r >= 1.0 else "low" for r in relative_risk(base).tolist())
        share = excited / np.maximum(base + excited, 1e-12)
        row: list[tuple[str, ...]] = []
        for lvl, part in zip(level, share.tolist(), strict=True):
            steady = f"{lvl} long-run level of {label} here (background rate)"
            if part < NEAR_REPEAT_SHARE:
                row.append((steady,))
                continue
            repeat = (
                f"recent {label} in and around this cell: near repeats make {part:.0%} of its "
                f"rate (half-life {half_life:.1f} days)"
            )
            row.append((repeat, steady) if part >= 0.5 else (steady, repeat))
        features = np.full((horizon, self.cells_.size, MAX_REASONS), -1, dtype=np.int16)
        return Reasons((), features, (tuple(row),) * horizon)

    def _extra_state(self) -> tuple[dict[str, npt.NDArray[Any]], dict[str, str]]:
        fitted = [
            self.theta_, self.decay_, self.own_share_, self.background_half_life_, self.loglik_
        ]  # fmt: skip
        return {}, {"fitted": json.dumps(fitted)}

    def _set_extra_state(self, state: ForecasterState) -> None:
        fitted = json.loads(state.texts["fitted"])
        self.theta_, self.decay_, self.own_share_, self.background_half_life_, self.loglik_ = fitted


def day_times_problem(freq: str, events: EventTable | None) -> str | None:
    """Why a panel of ``freq`` with ``events`` cannot feed a model that needs the events'
    days, or None when it can."""
    if freq in ("D", "W") and events is not None and events.has_day_times:
        return None
    return (
        "the hawkes model needs the events' days: a daily or weekly panel built from "
        f"events known to the day or finer (this one is '{freq}'"
        + (", counts only)" if events is None else ")")
    )


def _daily_counts(history: History) -> tuple[sparse.csr_matrix, int]:
    """Target events per day since the history's first period, ``(n_days, n_cells)``."""
    events = history.target_events()
    problem = day_times_problem(history.freq, events)
    if problem is not None:
        raise ConfigError(problem)
    assert events is not None  # day_times_problem says so
    start = int(history.periods[0].value)
    n_days = int((history.end_ns - start) // NS_PER_DAY)
    day = (events.time_ns - start) // NS_PER_DAY
    ones = np.ones(day.size)
    return sparse.csr_matrix((ones, (day, events.cell)), shape=(n_days, history.cells.size)), n_days


def _kernel(cells: npt.NDArray[np.uint64], resolution: int, own_share: float) -> sparse.csr_matrix:
    """How one event's excitation spreads: ``own_share`` in its cell, the rest over ring 1."""
    ring = neighbours_of(cells, resolution).ring1.astype(np.float64)
    n_ring = np.asarray(ring.sum(axis=0)).ravel()
    own = np.where(n_ring > 0, own_share, 1.0)
    spread = ring @ sparse.diags((1 - own_share) / np.maximum(n_ring, 1))
    return sparse.csr_matrix(spread + sparse.diags(own))


def _excitation(
    daily: sparse.csr_matrix,
    kernel: sparse.csr_matrix,
    decay: float,
    keep_from: int,
    n_days: int,
    start: int = 0,
) -> FloatArray:
    """``u[d]`` for days ``keep_from..n_days`` (the day after the last included), from
    events since day ``start``: ``u[d + 1] = decay * u[d] + (1 - decay) * K @ events[d]``."""
    u = np.zeros(daily.shape[1])
    out = np.zeros((n_days - keep_from + 1, daily.shape[1]))
    spread = (kernel @ daily.T).T.tocsr() * (1 - decay)  # each day's events, spread
    for d in range(max(start, 0), n_days):
        if d >= keep_from:
            out[d - keep_from] = u
        u = decay * u + spread[d].toarray().ravel()
    out[-1] = u
    return out if keep_from < n_days else out[-1:]


def _background(
    daily: sparse.csr_matrix, half_life: float | None, keep_from: int, n_days: int
) -> FloatArray:
    """Each cell's mean daily count over the days before ``d``, for ``d`` in
    ``keep_from..n_days``: all days alike (``half_life`` None) or weighted
    ``0.5 ** (age / half_life)``. One vectorised step per day."""
    keep = 1.0 if half_life is None else 0.5 ** (1.0 / half_life)
    total, weight = np.zeros(daily.shape[1]), 0.0
    out = np.zeros((n_days - keep_from + 1, daily.shape[1]))
    for d in range(n_days):
        if d >= keep_from:
            out[d - keep_from] = total / max(weight, 1e-12)
        total = keep * total + daily[d].toarray().ravel()
        weight = keep * weight + 1.0
    out[-1] = total / max(weight, 1e-12)
    return out if keep_from < n_days else out[-1:]


def _best_theta(base: FloatArray, u: FloatArray, counts: FloatArray) -> tuple[float, float]:
    """The branching ratio maximising the Poisson log-likelihood of ``counts`` (days x cells)
    under ``(1 - theta) * base + theta * u``, and that log-likelihood."""
    hit = counts > 0

    def minus_loglik(theta: float) -> float:
        rate = (1 - theta) * base + theta * u
        return float(rate.sum() - (counts[hit] * np.log(np.maximum(rate[hit], 1e-300))).sum())

    if not hit.any():
        return 0.0, -minus_loglik(0.0)
    res = optimize.minimize_scalar(minus_loglik, bounds=(0.0, 0.95), method="bounded")
    return float(res.x), -float(res.fun)
