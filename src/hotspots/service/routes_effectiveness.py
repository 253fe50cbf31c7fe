"""``GET /v1/effectiveness``: how what was served did, beside the baselines and the patrols.

The figures are ``feedback.effectiveness``'s, from the service's own records
(``serving.realised``), recomputed only when a publish, a posted batch of events or of
patrols changed them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hotspots.errors import ConfigError
from hotspots.feedback.realised_io import between, realised_to_dict, window_of
from hotspots.feedback.realised_shown import suppress_realised
from hotspots.service.auth import auth_responses, require
from hotspots.service.problems import (
    ProblemError,
    problem_response,
    reject_unknown_query,
    scrub,
    validation_response,
)
from hotspots.service.routes_forecasts import JSON_TYPE
from hotspots.service.schemas_feedback import Effectiveness
from hotspots.serving.realised import realised_cache
from hotspots.serving.state import ServiceState

SCOPE = "forecasts:read"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

router = APIRouter(
    tags=["effectiveness"],
    dependencies=[Depends(require(SCOPE)), Depends(reject_unknown_query)],
    responses={
        **auth_responses(SCOPE),
        **validation_response(),
        503: problem_response(503, "No model is being served yet."),
    },
)


@router.get(
    "/v1/effectiveness",
    summary="Realised hit rate, PAI and PEI of what was served, beside the baselines and "
    "the patrol dosage",
    responses={
        200: {
            "model": Effectiveness,
            "description": "Per served model: its flag, and per period whose events have "
            "arrived, the served and baseline figures at each cutoff and the dosage.",
        },
        404: problem_response(404, "No served model's events hold that category."),
        422: problem_response(422, "A parameter is not valid; `detail` says why."),
    },
    response_class=Response,
)
async def get_effectiveness(
    request: Request,
    since: Annotated[
        str | None,
        Query(
            description="Periods starting on or after this date (YYYY-MM-DD; before until).",
            pattern=DATE,
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(description="Periods starting before this date (YYYY-MM-DD).", pattern=DATE),
    ] = None,
    category: Annotated[
        str | None,
        Query(
            description="Score against this category's events alone (the baselines "
            "forecast it alone) [each model's target].",
            min_length=1,
            max_length=200,
        ),
    ] = None,
) -> Response:
    """Realised effectiveness of every served model, for the periods in ``[since, until)``
    (a window after the last period gives no periods; one whose ``since`` is not before its
    ``until`` is a 422; the flags always judge each model's latest ones)."""
    state: ServiceState = request.app.state.service
    if not state.served:
        raise ProblemError(503, "no model is being served yet; see /readyz")
    start, end = _window(since, until)  # before any work
    realised = await run_in_threadpool(realised_cache(state).get, category)
    shown = state.settings.min_events_shown  # small counts withheld, as in the forecasts
    body: dict[str, Any] = {
        "since": since,
        "until": until,
        "category": category,
        "k_periods": state.settings.effectiveness_k_periods,
        **realised_to_dict(suppress_realised(between(realised, start, end), shown)),
    }
    for failed in body["failed"]:  # the reason names a file: not the server's folders
        failed["reason"] = scrub(request, failed["reason"])
    data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
    return Response(data, media_type=JSON_TYPE)


def _window(since: str | None, until: str | None) -> tuple[dt.date | None, dt.date | None]:
    """The ``since`` / ``until`` parameters as dates; 422 naming one when no such day exists,
    or both when ``since`` is not before ``until``."""
    try:
        return window_of(since, until)
    except ConfigError as err:
        raise ProblemError(422, str(err)) from err
