"""``GET /v1/monitor``: the feedback-loop monitor of a served model (``hotspots.feedback``).

What it reads is the service's own record: the forecasts it served (the snapshot store, the
last one issued per period), the events it holds (the configured ones and every posted
batch) counted over the model's cells, the patrols logged (their minutes per cell: the
dosage), and the optional area layer (``HOTSPOTS_MONITOR_AREAS_PATH``): ``serving.monitor``,
which ``hotspots report effectiveness`` calls too. The answer (``serving.monitor.monitor_answer``)
is built on the first request after a publish or a new batch of events or patrols and kept,
with a strong ETag, until the next one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from hotspots.service.auth import auth_responses, require
from hotspots.service.caching import cached_answer
from hotspots.service.problems import (
    problem_response,
    reject_unknown_query,
    validation_response,
)
from hotspots.serving.monitor import monitor_answer
from hotspots.serving.state import ServiceState

SCOPE = "forecasts:read"
MONITOR_PATH = "/v1/monitor"
JSON_TYPE = "application/json"


class MonitorDocument(BaseModel):
    """``/v1/monitor``: the model, its ``as_of``, the thresholds and reference, the flags, one
    row of figures per period, the times-flagged distribution and the per-group table (the
    README's "Feedback-loop monitor" explains each figure)."""

    model_config = ConfigDict(extra="forbid")

    model: str
    version: str
    as_of: str
    periods_served: int
    thresholds: dict[str, Any]
    reference: dict[str, Any] | None
    flagged: bool
    flags: list[dict[str, Any]]
    periods: list[dict[str, Any]]
    distribution: list[dict[str, Any]]
    groups: list[dict[str, Any]] | None
    notes: list[str]


router = APIRouter(
    tags=["monitor"],
    dependencies=[Depends(require(SCOPE)), Depends(reject_unknown_query)],
    responses={
        **validation_response(),
        **auth_responses(SCOPE),
        304: {"description": "Not modified: the ETag matches If-None-Match."},
        404: problem_response(404, "No served model of that name."),
        503: problem_response(
            503,
            "No model is being served yet, or the model's served record cannot be read "
            "(`detail` names the model and why, e.g. a damaged snapshot file).",
        ),
    },
)


WINDOW_HELP = (
    "P: periods counted back for how often each cell was flagged [the model's training-time "
    "setting, 8]. Another P than the model's drops its training-time reference."
)
REPEAT_HELP = (
    "X: a flagged cell counts as repeat when flagged in at least X of the last P periods "
    "[the model's training-time setting, 6, or P when P is smaller]; at most P."
)


@router.get(
    MONITOR_PATH,
    summary="Feedback-loop monitor of a served model",
    response_class=Response,
    responses={200: {"description": "The monitor document.", "model": MonitorDocument}},
)
async def get_monitor(
    request: Request,
    model: Annotated[
        str | None, Query(description="A served model's name [the first by name].")
    ] = None,
    window: Annotated[int | None, Query(ge=1, le=104, description=WINDOW_HELP)] = None,
    repeat: Annotated[int | None, Query(ge=1, le=104, description=REPEAT_HELP)] = None,
) -> Response:
    """Per past period: how often each cell was flagged (top ``coverage`` of the area) in
    the last ``window`` periods, the share of the flagged area flagged again and again, the
    share of newly recorded events from previously flagged cells against their share of the
    area (and against the cells next to them), with the model's training-time reference and
    the flags raised; per group of the area layer, its share of the flagged area against its
    share of population and of reported crime. The README explains each figure; `hotspots
    report effectiveness` writes the same figures."""
    state: ServiceState = request.app.state.service
    served = state.pick(model)
    notes = request.scope.setdefault("state", {})
    notes["model"] = served.label
    data, packed, etag = await run_in_threadpool(monitor_answer, state, served, (window, repeat))
    notes["etag"] = etag
    headers = request.headers
    return cached_answer(
        data=data,
        gzipped=packed,
        etag=etag,
        media_type=JSON_TYPE,
        max_age=state.settings.cache_max_age,
        if_none_match=headers.get("if-none-match"),
        accept_encoding=headers.get("accept-encoding"),
    )
