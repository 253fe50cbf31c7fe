"""Served patrol plans, scored once their period has passed.

The plan of each served period is grown again from the forecast the service served (its
expected counts as published, from the snapshot store) at the service's default budget
(``HOTSPOTS_PLAN_AREAS`` areas of at most ``HOTSPOTS_PLAN_MAX_AREA_KM2``), with the algorithm
the service and ``hotspots plan`` use; each baseline's plan is grown the same way from its
forecast. All are scored by the backtest's plan scoring (``evaluation.plans.score_plans``):
hit rate and PAI of the areas, beside the top cells of the same km2 (the capture ratio).

The plan is one model's alone: a service serving several models weighs them together in its
default plan, which is not grown again here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.evaluation import BacktestResult, score_plans
from hotspots.evaluation.plans import PLAN_COLUMNS
from hotspots.feedback.served import ServedForecast
from hotspots.grid.regions import PlanBudget

logger = logging.getLogger(__name__)

REALISED_PLAN_COLUMNS = ("model", "source", *(c for c in PLAN_COLUMNS if c != "model"))
"""The ``plans`` table of ``Realised``: one row per served period and source."""


def realised_plans(
    name: str,
    result: BacktestResult,
    due: Sequence[ServedForecast],
    budget: PlanBudget,
    served_label: str,
) -> pd.DataFrame:
    """The plans of ``due`` (the folds of ``result``, in order) and of each baseline scored
    on each period's events; empty (logged) when the served forecasts hold no expected
    counts or no plan can meet ``budget`` on these cells."""
    if any(f.expected is None for f in due):
        logger.warning("model %r: a served forecast holds no expected counts: no plan", name)
        return empty_plans()
    cells = result.last_fold.cells
    served = np.stack([expected_on(f, cells) for f in due])
    try:
        with_served = replace(result, forecasts={**result.forecasts, served_label: served})
        scored = score_plans(with_served, budget)
    except ConfigError as err:  # e.g. cells larger than the area limit: the rankings stand
        logger.warning("model %r: served plans not scored: %s", name, err)
        return empty_plans()
    plans = scored.plans.rename(columns={"model": "source"})
    plans.insert(0, "model", name)
    return plans.reset_index(drop=True)[list(REALISED_PLAN_COLUMNS)]


def expected_on(forecast: ServedForecast, cells: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
    """The served expected counts on ``cells`` (sorted; cells it lacks: 0)."""
    out = np.zeros(cells.size, dtype=np.float64)
    pos = np.searchsorted(cells, forecast.ranked)
    ok = (pos < cells.size) & (cells[np.minimum(pos, cells.size - 1)] == forecast.ranked)
    assert forecast.expected is not None
    out[pos[ok]] = forecast.expected[ok]
    return out


def empty_plans() -> pd.DataFrame:
    """The plans table with no row."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in REALISED_PLAN_COLUMNS})
