"""One cell: its forecast in the current snapshot and its recent counts."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from hotspots.grid import cells_resolution, text_to_cell
from hotspots.publishing.served import Served
from hotspots.publishing.snapshot import iso_local
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


def cell_document(served: Served, cell: str, pos: int) -> dict[str, Any]:
    """The cell's forecast per published period and its recent counts (None if suppressed)."""
    snapshot = served.snapshot
    first = snapshot.tables[0]
    suppressed = bool(first.suppressed[served.positions[0][pos]])
    forecasts = []
    for h, table in enumerate(snapshot.tables):
        r = int(served.positions[h][pos])
        start, end = snapshot.periods[h]
        forecasts.append(
            {
                "period": {"start": iso_local(start), "end": iso_local(end)},
                "rank": int(table.rank[r]),
                "of": len(table),
                "expected_count": round(float(table.expected_count[r]), 4),
                "interval": {"low": int(table.low[r]), "high": int(table.high[r]), "level": 0.8},
                "relative_risk": round(float(table.relative_risk[r]), 4),
                "drivers": list(table.drivers[r]),
            }
        )
    history = None
    if not suppressed:
        history = {
            "periods": [iso_local(p) for p in served.history_periods],
            "counts": served.history[pos].tolist(),
        }
    return {
        "cell": cell,
        "model": {"name": served.name, "version": served.version},
        "as_of": iso_local(snapshot.as_of),
        "data_through": iso_local(snapshot.data_through),
        "target": list(snapshot.target),
        "suppressed": suppressed,
        "forecast": forecasts,
        "history": history,
    }


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
