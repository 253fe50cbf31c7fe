"""Publishing: the documents built from forecasts (patrol plans), for the CLI and the API alike.

A layer above ``jobs`` and below ``service`` / ``cli``: pure functions of a forecast, the
model's cells and the event history, returning JSON-able data.
"""

from hotspots.plan_limits import MAX_AREAS
from hotspots.publishing.plan_book import PlanBook, PlanInput
from hotspots.publishing.plan_context import AreaHistory, ReasonFn, history_reasons
from hotspots.publishing.plan_document import (
    build_plan,
    cells_to_boundary_geojson,
    check_distinct_types,
    distinct_types,
)
from hotspots.publishing.plan_io import (
    plan_suffix,
    plan_to_bytes,
    plan_to_geojson,
    plan_to_rows,
    write_plan,
)
from hotspots.publishing.plan_query import PlanQuery, parse_weights, reading_type, select_types
from hotspots.publishing.plans import (
    MAX_AREA_CELLS,
    SEEDS,
    STOPS,
    PlanBudget,
    check_budget,
    combine_scores,
    fit_to_study_area,
    grow_areas,
    is_contiguous,
    top_cells_at_area,
    top_cells_sum_at_area,
)

__all__ = [
    "MAX_AREAS",
    "MAX_AREA_CELLS",
    "SEEDS",
    "STOPS",
    "AreaHistory",
    "PlanBook",
    "PlanBudget",
    "PlanInput",
    "PlanQuery",
    "ReasonFn",
    "build_plan",
    "cells_to_boundary_geojson",
    "check_budget",
    "check_distinct_types",
    "distinct_types",
    "combine_scores",
    "fit_to_study_area",
    "grow_areas",
    "history_reasons",
    "is_contiguous",
    "parse_weights",
    "plan_suffix",
    "plan_to_bytes",
    "plan_to_geojson",
    "plan_to_rows",
    "reading_type",
    "select_types",
    "top_cells_at_area",
    "top_cells_sum_at_area",
    "write_plan",
]
