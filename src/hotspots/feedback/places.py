"""Where a patrol was: a row's named or plan area, H3 cells, or GeoJSON polygon as cells.

A loop over the rows (a patrol log has a few hundred rows a day, and each polygon needs its
own fill); each failing row gets the name of its reason (``patrols.REASONS``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely.geometry

from hotspots.errors import ConfigError, InputFileError
from hotspots.grid import (
    StudyArea,
    cells_resolution,
    points_to_cells,
    strings_to_cells,
    text_to_cell,
)

CellArray = npt.NDArray[np.uint64]
_CELL_SPLIT = re.compile(r"[\s,;|]+")


def places_to_cells(
    area: npt.NDArray[np.object_],
    cells: npt.NDArray[np.object_],
    polygon: npt.NDArray[np.object_],
    todo: npt.NDArray[np.bool_],
    resolution: int,
    areas: Mapping[str, CellArray],
    study_cells: CellArray | None,
) -> tuple[list[CellArray], list[str | None]]:
    """Per row (those in ``todo``), its cells (sorted, unique) or why it has none."""
    found: list[CellArray] = [np.empty(0, np.uint64)] * len(todo)
    why: list[str | None] = [None] * len(todo)
    study = StudyArea(study_cells, resolution) if study_cells is not None else None
    for i in np.flatnonzero(todo).tolist():
        got, reason = _place_cells(str(area[i]), str(cells[i]), str(polygon[i]), resolution, areas)
        if reason is None and study is not None and not study.contains(got).any():
            reason = "outside_area"
        if reason is None:
            found[i] = got
        why[i] = reason
    return found, why


def _place_cells(
    area: str, cells: str, polygon: str, resolution: int, areas: Mapping[str, CellArray]
) -> tuple[CellArray, str | None]:
    empty = np.empty(0, np.uint64)
    if area:
        known = areas.get(area)
        return (
            (empty, "unknown_area") if known is None or not len(known) else (np.unique(known), None)
        )
    if cells:
        values = [text_to_cell(t) for t in _CELL_SPLIT.split(cells) if t]
        if not values or any(v is None for v in values):
            return empty, "bad_cells"
        arr = np.unique(np.array(values, dtype=np.uint64))
        return (arr, None) if cells_resolution(arr) == resolution else (empty, "bad_cells")
    try:
        return polygon_to_cells(polygon, resolution), None
    except (ValueError, TypeError, KeyError, AttributeError, ConfigError):
        return empty, "bad_polygon"


def polygon_to_cells(polygon: str, resolution: int) -> CellArray:
    """Cells whose centre a GeoJSON (multi)polygon holds (h3 polygon fill); a polygon under
    one cell: the cell of a point inside it."""
    shape = shapely.geometry.shape(json.loads(polygon))
    if shape.geom_type not in ("Polygon", "MultiPolygon") or shape.is_empty or not shape.is_valid:
        raise ValueError(f"not a valid polygon: {shape.geom_type}")
    try:
        return StudyArea.from_geometry(shape, resolution).cells
    except ConfigError:
        point = shape.representative_point()  # shapely's x is lng, y is lat
        return points_to_cells([point.y], [point.x], resolution)


def plan_areas(plan: Mapping[str, Any]) -> dict[str, CellArray]:
    """The areas of a patrol plan (``hotspots plan`` JSON, or its GeoJSON) by their ids
    ``<as_of>/<rank>``, e.g. ``2024-01-08/3``: the ids a patrol log's ``area`` may give.
    A GeoJSON feature's cells are joined by ';' and its ``as_of`` is its own (so a file a
    GIS tool saved again, without the member ``plan``, still reads); GeoJSON written before
    2026-12-07 (each feature's cells a list, as_of only in ``plan``) reads too."""
    if plan.get("type") == "FeatureCollection":
        as_of = (plan.get("plan") or {}).get("as_of")
        areas = [f.get("properties") or {} for f in plan.get("features") or []]
    else:
        as_of, areas = plan.get("as_of"), list(plan.get("areas") or [])
    try:
        return {f"{a.get('as_of', as_of)}/{a['rank']}": _area_cells(a["cells"]) for a in areas}
    except (KeyError, TypeError, ValueError) as err:
        raise InputFileError(f"not a patrol plan document: {err}") from err


def _area_cells(cells: str | list[str]) -> CellArray:
    return strings_to_cells(cells.split(";") if isinstance(cells, str) else cells)
