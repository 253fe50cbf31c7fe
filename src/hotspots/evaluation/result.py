"""What a backtest returns: per-fold scores, summaries with intervals, and JSON output."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError, DataValidationError
from hotspots.evaluation.folds import Fold
from hotspots.evaluation.metrics import Calibration, Cutoff
from hotspots.forecasters import Forecaster
from hotspots.grid import cells_to_strings

RANKING_METRICS: tuple[str, ...] = ("hit_rate", "pai", "pei")
"""Metrics scored at each cutoff (higher is better)."""

METRICS: tuple[str, ...] = (*RANKING_METRICS, "deviance")
"""Every summarised metric; ``deviance`` (lower is better) covers all cells, cutoff ``"all"``."""

ALL_CELLS = "all"
"""The ``cutoff`` label of deviance rows in ``BacktestResult.summary``."""


@dataclass(frozen=True)
class LastFold:
    """The last fold's forecast of every model and what happened, aligned to ``cells``."""

    as_of: pd.Timestamp
    cells: npt.NDArray[np.uint64]
    actual: npt.NDArray[np.int64]
    expected: dict[str, npt.NDArray[np.float64]]


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Scores of several models over the same folds, panel and target.

    ``per_fold``: one row per model, fold and cutoff with ``model, as_of, fit_until, cutoff,
    n_events, hits, flagged, hit_rate, pai, pei``. ``deviance``: one row per model and fold
    with ``model, as_of, n_events, deviance``. ``summary``: one row per model, cutoff and
    metric with ``mean, ci_low, ci_high, n_folds, n_excluded`` (bootstrap 95% intervals over
    folds; folds without events excluded). ``curves``: mean hit rate and PAI per model over
    a coverage grid. ``fitted``: each model's last fitted instance.

    ``references`` (e.g. the oracle) are scored like models in ``per_fold``, ``summary``,
    ``curves``, ``calibration`` and ``last_fold`` but are not in ``models``: ``table`` shows
    them only when asked and ``best`` never picks one. ``forecasts``: every model's and
    reference's expected counts, ``(n_folds, n_cells)``; ``actual``: the counts they are
    scored on; both aligned to ``folds`` and ``last_fold.cells``, left out of ``to_dict``.
    ``plans`` / ``plan_budget``: patrol plans against the top cells of the same area, per
    model and fold, once ``evaluation.plans.score_plans`` has scored them (else empty / None).
    """

    models: tuple[str, ...]
    kinds: dict[str, str]
    target: tuple[str, ...]
    cutoffs: tuple[Cutoff, ...]
    folds: tuple[Fold, ...]
    n_cells: int
    freq: str
    resolution: int
    seed: int
    per_fold: pd.DataFrame
    deviance: pd.DataFrame
    summary: pd.DataFrame
    calibration: dict[str, Calibration]
    curves: pd.DataFrame
    last_fold: LastFold
    fitted: dict[str, Forecaster]
    references: tuple[str, ...] = ()
    forecasts: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    actual: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    plans: pd.DataFrame = field(default_factory=pd.DataFrame)
    plan_budget: dict[str, Any] | None = None

    def cutoff(self, cutoff: str | Cutoff) -> Cutoff:
        """The result's cutoff named by a label like ``"1%"`` or ``"k=50"``."""
        wanted = cutoff if isinstance(cutoff, Cutoff) else Cutoff.parse(str(cutoff))
        for c in self.cutoffs:
            if c.label == wanted.label:
                return c
        raise ConfigError(
            f"cutoff {wanted.label!r} was not scored; cutoffs are {[c.label for c in self.cutoffs]}"
        )

    def table(self, cutoff: str | Cutoff, *, references: bool = False) -> pd.DataFrame:
        """Models side by side at one cutoff: each metric's mean and interval, and deviance.

        Rows are models (index ``model``), then the references with ``references=True``;
        columns ``<metric>``, ``<metric>_ci_low``, ``<metric>_ci_high`` for hit_rate, pai,
        pei and deviance, then ``n_folds`` and ``n_excluded`` (folds without events) of the
        ranking metrics.
        """
        label = self.cutoff(cutoff).label
        s = self.summary
        names = self.models + (self.references if references else ())
        out = pd.DataFrame(index=pd.Index(names, name="model"))
        for metric in METRICS:
            where = ALL_CELLS if metric == "deviance" else label
            part = s[(s["metric"] == metric) & (s["cutoff"] == where)].set_index("model")
            out[metric] = part["mean"]
            out[f"{metric}_ci_low"] = part["ci_low"]
            out[f"{metric}_ci_high"] = part["ci_high"]
        ranked = s[(s["metric"] == "hit_rate") & (s["cutoff"] == label)].set_index("model")
        out["n_folds"] = ranked["n_folds"]
        out["n_excluded"] = ranked["n_excluded"]
        return out

    def best(
        self, metric: str = "pai", cutoff: str | Cutoff = "1%", among: Iterable[str] | None = None
    ) -> str:
        """The model with the highest mean ``metric`` (lowest for deviance) at ``cutoff``.

        Ties go to the model listed first; ``among`` limits the choice. A reference is never
        chosen (naming one in ``among`` is a ConfigError).
        """
        if metric not in METRICS:
            raise ConfigError(f"metric {metric!r} is not one of {list(METRICS)}")
        names = list(self.models if among is None else among)
        if refs := [n for n in names if n in self.references]:
            raise ConfigError(f"{refs} are references, not models: they cannot be chosen")
        unknown = [n for n in names if n not in self.models]
        if unknown or not names:
            raise ConfigError(f"models {unknown or names} are not among {list(self.models)}")
        where = self.cutoffs[0] if metric == "deviance" else cutoff
        means = self.table(where)[metric].loc[names]
        if means.isna().all():
            raise DataValidationError(
                f"no fold had events, so no model has a {metric} at {self.cutoff(where).label}"
            )
        return str(means.idxmin() if metric == "deviance" else means.idxmax())

    def to_dict(self) -> dict[str, Any]:
        """Everything but the fitted models as JSON-ready data (NaN -> None, times -> ISO)."""
        last = self.last_fold
        out = {
            "models": list(self.models),
            "references": list(self.references),
            "kinds": self.kinds,
            "target": list(self.target),
            "cutoffs": [c.label for c in self.cutoffs],
            "n_cells": self.n_cells,
            "freq": self.freq,
            "resolution": self.resolution,
            "seed": self.seed,
            "folds": [{"as_of": f.as_of, "fit_until": f.fit_until} for f in self.folds],
            "summary": self.summary.to_dict("records"),
            "per_fold": self.per_fold.to_dict("records"),
            "deviance": self.deviance.to_dict("records"),
            "curves": self.curves.to_dict("records"),
            "calibration": {
                name: {
                    "bins": cal.table.to_dict("records"),
                    "total_predicted": cal.total_predicted,
                    "total_observed": cal.total_observed,
                }
                for name, cal in self.calibration.items()
            },
            "plan_budget": self.plan_budget,
            "plans": self.plans.to_dict("records"),
            "last_fold": {
                "as_of": last.as_of,
                "cells": cells_to_strings(last.cells).tolist(),
                "actual": last.actual,
                "expected": last.expected,
            },
        }
        converted: dict[str, Any] = jsonable(out)
        return converted


def jsonable(value: Any) -> Any:
    """``value`` with numpy, pandas and datetime parts made plain JSON (NaN and NaT -> None)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or value is pd.NaT or value is pd.NA or isinstance(value, str | bool):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)
