"""``GET /v1/monitor``: the feedback-loop monitor of a served model (``hotspots.feedback``).

What it reads is the service's own record: the forecasts it served (the snapshot store, the
last one issued per period), the events it holds (the configured ones and every posted
batch) counted over the model's cells, the patrols logged (their minutes per cell: the
dosage), and the optional area layer
(``HOTSPOTS_MONITOR_AREAS_PATH``). The answer is built on the first request after a publish
or a new batch of events or patrols and kept, with a strong ETag, until the next one.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from hotspots.feedback.monitor_groups import GroupLayer, read_group_layer
from hotspots.feedback.monitor_served import monitor_document
from hotspots.jobs.event_cache import EventCache
from hotspots.publishing.served import Served
from hotspots.service.auth import auth_responses, require
from hotspots.service.caching import cached_answer
from hotspots.service.problems import (
    problem_response,
    reject_unknown_query,
    validation_response,
)
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
        503: problem_response(503, "No model is being served yet."),
    },
)
_lock = threading.Lock()


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
) -> Response:
    """Per past period: how often each cell was flagged (top ``coverage`` of the area) in
    the last ``window`` periods, the share of the flagged area flagged again and again, the
    share of newly recorded events from previously flagged cells against their share of the
    area (and against the cells next to them), with the model's training-time reference and
    the flags raised; per group of the area layer, its share of the flagged area against its
    share of population and of reported crime. The README explains each figure."""
    state: ServiceState = request.app.state.service
    served = state.pick(model)
    notes = request.scope.setdefault("state", {})
    notes["model"] = served.label
    data, packed, etag = await run_in_threadpool(_answer, state, served, request.app.state)
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


def _answer(state: ServiceState, served: Served, app_state: Any) -> tuple[bytes, bytes, str]:
    """The monitor document's bytes, gzip bytes and ETag, kept until a publish or a batch."""
    metas = state.store.list(served.name)
    key = (
        served.label,
        served.snapshot.etag,
        state.events.generation(),
        state.patrols.generation(),
        len(metas),
    )
    with _lock:
        cache: dict[str, Any] = getattr(app_state, "monitor_cache", {})
        app_state.monitor_cache = cache
        hit = cache.get(served.name)
        if hit is not None and hit[0] == key:
            return hit[1]
    answer = _build(state, served, metas)
    with _lock:
        cache[served.name] = (key, answer)
    return answer


def _build(
    state: ServiceState, served: Served, metas: list[dict[str, Any]]
) -> tuple[bytes, bytes, str]:
    settings = state.settings
    events = EventCache(settings.events_path, state.events).get(served.manifest)
    del metas  # part of the cache key only
    patrols = state.patrols.read()
    return monitor_document(
        served,
        events.events,
        state.store,
        settings.monitor_periods,
        _groups(state, served),
        patrols=None if patrols.empty else patrols,
        timezone=events.timezone,
    )


def _groups(state: ServiceState, served: Served) -> GroupLayer | None:
    """The configured area layer over the model's cells (None when unset)."""
    s = state.settings
    if s.monitor_areas_path is None:
        return None
    return read_group_layer(
        s.monitor_areas_path,
        served.cells,
        served.model.resolution_,
        group_field=s.monitor_group_field,
        population_field=s.monitor_population_field,
    )
