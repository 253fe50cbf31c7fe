"""``GET /v1/plans/latest``: the patrol plan of the served forecasts, as ``hotspots plan``
writes it (``publishing.plan_to_bytes``), served as pre-built bytes with a strong ETag.

The default budget (``HOTSPOTS_PLAN_AREAS`` areas of at most ``HOTSPOTS_PLAN_MAX_AREA_KM2``,
fitted to a study area too small for it: ``PlanBook.default``) is built at publish time; any
other budget, crime types, weights or horizon is built on its first request (tens of ms, in a
worker thread) and kept in the plan book's bounded cache, so a dashboard polling it gets the
same bytes and mostly a 304.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any, Literal

import h3
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hotspots.plan_limits import MAX_AREAS
from hotspots.publishing.plans import MAX_AREA_CELLS
from hotspots.publishing.snapshot import View
from hotspots.service.auth import auth_responses, require
from hotspots.service.caching import cached_answer
from hotspots.service.plan_schemas import PlanDocument, PlanFeatureCollection
from hotspots.service.problems import ProblemError, problem_response, reject_unknown_query
from hotspots.service.routes_forecasts import GEOJSON_TYPE, JSON_TYPE, SCOPE, HorizonParam
from hotspots.service.schemas import ref
from hotspots.serving.state import ServiceState

PLANS_PATH = "/v1/plans/latest"
BUILDS_AT_ONCE = 2
"""Plans built on request at the same time by one server process (a large budget takes a few
seconds of a core); a request for another new plan then gets a 503 with Retry-After. Plans
already built are answered whatever is being built."""
_builds = threading.BoundedSemaphore(BUILDS_AT_ONCE)

router = APIRouter(
    tags=["plans"],
    dependencies=[Depends(require(SCOPE)), Depends(reject_unknown_query)],
    responses={
        **auth_responses(SCOPE),
        304: {"description": "Not modified: the ETag matches If-None-Match."},
        422: problem_response(422, "A parameter is not valid, or no plan can meet the budget."),
        503: problem_response(
            503,
            "No model is being served yet, or no plan could be built, or too many new plans "
            "are being built at once (with Retry-After).",
        ),
    },
)
PLAN_200: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The plan: a JSON document (as_of, shifts, budget, types, summary, "
        "areas with rank, area_km2, cells, expected_count and interval, expected_by_type, when "
        "(the shift blocks and hours that stand out), reasons, boundary), or a GeoJSON "
        "FeatureCollection with one feature per area and the plan's own fields as the foreign "
        "member `plan`.",
        "model": PlanDocument,
        "content": {GEOJSON_TYPE: {"schema": ref(PlanFeatureCollection)}},
    }
}


_LIMIT_KM2_R9 = MAX_AREA_CELLS * h3.average_hexagon_area(9, "km^2")
"""The area limit in km² on the usual grid, for the parameter's description."""


@router.get(
    PLANS_PATH,
    summary="Patrol areas for the current forecast",
    response_class=Response,
    responses=PLAN_200,
)
async def latest_plan(  # async: a built plan is a dict lookup; a new one goes to a thread
    request: Request,
    areas: Annotated[
        int | None,
        Query(ge=1, le=MAX_AREAS, description="Number of areas [HOTSPOTS_PLAN_AREAS]."),
    ] = None,
    max_area_km2: Annotated[
        float | None,
        Query(
            gt=0,
            description="Largest area, km² [HOTSPOTS_PLAN_MAX_AREA_KM2 when "
            "total_km2 is not given either, fitted to a study area too small for it, as "
            "budget.note says]; at most the area of "
            f"{MAX_AREA_CELLS} of the model's smallest cells (about {_LIMIT_KM2_R9:.0f} km² at H3 "
            "resolution 9) and at most the whole study area.",
        ),  # fmt: skip
    ] = None,
    total_km2: Annotated[
        float | None,
        Query(
            gt=0,
            description="Most all areas may cover together, km² (each at most "
            "total / areas unless max_area_km2 is given); at most the whole study area.",
        ),  # fmt: skip
    ] = None,
    category: Annotated[
        list[str],
        Query(
            description="Crime type to plan for: a served model's name, or a category its "
            "target counts; repeat for several [every served model]."
        ),  # fmt: skip
    ] = [],  # noqa: B006 -- FastAPI copies defaults; a list parameter is declared this way
    weights: Annotated[
        str | None,
        Query(
            description="Severity weight per crime type, `name=w,...` (model names) [1 each].",
            min_length=1,
        ),  # fmt: skip
    ] = None,
    horizon: HorizonParam = 1,
    fmt: Annotated[Literal["json", "geojson"], Query(alias="format")] = "json",
    stop: Annotated[
        Literal["cap", "top-cells"],  # publishing.STOPS (a test holds them equal)
        Query(
            description="When an area stops growing: `cap` (when nothing more fits) or "
            "`top-cells` (also at a cell below the least of the top cells the whole budget "
            "would hold: smaller areas, no filler cells), as `hotspots plan --stop`."
        ),  # fmt: skip
    ] = "cap",
    shifts: Annotated[
        str | None,
        Query(
            description="The hours the blocks of the day start at, e.g. `7,15,23` (07-15, "
            "15-23, 23-07: a block spanning midnight counts on the day it starts); each "
            "area's `when` names the blocks of the week and of the day that stand out, as "
            "`hotspots plan --shifts` [HOTSPOTS_PLAN_SHIFTS].",
            min_length=1,
        ),  # fmt: skip
    ] = None,
) -> Response:
    """N contiguous, non-overlapping areas of H3 cells holding the most forecast crime (greedy
    region growing from the highest cells), each with where (cells, boundary), for what
    (expected count per crime type), when (the blocks of the week and of the day, and the
    hours, that stand out; "unknown" for month-only times) and why (reasons). A budget no
    plan can meet is 422 naming it.

    Requests for a plan already built are answered by ``fast_plans`` before FastAPI sees
    them, with this module's ``answer_plan``: the same bytes and headers."""
    params = {
        "areas": areas,
        "max_area_km2": max_area_km2,
        "total_km2": total_km2,
        "category": category,
        "weights": weights,
        "horizon": horizon,
        "fmt": fmt,
        "stop": stop,
        "shifts": shifts,
    }
    notes = request.scope.setdefault("state", {})
    headers = request.headers
    answer = answer_plan(request.app.state.service, params, notes, headers.get("if-none-match"),
                         headers.get("accept-encoding"))  # fmt: skip
    if answer is None:  # a plan not built yet: build it in a worker thread, then answer
        if not _builds.acquire(blocking=False):
            raise ProblemError(
                503,
                f"{BUILDS_AT_ONCE} other new plans are being built; ask again in a few seconds "
                "(plans already built, such as the default one, are answered at once)",
                headers={"Retry-After": "2"},
            )
        try:
            answer = await run_in_threadpool(
                answer_plan, request.app.state.service, params, notes,
                headers.get("if-none-match"), headers.get("accept-encoding"), build=True,
            )  # fmt: skip
        finally:
            _builds.release()
    assert answer is not None  # built
    return answer


def answer_plan(
    state: ServiceState,
    params: dict[str, Any],
    notes: dict[str, Any],
    if_none_match: str | None,
    accept_encoding: str | None,
    *,
    build: bool = False,
) -> Response | None:
    """The answer to ``latest_plan``'s parameters, shared by the route and ``fast_plans``;
    None when the plan is not built yet and ``build`` is false. The models and ETag go in
    ``notes`` (the request's state, which the audit reads)."""
    book = state.plans
    if book is None:
        why = state.plan_failure or "no model is being served yet; see /readyz"
        raise ProblemError(503, f"no patrol plan is published: {why}")
    served = state.served
    notes["model"] = ",".join(served[n].label for n in book.names if n in served)
    query = book.query(
        areas=params["areas"],
        max_area_km2=params["max_area_km2"],
        total_km2=params["total_km2"],
        categories=params["category"],
        weights=params["weights"],
        horizon=params["horizon"],
        fmt=params["fmt"],
        stop=params["stop"],
        shifts=params["shifts"],
    )
    planned = query.types or book.combined  # the audit names the versions the plan used
    notes["model"] = ",".join(served[n].label for n in planned if n in served)
    view: View | None = book.get(query) if build else book.cached(query)
    if view is None:
        return None
    notes["etag"] = view.etag
    return cached_answer(
        data=view.bytes,
        gzipped=view.gzip_bytes,
        etag=view.etag,
        media_type=GEOJSON_TYPE if params["fmt"] == "geojson" else JSON_TYPE,
        max_age=state.settings.cache_max_age,
        if_none_match=if_none_match,
        accept_encoding=accept_encoding,
    )
