"""Served plans of several crime types, scored once their period has passed.

A service serving one model per crime type plans for them together (its default plan
weighs every served type). Such a recorded plan is scored on the target events of all its
types, on the union of their models' cells: its own cells, beside the top cells of the same
km2 on the served forecasts weighted as the plan weighed them, and each baseline (one every
type's model scored) grown from that baseline's forecasts of every type, weighted alike,
with the plan's budget and stop rule. Each type's forecasts and events come from its own
model's scoring at the plan's horizon (``ModelFolds``, filled by
``realised_effectiveness``), so the figures are those the one-type plans get, summed over the
types (an event counted by two types' targets counts twice, as the plan's expected counts did).

Each combination fails alone: a plan that needs a model whose figures failed (``failed``), or
whose scoring raises on a damaged record, is a failure of that combination (``a+b``, part
``plans``: which plans and why), and the other combinations' plans are scored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.evaluation import BacktestResult
from hotspots.evaluation.plans import PLAN_COLUMNS, score_areas
from hotspots.feedback.failures import PLANS, RECORD_ERRORS, ModelFailure, one_line
from hotspots.feedback.plans_realised import (
    REALISED_PLAN_COLUMNS,
    STORED,
    PlanForecasts,
    ServedPlan,
    at_horizon,
    combined_name,
    empty_plans,
    expected_on,
    labelled,
    which_plans,
)
from hotspots.feedback.served import ServedForecast
from hotspots.grid import cells_area_km2
from hotspots.grid.regions import check_budget, grow_areas

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ModelFolds:
    """One model's scored periods: its backtest over them (baselines, and the served
    ranking as a reference) and the served forecasts, in fold order."""

    result: BacktestResult
    due: tuple[ServedForecast, ...]


def realised_combined_plans(
    plans: Sequence[ServedPlan],
    scored: Mapping[tuple[str, int], ModelFolds],
    served_label: str,
    plan_forecasts: PlanForecasts | None = None,
    *,
    failed: Mapping[str, str] | None = None,
    lost: dict[str, ModelFailure] | None = None,
) -> pd.DataFrame:
    """The recorded plans of several types whose period and horizon every type's model
    scored (``scored``: by model and horizon), each beside the baselines' plans (see the
    module docstring); ``plan_forecasts``: the forecasts they were built from.

    ``failed``: why each model that failed did (``ModelFailure.what``); a plan needing one,
    whose period the other types' models scored, is lost to it. Those plans, and any whose
    scoring raised, are added to ``lost`` by ETag, each with its failure (one per
    combination and reason, naming the plans' periods; logged). Plans already in ``lost``
    (their forecast unreadable: ``plans_built_from``) are not scored."""
    frames = []
    failing: dict[tuple[str, str], list[ServedPlan]] = {}
    for plan in plans:
        if len(plan.types) < 2 or plan.etag in (lost or {}):
            continue
        broken = [t for t in plan.types if t in (failed or {})]
        if broken:  # lost to the failure when the others scored its period (else pending)
            if _scored_by(plan, scored, [t for t in plan.types if t not in broken]):
                why = f"model {broken[0]!r} failed ({(failed or {})[broken[0]]})"
                failing.setdefault((combined_name(plan.types), why), []).append(plan)
            continue
        try:
            rows = _plan_rows(plan, scored, served_label, plan_forecasts)
        except RECORD_ERRORS as err:
            why = one_line(err)
            failing.setdefault((combined_name(plan.types), why), []).append(plan)
            continue
        if rows is not None:
            frames.append(rows)
    for (name, why), some in sorted(failing.items()):
        found = ModelFailure(name, PLANS, f"{which_plans(some)} not scored: {why}")
        logger.error("plans %s", found.line())
        if lost is not None:
            lost |= {plan.etag: found for plan in some}
    if not frames:
        return empty_plans()
    return pd.concat(frames, ignore_index=True)[list(REALISED_PLAN_COLUMNS)]


def _plan_rows(
    plan: ServedPlan,
    scored: Mapping[tuple[str, int], ModelFolds],
    served_label: str,
    plan_forecasts: PlanForecasts | None,
) -> pd.DataFrame | None:
    """One plan's rows (None: a type's model did not score its period and horizon)."""
    keys = [(t, plan.horizon) for t in plan.types]
    if not all(k in scored for k in keys):
        return None
    folds = {t: scored[(t, plan.horizon)] for t in plan.types}
    at = {t: _position(folds[t], plan.period) for t in plan.types}
    if any(i is None for i in at.values()):
        return None
    found = {t: i for t, i in at.items() if i is not None}
    forecasts = {
        t: (plan_forecasts or {}).get((plan.etag, t)) or folds[t].due[i] for t, i in found.items()
    }
    if any(f.expected is None for f in forecasts.values()):
        logger.warning("served plan %s: a forecast holds no expected counts", plan.etag)
        return None
    rows = _scored(plan, folds, found, forecasts, served_label)
    first = plan.types[0]
    return at_horizon(rows, [folds[first].due[found[first]]])


def _scored_by(
    plan: ServedPlan, scored: Mapping[tuple[str, int], ModelFolds], types: Sequence[str]
) -> bool:
    """Whether each of ``types`` scored the plan's period at its horizon."""
    return all(
        (t, plan.horizon) in scored
        and _position(scored[(t, plan.horizon)], plan.period) is not None
        for t in types
    )


def _position(folds: ModelFolds, period: pd.Timestamp) -> int | None:
    found = [i for i, f in enumerate(folds.due) if f.period_start == period]
    return found[0] if found else None


def _scored(
    plan: ServedPlan,
    folds: Mapping[str, ModelFolds],
    at: Mapping[str, int],
    forecasts: Mapping[str, ServedForecast],
    served_label: str,
) -> pd.DataFrame:
    """The plan's row and each common baseline's, on the union of the types' cells."""
    cells = np.unique(np.concatenate([folds[t].result.last_fold.cells for t in plan.types]))
    km2 = cells_area_km2(cells)
    actual, served = np.zeros(cells.size), np.zeros(cells.size)
    baselines: dict[str, list[FloatArray]] = {}
    for t in plan.types:
        result, i = folds[t].result, at[t]
        own = result.last_fold.cells
        pos = np.searchsorted(cells, own)
        weight = plan.weights.get(t, 1.0)
        actual[pos] += result.actual[i]
        served[pos] += weight * expected_on(forecasts[t], own)
        for name, forecast in result.forecasts.items():
            if name != served_label:
                spread = np.zeros(cells.size)
                spread[pos] = weight * forecast[i]
                baselines.setdefault(name, []).append(spread)
    as_of = plan.period
    pos = np.searchsorted(cells, plan.cells)
    inside = (pos < cells.size) & (cells[np.minimum(pos, cells.size - 1)] == plan.cells)
    rows = [score_areas(served_label, as_of, plan.n_areas, pos[inside], km2, actual, served)]
    common = sorted(b for b, parts in baselines.items() if len(parts) == len(plan.types))
    try:
        check_budget(plan.budget, km2, folds[plan.types[0]].result.resolution)
    except ConfigError as err:
        logger.warning("served plan %s: baselines' plans not grown: %s", plan.etag, err)
        common = []
    for name in common:
        score = np.sum(baselines[name], axis=0)
        members = grow_areas(cells, score, km2, plan.budget, "area", plan.stop)
        grown = np.concatenate(members) if members else np.zeros(0, np.int64)
        rows.append(score_areas(name, as_of, len(members), grown, km2, actual, score))
    frame = pd.DataFrame(rows, columns=list(PLAN_COLUMNS))
    return labelled(combined_name(plan.types), frame, STORED, plan.etag, plan.budget, plan.stop)
