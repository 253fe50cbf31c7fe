"""Patrol plans: the area-growing algorithm (``hotspots.grid.regions``, re-exported here) and
how several crime types' forecasts combine into the one score the areas are grown on."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from hotspots.errors import ConfigError
from hotspots.grid.regions import (
    MAX_AREA_CELLS,
    SEEDS,
    STOPS,
    CellArray,
    FloatArray,
    IntArray,
    PlanBudget,
    check_budget,
    fit_to_study_area,
    grow_areas,
    is_contiguous,
    top_cells_at_area,
    top_cells_sum_at_area,
)

__all__ = [
    "MAX_AREA_CELLS",
    "SEEDS",
    "STOPS",
    "CellArray",
    "FloatArray",
    "IntArray",
    "PlanBudget",
    "check_budget",
    "combine_scores",
    "fit_to_study_area",
    "grow_areas",
    "is_contiguous",
    "top_cells_at_area",
    "top_cells_sum_at_area",
]


def combine_scores(
    expected: Mapping[str, FloatArray], weights: Mapping[str, float] | None = None
) -> FloatArray:
    """One score per cell: the severity-weighted sum of each crime type's expected count.

    ``weights`` default to 1; a weight for a type that is not forecast is a ConfigError.
    """
    if not expected:
        raise ConfigError("a plan needs the forecast of at least one crime type")
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(expected))
    if unknown:
        raise ConfigError(f"weights for {unknown} but the forecast types are {sorted(expected)}")
    bad = {k: v for k, v in weights.items() if not (math.isfinite(v) and v >= 0)}
    if bad:
        raise ConfigError(f"weights must be finite and >= 0; got {bad}")
    arrays = list(expected.values())
    score = np.zeros_like(np.asarray(arrays[0], dtype=np.float64))
    for name, values in expected.items():
        score += weights.get(name, 1.0) * np.asarray(values, dtype=np.float64)
    return score
