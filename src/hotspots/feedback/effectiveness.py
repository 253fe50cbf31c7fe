"""Realised effectiveness: how what was served did once its period passed and its events came
(the served plans too: ``plans_realised``).

For each served forecast (``served.ServedForecast``) whose period has ended by the end of the
events' last whole period: the realised hit rate, PAI and PEI of its ranking, beside what each
baseline would have served for the same period, fitted on the periods before that ``as_of``.
Both are scored by ``evaluation.backtest`` itself: the baselines as models on one fold per
period (``Fold(period_start, fit_until=as_of)``), the served ranking as a reference (a score
that falls with its rank, so the served order is scored exactly). A forecast served for a
later period (``horizon`` > 1) is scored on that period, beside each baseline forecasting as
many periods ahead from the same ``as_of`` (``evaluation.blocks.forecast_block_ahead``), one
backtest per horizon, so a 1-week-ahead figure is never mixed with a 4-week-ahead one (each
baseline is fitted once per ``as_of`` for all of them: ``forecast_blocks_ahead``). A
period without events has no figures (NaN), as in the backtest. The flag and the dosage read
the next period's forecasts (horizon 1), the ones patrols act on first.

Dosage (``dosage.dosage_beside_crime``) is set beside the crime that followed: per period, the
target events in the patrolled cells, in the ring of cells within ``rings`` steps around them
(not patrolled themselves), and in the rest of the study area, each also as the mean of the
``before_periods`` periods before: crime falling where patrols went while rising in the ring
is what displacement looks like.

A model is flagged when its realised PAI at the first cutoff fell below the best baseline's in
each of its last ``k_periods`` periods with events (periods without events neither count nor
break the run).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import UnknownCategoryError
from hotspots.evaluation import BacktestResult, Cutoff, Fold, backtest
from hotspots.evaluation.blocks import BlockForecast, forecast_blocks_ahead
from hotspots.evaluation.plans import GrownAreas
from hotspots.features import Panel, events_to_panel
from hotspots.feedback.dosage import dosage_beside_crime, empty_patrol_time, patrol_time
from hotspots.feedback.failures import failures_frame
from hotspots.feedback.plans_combined import ModelFolds
from hotspots.feedback.plans_realised import (
    PlanForecasts,
    ServedPlan,
    empty_plans,
    empty_unscored,
    realised_plans,
    unscored_plans,
)
from hotspots.feedback.served import ServedForecast
from hotspots.forecasters import Forecaster, make_forecaster
from hotspots.grid import StudyArea, cells_resolution
from hotspots.grid.regions import PlanBudget
from hotspots.jobs.data import whole_periods_end, whole_periods_start

logger = logging.getLogger(__name__)

SERVED = "served"
"""The ``source`` of the rows scoring what was served (the others name a baseline)."""
METRIC_COLUMNS = ("n_events", "hits", "flagged", "hit_rate", "pai", "pei")
PERIOD_COLUMNS = (
    "model", "version", "as_of", "horizon", "period_start", "period_end", "cutoff", "source",
    *METRIC_COLUMNS,
)  # fmt: skip
"""The ``periods`` table: ``as_of`` is when the forecast was made for (its first period's
start), ``period_start`` the period scored, ``horizon`` periods ahead (1: the next)."""


@dataclass(frozen=True)
class Realised:
    """The realised figures of every model: see the module docstring for each table."""

    periods: pd.DataFrame
    """``PERIOD_COLUMNS``: one row per served forecast (as_of and horizon), cutoff and source
    (``served`` or a baseline)."""
    dosage: pd.DataFrame
    """model, as_of, patrolled_cells, patrol_minutes, events_patrolled, events_ring,
    events_rest, the same three event counts as ``before_*`` means, and ``periods_before``,
    the periods those means are over."""
    cells: pd.DataFrame
    """model, as_of, cell, minutes, events, events_before, in_served_top: each patrolled cell
    (``in_served_top``: among the served ranking's flagged cells at the first cutoff)."""
    flags: pd.DataFrame
    """model, cutoff, k_periods, periods_below, flagged, last_as_of, served_pai,
    best_baseline, best_baseline_pai."""
    pending: pd.DataFrame
    """model, version, as_of, horizon, period_start, why: served periods not scored (yet)."""
    plans: pd.DataFrame = field(default_factory=empty_plans)
    """model, source, plan, etag, budget_areas, max_area_km2, total_km2, stop, as_of,
    horizon, period_start, ...:
    each served plan (``plan``: ``stored`` as recorded, or ``rebuilt`` at the default budget
    where none was recorded for that period and horizon) and each baseline's plan with its
    parameters, scored on the period's events (``plans_realised``)."""
    unscored_plans: pd.DataFrame = field(default_factory=empty_unscored)
    """etag, period_start, types, horizon, why: recorded served plans not scored."""
    failures: pd.DataFrame = field(default_factory=failures_frame)
    """model, part, reason: the models (or parts of them) that could not be computed
    (``feedback.failures``); the other models' figures are there without them."""
    patrol_time: pd.DataFrame = field(default_factory=empty_patrol_time)
    """model, as_of, place_kind, place, tactic, patrols, minutes, share: the patrol time of
    each period the dosage reads, per area as the log named it and tactic (``patrol_time``)."""


def realised_effectiveness(
    served: Sequence[ServedForecast],
    events: pd.DataFrame,
    *,
    freq: str,
    baselines: Sequence[str],
    coverages: Sequence[float] = (0.01, 0.05, 0.10),
    patrols: pd.DataFrame | None = None,
    k_periods: int = 4,
    rings: int = 1,
    before_periods: int = 4,
    category: str | None = None,
    plan_budget: PlanBudget | None = None,
    served_plans: Sequence[ServedPlan] = (),
    folds: dict[tuple[str, int], ModelFolds] | None = None,
    plan_forecasts: PlanForecasts | None = None,
    lost_plans: Collection[str] = (),
) -> Realised:
    """Score every served forecast whose period has passed, and its plans: those recorded
    in ``served_plans`` (of one crime type; several: ``plans_combined``, given ``folds``),
    else (with ``plan_budget``) one grown again at that budget from the served forecast of
    that period and horizon; see the module docstring.

    ``folds``: when given, each scored model's periods are added to it (by name and
    horizon), for the plans that combine several models' types (``realised_combined_plans``).
    ``plan_forecasts``: the forecast each recorded plan was built from, by (ETag, model),
    where it is not the one scored for its period (``served.plan_forecast``);
    ``lost_plans``: ETags of recorded plans not scored, their failure said by the caller."""
    cutoff = Cutoff.coverage(coverages[0]).label
    parts: dict[str, list[pd.DataFrame]] = {
        k: [] for k in ("periods", "dosage", "cells", "pending", "plans", "patrol_time")
    }
    flags = []
    by_model: dict[str, list[ServedForecast]] = {}
    for one in sorted(served, key=lambda s: (s.name, s.as_of, s.horizon)):
        by_model.setdefault(one.name, []).append(one)
    for name, forecasts in by_model.items():
        horizons, pending = _score_model(forecasts, events, freq, baselines, coverages, category)
        parts["pending"].append(pending)
        grown: GrownAreas = {}  # a baseline's plan for an as_of is the same at every horizon
        for horizon, scored in horizons.items():
            parts["periods"].append(scored.periods)
            if folds is not None:
                folds[(name, horizon)] = ModelFolds(scored.result, scored.due)
            if plan_budget is not None or served_plans:
                plans = realised_plans(
                    name, scored.result, scored.due, plan_budget, SERVED, served_plans,
                    plan_forecasts, grown, lost_plans,
                )  # fmt: skip
                if len(plans):  # an empty one would turn the dates into objects
                    parts["plans"].append(plans)
        first = horizons.get(1)
        if first is None:
            continue
        flags.append(model_flag(first.periods, cutoff, k_periods) | {"model": name})
        if patrols is not None and len(patrols):
            tz = str(getattr(events["occurred_at"].dtype, "tz", None) or "UTC")
            top = Cutoff.coverage(coverages[0]).k(first.panel.cells.size)
            dose, cells = dosage_beside_crime(
                name, first.panel, first.target, first.due, patrols, tz, top, rings, before_periods
            )
            parts["dosage"].append(dose)
            parts["cells"].append(cells)
            periods = [f.as_of for f in first.due]
            parts["patrol_time"].append(patrol_time(name, patrols, freq, tz, periods))
    out = {k: pd.concat(v, ignore_index=True) if v else _EMPTY[k]() for k, v in parts.items()}
    flag_frame = pd.DataFrame(flags) if flags else _EMPTY["flags"]()
    for row in flag_frame.itertuples():
        if row.flagged:
            logger.warning(
                "model %r: realised PAI@%s below the best baseline's (%s) in the last %d periods",
                row.model,
                row.cutoff,
                row.best_baseline,
                row.periods_below,
            )
    unscored = unscored_plans(served_plans, out["plans"], by_model, out["pending"])
    return Realised(
        out["periods"],
        out["dosage"],
        out["cells"],
        flag_frame,
        out["pending"],
        out["plans"],
        unscored,
        patrol_time=out["patrol_time"],
    )


@dataclass(frozen=True)
class _Scored:
    """One model's served forecasts of one horizon, scored (``due``: in fold order)."""

    periods: pd.DataFrame
    panel: Panel
    due: tuple[ServedForecast, ...]
    target: tuple[str, ...]
    result: BacktestResult


def _score_model(
    forecasts: list[ServedForecast],
    events: pd.DataFrame,
    freq: str,
    baselines: Sequence[str],
    coverages: Sequence[float],
    category: str | None,
) -> tuple[dict[int, _Scored], pd.DataFrame]:
    """One model's served periods scored beside its baselines, by horizon, and why each
    of the others is pending."""
    if category is not None:
        check_category(category, events)
    target = (category,) if category is not None else forecasts[-1].target
    models = {b: make_forecaster(b, target=target) for b in baselines}
    least = max((m.min_history for m in models.values()), default=1)
    through = whole_periods_end(events, freq) if len(events) else pd.Timestamp.min
    pending: list[tuple[ServedForecast, str]] = []
    due = [f for f in forecasts if f.period_end <= through]
    pending += [
        (f, f"its events have not all arrived (whole periods before {through.date()} only)")
        for f in forecasts
        if f.period_end > through
    ]
    if not due:
        return {}, _pending(pending)
    cells = np.unique(np.concatenate([f.ranked for f in due]))
    area = StudyArea(cells, cells_resolution(cells))
    start = whole_periods_start(events, freq)
    panel = events_to_panel(events, freq=freq, study_area=area, start=start, end=through)
    rows = panel.periods.get_indexer(pd.DatetimeIndex([f.as_of for f in due]))
    fits = rows >= least
    pending += [
        (f, f"fewer than {least} periods of events before it to fit the baselines")
        for f, ok in zip(due, fits, strict=True)
        if not ok
    ]
    due = [f for f, ok in zip(due, fits, strict=True) if ok]
    by_horizon = {h: [f for f in due if f.horizon == h] for h in sorted({f.horizon for f in due})}
    folds = {h: [Fold(f.period_start, f.as_of) for f in fs] for h, fs in by_horizon.items()}
    # each baseline fitted once per as_of for every horizon: the same figures, 1/H the fits
    blocks = forecast_blocks_ahead(models, panel, folds)
    scored = {
        h: _score_horizon(fs, models, panel, coverages, target, blocks[h])
        for h, fs in by_horizon.items()
    }
    return scored, _pending(pending)


def check_category(category: str, events: pd.DataFrame) -> None:
    """``UnknownCategoryError`` for a category none of ``events`` has, even before any served
    period is due: else the question would get a quiet, empty answer."""
    known = sorted(str(c) for c in events["category"].dropna().unique())
    if category not in known:
        raise UnknownCategoryError(
            f"target categories {[category]!r} are not in the events; categories are: {known}"
        )


def _score_horizon(
    due: list[ServedForecast],
    models: dict[str, Forecaster],
    panel: Panel,
    coverages: Sequence[float],
    target: tuple[str, ...],
    blocks: Sequence[BlockForecast],
) -> _Scored:
    """The served forecasts of one horizon (one per ``as_of``) scored on their periods,
    beside each baseline fitted on the periods before each ``as_of`` and forecasting that
    many periods ahead from it, as the service would have served it (``blocks``:
    ``forecast_blocks_ahead`` of those folds)."""
    horizon = due[0].horizon
    scores = np.stack([_rank_score(f.ranked, panel.cells) for f in due])
    folds = [Fold(f.period_start, f.as_of) for f in due]
    result = backtest(
        models, panel, folds, coverages=coverages, references={SERVED: scores}, blocks=blocks
    )
    periods = result.per_fold.rename(columns={"model": "source", "as_of": "period_start"})
    by_start = {f.period_start: f for f in due}
    starts = periods["period_start"]
    periods["model"] = due[0].name
    periods["version"] = [by_start[pd.Timestamp(t)].version for t in starts]
    periods["as_of"] = [by_start[pd.Timestamp(t)].as_of for t in starts]
    periods["horizon"] = horizon
    periods["period_end"] = [by_start[pd.Timestamp(t)].period_end for t in starts]
    periods = periods[list(PERIOD_COLUMNS)]
    return _Scored(periods, panel, tuple(due), target, result)


def _rank_score(
    ranked: npt.NDArray[np.uint64], cells: npt.NDArray[np.uint64]
) -> npt.NDArray[np.float64]:
    """A score on ``cells`` that ranks them in the served order (cells it lacks: last)."""
    score = np.zeros(cells.size, dtype=np.float64)
    pos = np.searchsorted(cells, ranked)
    score[pos] = np.arange(ranked.size, 0, -1, dtype=np.float64)
    return score


def model_flag(periods: pd.DataFrame, cutoff: str, k_periods: int) -> dict[str, object]:
    """The run of last periods with events where the served PAI at ``cutoff`` fell below the
    best baseline's; flagged when it is at least ``k_periods`` long.

    The best baseline is one baseline for the whole run: the one with the highest mean PAI
    over the periods scored. Against the best of five baselines in each period, a model as
    good as each of them is below it in a period up to 5 times in 6, and 4 periods in a row
    about half the time (0.48 on independent scores; against one baseline 0.5^4 = 0.06)."""
    rows = periods.loc[periods["cutoff"] == cutoff]
    pai = rows.pivot_table(index="as_of", columns="source", values="pai", aggfunc="first")
    pai = pai.dropna(subset=[SERVED]) if SERVED in pai else pai.iloc[0:0]
    others = pai.drop(columns=[SERVED], errors="ignore")
    means = others.mean(axis=0, skipna=True).dropna()
    best = str(means.idxmax()) if len(pai) and len(means) else None
    best_pai = others[best] if best is not None else pd.Series(np.nan, index=pai.index)
    below = (pai[SERVED] < best_pai).to_numpy() if len(pai) else np.zeros(0, bool)
    run = int(np.argmin(below[::-1])) if not below.all() else int(below.size)
    last = pai.index[-1] if len(pai) else None
    return {
        "cutoff": cutoff,
        "k_periods": int(k_periods),
        "periods_below": run,
        "flagged": bool(run >= k_periods),
        "last_as_of": last,
        "served_pai": float(pai[SERVED].iloc[-1]) if last is not None else float("nan"),
        "best_baseline": best,
        "best_baseline_pai": float(best_pai.iloc[-1]) if last is not None else float("nan"),
    }


PENDING_COLUMNS = ("model", "version", "as_of", "horizon", "period_start", "why")


def _pending(items: list[tuple[ServedForecast, str]]) -> pd.DataFrame:
    if not items:
        return _EMPTY["pending"]()
    values = [(f.name, f.version, f.as_of, f.horizon, f.period_start, why) for f, why in items]
    return pd.DataFrame(values, columns=list(PENDING_COLUMNS))


def _frame(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


_EMPTY = {
    "periods": lambda: _frame(PERIOD_COLUMNS),
    "patrol_time": empty_patrol_time,
    "dosage": lambda: _frame(("model", "as_of", "patrolled_cells", "patrol_minutes")),
    "cells": lambda: _frame(
        ("model", "as_of", "cell", "minutes", "events", "events_before", "in_served_top")
    ),
    "flags": lambda: _frame(("model", "cutoff", "k_periods", "periods_below", "flagged")),
    "pending": lambda: _frame(PENDING_COLUMNS),
    "plans": empty_plans,
}
