"""One cell: its forecast in the current snapshot and its recent counts."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from hotspots.grid import cells_resolution, text_to_cell
from hotspots.publishing.cell_document import cell_document
from hotspots.publishing.served import Served
from hotspots.service.auth import auth_responses, require
from hotspots.service.caching import VARY
from hotspots.service.problems import (
    ProblemError,
    problem_response,
    reject_unknown_query,
    validation_response,
)
from hotspots.service.routes_forecasts import SCOPE, served_model
from hotspots.service.schemas import DATA_THROUGH, Interval, ModelRef, Period, Strict

router = APIRouter(
    tags=["cells"],
    dependencies=[Depends(require(SCOPE)), Depends(reject_unknown_query)],
    responses={
        **auth_responses(SCOPE),
        404: problem_response(404, "Not an H3 cell, not in the study area, or no such model."),
        **validation_response(),
        503: problem_response(503, "No model is being served yet."),
    },
)


class CellForecast(Strict):
    """The cell in one published period."""

    period: Period
    rank: int
    of: int = Field(description="Study cells ranked.")
    expected_count: float
    interval: Interval
    relative_risk: float
    drivers: list[str]


class CellHistory(Strict):
    """Target counts of the cell in the most recent periods (oldest first)."""

    periods: list[str]
    counts: list[int]


class CellDetail(Strict):
    """``/v1/cells/{cell}``: the cell's forecasts and, unless suppressed, its history."""

    cell: str
    model: ModelRef
    as_of: str
    data_through: str = Field(description=DATA_THROUGH)
    target: list[str]
    suppressed: bool
    forecast: list[CellForecast]
    history: CellHistory | None


def cell_position(served: Served, cell: int) -> int:
    """The position of ``cell`` in the model's cells; 404 naming why it has none."""
    resolution = served.model.resolution_
    found = cells_resolution([cell])
    name = format(cell, "x")
    if found != resolution:
        raise ProblemError(
            404,
            f"cell {name} has H3 resolution {found}; model {served.name!r} forecasts "
            f"resolution-{resolution} cells",
        )
    cells = served.cells
    pos = int(np.searchsorted(cells, np.uint64(cell)))
    if pos >= cells.size or int(cells[pos]) != cell:
        raise ProblemError(
            404,
            f"cell {name} is outside the study area of model {served.name!r} ({cells.size} cells)",
        )
    return pos


def parse_cell(text: str) -> int:
    """The cell of the path, hexadecimal or decimal; 404 naming the text otherwise."""
    cell = text_to_cell(text)
    if cell is None:
        shown = text if len(text) <= 40 else f"{text[:40]}..."
        raise ProblemError(
            404,
            f"{shown!r} is not a valid H3 cell id (hexadecimal like 8828308281fffff, "
            "or the same index in decimal)",
        )
    return cell


@router.get(
    "/v1/cells/{cell}",
    summary="One cell's forecast and recent counts",
    response_model=None,
    responses={200: {"model": CellDetail, "description": "The cell's forecast."}},
)
def cell_detail(
    request: Request,
    cell: Annotated[
        str, Path(description="H3 cell id: hexadecimal, or the same index in decimal.")
    ],
    model: Annotated[str | None, Query(description="Model name [the first served].")] = None,
) -> JSONResponse:
    """Rank, expected count, 80% interval and drivers per period; recent target counts
    unless the cell has too few events to show (``suppressed``)."""
    served = served_model(request, model)
    value = parse_cell(cell)
    pos = cell_position(served, value)
    body = cell_document(served, format(value, "x"), pos)
    cache = f"private, max-age={request.app.state.service.settings.cache_max_age}"
    return JSONResponse(body, headers={"Cache-Control": cache, "Vary": VARY})
