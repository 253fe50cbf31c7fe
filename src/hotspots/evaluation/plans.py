"""Patrol plans in a backtest: each fold's contiguous areas against the top cells of the same area.

For every model (and reference) and fold, the areas are grown on the model's forecast with
``grid.regions.grow_areas`` (the algorithm ``hotspots plan`` and the API use) under one budget;
the top cells are the highest-forecast cells covering exactly the plan's km2 (whole cells,
and the share of the next one that fills the rest: ``top_cells_sum_at_area``). Both are
scored on the fold's real events: hit rate (share of the events inside), PAI (hit rate over
the share of the study area covered) and the capture ratio, plan events / top-cell events
(1.0: contiguity costs nothing).
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, MutableMapping
from dataclasses import replace

import numpy as np
import pandas as pd

from hotspots.evaluation.result import BacktestResult
from hotspots.grid import cells_area_km2
from hotspots.grid.regions import (
    FloatArray,
    IntArray,
    PlanBudget,
    check_budget,
    grow_areas,
    top_cells_sum_at_area,
)

PLAN_COLUMNS = (
    "model", "as_of", "n_events", "areas", "area_km2", "area_share", "plan_hits", "top_hits",
    "plan_hit_rate", "top_hit_rate", "plan_pai", "top_pai", "plan_forecast", "top_forecast",
)  # fmt: skip
"""``BacktestResult.plans``: one row per model and fold (``*_forecast``: the share of the
city's forecast inside, the quantity the areas maximise)."""


GrownAreas = MutableMapping[Hashable, list[IntArray]]
"""Areas already grown, by what they were grown from (``score_plans``'s ``grown``)."""


def score_plans(
    result: BacktestResult,
    budget: PlanBudget,
    seed: str = "area",
    stop: str = "cap",
    grown: GrownAreas | None = None,
) -> BacktestResult:
    """``result`` with ``plans`` (one row per model and fold, ``PLAN_COLUMNS``) and
    ``plan_budget`` filled in; ConfigError when no plan can meet ``budget`` on its cells.

    ``grown``: areas grown by earlier calls, reused where the cells, forecast, budget, seed
    and stop rule are the same (growing is deterministic, so the plan is the same), and
    filled with the new ones (e.g. a baseline's plan, the same whichever period it is scored
    on)."""
    cells = result.last_fold.cells
    km2 = cells_area_km2(cells)
    check_budget(budget, km2, result.resolution)
    on = _digest(cells)
    rows = []
    for name, expected in result.forecasts.items():
        for i, fold in enumerate(result.folds):
            score, actual = expected[i], result.actual[i].astype(np.float64)
            key = (on, _digest(score), budget, seed, stop)
            members = grown.get(key) if grown is not None else None
            if members is None:
                members = grow_areas(cells, score, km2, budget, seed, stop)
                if grown is not None:
                    grown[key] = members
            plan = np.concatenate(members) if members else np.zeros(0, np.int64)
            rows.append(score_areas(name, fold.as_of, len(members), plan, km2, actual, score))
    frame = pd.DataFrame(rows, columns=list(PLAN_COLUMNS))
    how = {**budget.as_dict(), "seed": seed, "stop": stop}
    return replace(result, plans=frame, plan_budget=how)


def _digest(values: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(values).tobytes(), digest_size=16).digest()


def score_areas(
    name: str,
    as_of: pd.Timestamp,
    n_areas: int,
    plan: IntArray,
    km2: FloatArray,
    actual: FloatArray,
    score: FloatArray,
) -> dict[str, object]:
    """One plan's row: the cells at positions ``plan`` (``n_areas`` areas) scored on
    ``actual``, beside the top cells of ``score`` covering the same km2."""
    area = float(km2[plan].sum())
    top = (top_cells_sum_at_area(actual, score, km2, area),
           top_cells_sum_at_area(score, score, km2, area))  # fmt: skip
    share = area / float(km2.sum())
    return plan_row(name, as_of, n_areas, share, area, actual, score, plan, top)


def plan_row(
    name: str,
    as_of: pd.Timestamp,
    n_areas: int,
    share: float,
    area: float,
    actual: FloatArray,
    score: FloatArray,
    plan: IntArray,
    top: tuple[float, float],
) -> dict[str, object]:
    """One fold's row; ``top``: the events and the forecast the top cells of the plan's km2 hold."""
    events, forecast = float(actual.sum()), float(score.sum())
    plan_hits, top_hits = float(actual[plan].sum()), top[0]
    rate = (lambda hits: hits / events) if events > 0 else (lambda hits: float("nan"))
    return {
        "model": name,
        "as_of": as_of,
        "n_events": int(events),
        "areas": n_areas,
        "area_km2": area,
        "area_share": share,
        "plan_hits": int(plan_hits),
        "top_hits": top_hits,  # a share of the last cell: not a whole number
        "plan_hit_rate": rate(plan_hits),
        "top_hit_rate": rate(top_hits),
        "plan_pai": rate(plan_hits) / share if share > 0 else float("nan"),
        "top_pai": rate(top_hits) / share if share > 0 else float("nan"),
        "plan_forecast": float(score[plan].sum()) / forecast if forecast > 0 else float("nan"),
        "top_forecast": top[1] / forecast if forecast > 0 else float("nan"),
    }


def plan_summary(plans: pd.DataFrame) -> pd.DataFrame:
    """Per model: mean hit rate and PAI of the plans and of the top cells over folds with
    events, and the capture ratios over all folds (events: plan hits / top hits; forecast:
    plan share / top share), indexed by model in the order first seen."""
    if plans.empty:
        return pd.DataFrame()
    out = []
    for name, part in plans.groupby("model", sort=False):
        seen = part[part["n_events"] > 0]
        top_hits = float(part["top_hits"].sum())
        out.append(
            {
                "model": name,
                "folds": len(part),
                "area_km2": float(part["area_km2"].mean()),
                "plan_hit_rate": float(seen["plan_hit_rate"].mean()),
                "top_hit_rate": float(seen["top_hit_rate"].mean()),
                "plan_pai": float(seen["plan_pai"].mean()),
                "top_pai": float(seen["top_pai"].mean()),
                "capture_ratio": float(part["plan_hits"].sum()) / top_hits
                if top_hits > 0
                else float("nan"),
                "forecast_ratio": float(part["plan_forecast"].sum() / part["top_forecast"].sum()),
            }
        )
    return pd.DataFrame(out).set_index("model")
