"""The forecast endpoints: the latest snapshot's views, and replays of past snapshots.

Bodies are the bytes built at publish time (``Snapshot.view``), sent as they are: never a
dict through FastAPI's encoder. Each answer has a strong ETag, so a dashboard polling every
few seconds mostly gets ``304 Not Modified`` with no body. Plain ``latest`` requests are
answered by ``fast_path`` before FastAPI's routing, with this module's ``answer_latest``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from hotspots.errors import ConfigError
from hotspots.publishing.served import Served
from hotspots.registry.manifest import NAME_PATTERN
from hotspots.service.auth import auth_responses, require
from hotspots.service.caching import cached_answer
from hotspots.service.problems import ProblemError, problem_response, reject_unknown_query
from hotspots.service.schemas import AreaList, ForecastDocument, ForecastFeatureCollection, ref
from hotspots.serving.state import ServiceState

JSON_TYPE = "application/json"
GEOJSON_TYPE = "application/geo+json"
SCOPE = "forecasts:read"
LATEST_PATH = "/v1/forecasts/latest"

router = APIRouter(
    tags=["forecasts"],
    dependencies=[Depends(require(SCOPE)), Depends(reject_unknown_query)],
    responses={
        **auth_responses(SCOPE),
        304: {"description": "Not modified: the ETag matches If-None-Match."},
        404: problem_response(404, "No such model or snapshot."),
        422: problem_response(422, "A parameter is not valid; `detail` names it."),
        503: problem_response(503, "No model is being served yet (see /readyz)."),
    },
)
MODEL_NAME = f"^{NAME_PATTERN.pattern}$"
"""A model name as the registry allows it (pydantic searches a pattern, hence the anchors)."""
ModelParam = Annotated[
    str | None, Query(description="Model name [the first served].", pattern=MODEL_NAME)
]
HorizonParam = Annotated[
    int,
    Query(
        ge=1,
        description="Forecast period, 1 = next, up to the periods the service publishes "
        "(HOTSPOTS_FORECAST_HORIZON, 4 by default).",
    ),
]
_NUMBER = r"\s*-?[0-9]+(\.[0-9]+)?\s*"
BBOX_PATTERN = f"^{_NUMBER}(,{_NUMBER}){{3}}$"
FORECAST_200: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ForecastDocument,
        "description": "The ranked hotspots: JSON, or a GeoJSON FeatureCollection.",
        "content": {GEOJSON_TYPE: {"schema": ref(ForecastFeatureCollection)}},
    }
}
_ONE_BUDGET = " Give at most one of top, area_km2 and coverage (none: top=100)."


def serve_bytes(
    request: Request,
    *,
    data: bytes,
    gzipped: bytes,
    etag: str,
    media_type: str,
    max_age: int,
) -> Response:
    """``cached_answer`` for a request: the bytes with caching headers, or a bare 304."""
    request.state.etag = etag
    return cached_answer(
        data=data,
        gzipped=gzipped,
        etag=etag,
        media_type=media_type,
        max_age=max_age,
        if_none_match=request.headers.get("if-none-match"),
        accept_encoding=request.headers.get("accept-encoding"),
    )


def served_model(request: Request, name: str | None) -> Served:
    """The served model ``name`` (default: the first); 503 while nothing is served."""
    served = pick_served(request.app.state.service, name)
    request.state.model = served.label
    return served


def pick_served(state: ServiceState, name: str | None) -> Served:
    """``state.pick(name)``, or a 503 while nothing is served."""
    if not state.served:
        raise ProblemError(503, "no model is being served yet; see /readyz")
    return state.pick(name)


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``south,west,north,east`` as four floats; 422 naming ``bbox`` otherwise."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ProblemError(
            422, f"bbox must be four numbers 'south,west,north,east' in degrees, got {text!r}"
        )
    return values[0], values[1], values[2], values[3]


def _check_budget(**budgets: Any) -> None:
    if sum(v is not None for v in budgets.values()) > 1:
        given = [f"{k}={v}" for k, v in budgets.items() if v is not None]
        raise ProblemError(
            422, f"give at most one of top, area_km2 or coverage, got {' and '.join(given)}"
        )


def _check_horizon(horizon: int, periods: int) -> None:
    if horizon > periods:
        raise ProblemError(
            422,
            f"horizon must be between 1 and {periods} (the periods this service publishes: "
            f"`hotspots serve --horizon` or HOTSPOTS_FORECAST_HORIZON), got {horizon}",
        )


@dataclass(frozen=True)
class LatestQuery:
    """The parameters of ``GET /v1/forecasts/latest``, once valid (see ``latest``)."""

    model: str | None = None
    top: int | None = None
    area_km2: float | None = None
    coverage: float | None = None
    bbox: str | None = None
    within: str | None = None
    fmt: str = "json"
    boundary: bool = False
    horizon: int = 1


def answer_latest(
    state: ServiceState,
    query: LatestQuery,
    notes: dict[str, Any],
    *,
    if_none_match: str | None,
    accept_encoding: str | None,
) -> Response:
    """The answer to a valid ``latest`` query, shared by the route and ``fast_path``.

    The model and ETag served go in ``notes`` (the request's state, which the audit reads),
    the model before anything can fail, as the route's own checks would record it.
    """
    _check_budget(top=query.top, area_km2=query.area_km2, coverage=query.coverage)
    served = pick_served(state, query.model)
    notes["model"] = served.label
    snapshot = served.snapshot
    _check_horizon(query.horizon, len(snapshot.tables))
    view = snapshot.view(
        top=query.top,
        area_km2=query.area_km2,
        coverage=query.coverage,
        bbox=parse_bbox(query.bbox),
        within=query.within,
        fmt=query.fmt,
        boundary=query.boundary,
        period=query.horizon - 1,
    )
    notes["etag"] = view.etag
    return cached_answer(
        data=view.bytes,
        gzipped=view.gzip_bytes,
        etag=view.etag,
        media_type=GEOJSON_TYPE if query.fmt == "geojson" else JSON_TYPE,
        max_age=state.settings.cache_max_age,
        if_none_match=if_none_match,
        accept_encoding=accept_encoding,
    )


@router.get(
    LATEST_PATH,
    summary="The current forecast's top cells",
    response_class=Response,
    responses=FORECAST_200,
)
async def latest(  # async: a cached view is a dict lookup; no thread hop on the hot path
    request: Request,
    model: ModelParam = None,
    top: Annotated[
        int | None, Query(ge=1, description="Number of top cells." + _ONE_BUDGET)
    ] = None,
    area_km2: Annotated[
        float | None, Query(gt=0, description="Area budget in km²." + _ONE_BUDGET)
    ] = None,
    coverage: Annotated[
        float | None, Query(gt=0, le=1, description="Share of the study cells." + _ONE_BUDGET)
    ] = None,
    bbox: Annotated[
        str | None, Query(description="south,west,north,east (degrees).", pattern=BBOX_PATTERN)
    ] = None,
    within: Annotated[
        str | None, Query(description="A named area (see /v1/areas).", min_length=1)
    ] = None,
    fmt: Annotated[Literal["json", "geojson"], Query(alias="format")] = "json",
    boundary: Annotated[bool, Query(description="Add cell polygons to JSON.")] = False,
    horizon: HorizonParam = 1,
) -> Response:
    """The top cells under one budget (top, area_km2 or coverage: they exclude each other;
    default 100 cells), as JSON or GeoJSON, optionally only those inside ``bbox`` and/or the
    named area ``within``.

    Plain requests to this route are answered by ``fast_path`` before FastAPI sees them;
    this handler answers the rest (and every refusal), with the same bytes and headers."""
    query = LatestQuery(model, top, area_km2, coverage, bbox, within, fmt, boundary, horizon)
    return answer_latest(
        request.app.state.service,
        query,
        request.scope.setdefault("state", {}),
        if_none_match=request.headers.get("if-none-match"),
        accept_encoding=request.headers.get("accept-encoding"),
    )


@router.get(
    "/v1/forecasts",
    summary="Replay a published forecast byte for byte",
    response_class=Response,
    responses={200: {"model": ForecastDocument, "description": "The document as published."}},
)
def replay(
    request: Request,
    as_of: Annotated[date, Query(description="The forecast's as_of date (YYYY-MM-DD).")],
    model: ModelParam = None,
    horizon: HorizonParam = 1,
) -> Response:
    """The full ranked document last published for ``model`` and ``as_of``."""
    state: ServiceState = request.app.state.service
    name = model if model is not None else served_model(request, None).name
    try:
        stored = state.store.load(name, as_of.isoformat(), period=horizon - 1)
    except ConfigError as err:
        if "period" not in str(err):
            raise
        raise ProblemError(422, f"horizon {horizon} was not published for {as_of}") from err
    request.state.model = f"{name}/{stored.metadata.get('version')}"
    return serve_bytes(
        request,
        data=stored.bytes,
        gzipped=stored.gzip_bytes,
        etag=stored.etag,
        media_type=JSON_TYPE,
        max_age=state.settings.cache_max_age,
    )


@router.get(
    "/v1/areas",
    summary="The named areas that within= accepts",
    response_model=None,
    responses={200: {"model": AreaList, "description": "The areas."}},
)
def areas(
    request: Request,
    model: ModelParam = None,
) -> Response:
    """Each named area of the served model with its number of study cells."""
    served = served_model(request, model)
    body = {
        "model": {"name": served.name, "version": served.version},
        "areas": [
            {"name": name, "cells": int(mask.sum())}
            for name, mask in sorted(served.snapshot.areas.items())
        ],
    }
    return Response(json.dumps(body).encode(), media_type=JSON_TYPE)
