"""Posting patrol logs (``POST /v1/patrols``, scope ``patrols:write``).

A post is read and validated by ``feedback.patrols.read_patrols`` on the grid of the model it
names (its resolution, study cells and timezone; area ids are the names of
``HOTSPOTS_AREAS_PATH``, as ``within=`` selects, and the areas ``<as_of>/<rank>`` of the plan
served now), and the accepted rows are on disk, fsynced,
as one batch before the answer (``feedback.patrol_store``). A retry with the same ids stores
nothing new; the answer says how many were already stored.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hotspots.errors import InputFileError, TooManyRejectsError
from hotspots.feedback.patrols import NAME_RULE, read_patrols
from hotspots.ingest.event_store import CSV_TYPES, MEDIA_TYPES
from hotspots.service.auth import auth_responses, require
from hotspots.service.limits import content_encoding, decode_body
from hotspots.service.problems import (
    ProblemError,
    problem_response,
    reject_unknown_query,
    rejects_problem,
)
from hotspots.service.routes_events import json_answer, media_type, reading_model
from hotspots.service.routes_forecasts import MODEL_NAME
from hotspots.service.schemas_feedback import PatrolsStored
from hotspots.serving.patrols import patrol_options, served_plan_areas
from hotspots.serving.state import ServiceState

logger = logging.getLogger(__name__)

SCOPE = "patrols:write"

router = APIRouter(
    tags=["patrols"],
    dependencies=[Depends(require(SCOPE)), Depends(reject_unknown_query)],
    responses={
        **auth_responses(SCOPE),
        404: problem_response(404, "No served model of that name."),
        503: problem_response(503, "No model is being served yet."),
    },
)

_BODY = {
    "required": True,
    "description": "Patrols as CSV (a header row, then a row per patrol; the delimiter ',', "
    "';', tab or '|' found as for events) or JSON lines, columns id, one of area / cells / "
    "polygon, start, end, and optionally unit and tactic. " + NAME_RULE + ".",
    "content": {t: {"schema": {"type": "string", "minLength": 1}} for t in MEDIA_TYPES},
}


@router.post(
    "/v1/patrols",
    summary="Log patrols (CSV or JSON lines), stored durably before the answer",
    openapi_extra={"requestBody": _BODY},
    responses={
        200: {
            "model": PatrolsStored,
            "description": "Stored; the validation report says what was left out and why.",
        },
        413: problem_response(413, "The body, as sent or inflated, is over the upload limit."),
        415: problem_response(
            415,
            "The body is neither CSV nor JSON lines, or is compressed other than as its "
            "Content-Encoding (gzip or none) says.",
        ),
        422: problem_response(
            422,
            "The body cannot be read, has no rows (a CSV header alone), has a column that is "
            "not a patrol log's (a name-like one above all), or more rows were rejected than "
            "the ceiling allows.",
        ),
        503: problem_response(503, "Other uploads kept this one waiting too long; retry."),
    },
)
async def post_patrols(
    request: Request,
    model: Annotated[
        str | None,
        Query(
            description="Read the places on this model's grid [the first served].",
            pattern=MODEL_NAME,
        ),
    ] = None,
) -> Response:
    """Validate the rows and store the accepted ones; a retried id is stored once."""
    kind = media_type(request)
    encoding = content_encoding(request.headers.get("content-encoding"))
    state: ServiceState = request.app.state.service
    reader = await run_in_threadpool(reading_model, state, model)
    request.state.model = reader.label
    fmt = "csv" if kind in CSV_TYPES else "jsonl"
    async with request.app.state.upload_slots:
        limit = state.settings.max_upload_bytes
        body = await run_in_threadpool(decode_body, await request.body(), encoding, limit)
        plans = await run_in_threadpool(served_plan_areas, state)
        options = await run_in_threadpool(
            patrol_options, reader.model, reader.manifest, state.settings, None, plans
        )
        try:
            result = await run_in_threadpool(read_patrols, body, fmt, options, "the request body")
        except TooManyRejectsError as err:
            return rejects_problem(request, err)
        except InputFileError as err:
            raise ProblemError(422, str(err)) from err
        meta: dict[str, Any] = {
            "source": "POST /v1/patrols",
            "format": fmt,
            "key_id": getattr(request.state, "key_id", None),
            "model": reader.label,
            "report": result.report.to_dict(),
        }
        stored = await run_in_threadpool(state.patrols.append, result.patrols, meta)
    return json_answer(
        {
            "batch": stored.batch,
            "stored": stored.stored,
            "already_stored": stored.already_stored,
            "report": result.report.to_dict(),
        }
    )
