"""Realised figures per horizon: a forecast or plan served for the next period beside one
served 2, 3, ... periods ahead, each the mean over its scored periods (periods without
events left out, as the backtest's means leave them), so a 1-week-ahead hit rate is never
read as a 4-week-ahead one. ``/v1/effectiveness`` and the report show the same numbers."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

SERVED = "served"
RANKING_MEANS = ("hit_rate", "pai", "pei")
PLAN_MEANS = ("plan_hit_rate", "plan_pai", "top_pai")


def horizon_table(periods: pd.DataFrame, cutoff: str | None = None) -> pd.DataFrame:
    """Per horizon and source at ``cutoff`` (None: the first in ``periods``): the periods
    scored, those with events, and the mean hit rate, PAI and PEI."""
    columns = ["horizon", "cutoff", "source", "periods", "periods_with_events", *RANKING_MEANS]
    if periods.empty:
        return pd.DataFrame(columns=columns)
    cutoff = str(periods["cutoff"].iloc[0]) if cutoff is None else cutoff
    rows = periods.loc[periods["cutoff"] == cutoff]
    out = rows.groupby(["horizon", "source"], sort=True).agg(
        periods=("period_start", "nunique"),
        periods_with_events=("pai", "count"),
        **{k: (k, "mean") for k in RANKING_MEANS},
    )
    out = out.reset_index()
    out.insert(1, "cutoff", cutoff)
    order = out["source"].ne(SERVED)  # served first in each horizon
    out = out.assign(_o=order).sort_values(["horizon", "_o", "source"], kind="stable")
    return out.drop(columns="_o")[columns].reset_index(drop=True)


def horizons_to_dict(table: pd.DataFrame) -> list[dict[str, Any]]:
    """``horizon_table`` as ``/v1/effectiveness`` gives it: per horizon, the served means
    beside each baseline's."""
    out = []
    for _, part in table.groupby("horizon", sort=True):
        means = {
            str(r["source"]): {k: _num(r[k]) for k in RANKING_MEANS} for _, r in part.iterrows()
        }
        served = part.loc[part["source"] == SERVED]
        first = served.iloc[0] if len(served) else part.iloc[0]
        out.append(
            {
                "horizon": int(part["horizon"].iloc[0]),
                "cutoff": str(first["cutoff"]),
                "periods": int(first["periods"]),
                "periods_with_events": int(first["periods_with_events"]),
                "served": means.pop(SERVED, None),
                "baselines": means,
            }
        )
    return out


def plan_means(rows: pd.DataFrame) -> dict[str, Any]:
    """The mean plan hit rate, PAI and the top cells' PAI of each source in ``rows`` (plans
    of one kind, parameters and horizon): ``served`` and ``baselines``."""
    means = {
        str(source): {k: _num(part[k].astype(float).mean()) for k in PLAN_MEANS}
        for source, part in rows.groupby("source", sort=True)
    }
    return {"served_mean": means.pop(SERVED, None), "baselines_mean": means}


def _num(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else round(number, 6)
