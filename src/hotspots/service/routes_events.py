"""Posting incidents (``POST /v1/events``) and republishing forecasts from them
(``POST /v1/forecasts/refresh``).

A post is read and validated exactly as ``hotspots ingest`` reads an export, with the reading
settings of the model it names (its preset, column map, timezone and category policy) and the
model's study area as the area check. The accepted rows are on disk, fsynced, before the
answer; the answer carries the validation report. Forecasts include them once republished:
on ``POST /v1/forecasts/refresh``, or every ``HOTSPOTS_REFRESH_SECONDS`` when set. A
republish also serves each model at its current version in the registry, so a promote or
rollback made by another worker or the CLI is served from then on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hotspots.errors import (
    ConfigError,
    DataValidationError,
    InputFileError,
    TooManyRejectsError,
)
from hotspots.forecasters import Forecaster
from hotspots.grid import cells_to_bbox
from hotspots.ingest import IngestResult
from hotspots.ingest.event_store import (
    CSV_TYPES,
    INCOMING,
    MEDIA_TYPES,
    bbox_options,
    read_body,
)
from hotspots.jobs.data import event_options, ingest_options
from hotspots.jobs.fit_check import check_events_fit
from hotspots.service.auth import auth_responses, require
from hotspots.service.limits import content_encoding, decode_body
from hotspots.service.problems import (
    ProblemError,
    problem_response,
    reject_unknown_query,
    rejects_problem,
)
from hotspots.service.routes_forecasts import JSON_TYPE, MODEL_NAME
from hotspots.service.schemas import EventsStored, Refreshed
from hotspots.serving.state import ServiceState

SCOPE = "events:write"

router = APIRouter(
    tags=["events"],
    dependencies=[Depends(require(SCOPE)), Depends(reject_unknown_query)],
    responses={
        **auth_responses(SCOPE),
        404: problem_response(404, "No served model of that name."),
        422: problem_response(422, "A parameter or the body is not valid; `detail` says why."),
        503: problem_response(503, "No model is being served yet."),
    },
)

_BODY = {
    "required": True,
    "description": "Incidents as CSV (with a header row) or JSON lines, in the columns of "
    "the export the model was trained on.",
    "content": {t: {"schema": {"type": "string", "minLength": 1}} for t in MEDIA_TYPES},
}


@dataclass(frozen=True)
class Reader:
    """The model whose reading settings and study area a post is checked against."""

    label: str
    manifest: Mapping[str, Any]
    model: Forecaster


def reading_model(state: ServiceState, name: str | None) -> Reader:
    """The served model ``name`` (default: the first), or, when it could not be served (no
    events yet), its current version from the registry; 404 / 503 when there is neither."""
    served = state.served
    chosen = name if name is not None else (min(served) if served else None)
    if chosen is not None and chosen in served:
        s = served[chosen]
        return Reader(s.label, s.manifest, s.model)
    if chosen is None:
        chosen = min(state.failures) if state.failures else None
    if chosen is None:
        raise ProblemError(503, "no model is registered yet: publish one with `hotspots train`")
    loaded = state.registry.load(chosen)  # ModelNotFoundError (404) if there is no such model
    return Reader(f"{chosen}/{loaded.version}", loaded.manifest, loaded.forecaster)


def columns_hint(reader: Reader) -> str:
    """What a post for this model must look like, in API words (not the CLI's flags)."""
    options = event_options(reader.manifest)
    columns = options.get("map") or f"those of the {options.get('preset', 'generic')!r} preset"
    return f"Rows posted for model {reader.label} are read with its columns: {columns}"


def media_type(request: Request) -> str:
    """The body's media type; 415 naming the accepted ones otherwise."""
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given not in MEDIA_TYPES:
        raise ProblemError(
            415,
            f"Content-Type {given or '(none)'!r} is not read here; send one of: "
            f"{', '.join(MEDIA_TYPES)}",
        )
    return given


def json_answer(body: dict[str, Any], status: int = 200) -> Response:
    data = json.dumps(body, ensure_ascii=False, default=str).encode()
    return Response(data, status_code=status, media_type=JSON_TYPE)


@router.post(
    "/v1/events",
    summary="Append incidents (CSV or JSON lines), stored durably before the answer",
    openapi_extra={"requestBody": _BODY},
    responses={
        200: {
            "model": EventsStored,
            "description": "Stored; the validation report says what was left out and why.",
        },
        413: problem_response(413, "The body, as sent or inflated, is over the upload limit."),
        415: problem_response(
            415,
            "The body is neither CSV nor JSON lines, or is compressed other than as its "
            "Content-Encoding (gzip or none) says.",
        ),
        422: problem_response(
            422, "The body cannot be read, or more rows were rejected than the ceiling allows."
        ),
        503: problem_response(503, "Other uploads kept this one waiting too long; retry."),
    },
)
async def post_events(
    request: Request,
    model: Annotated[
        str | None,
        Query(
            description="Read the rows as this model's data [the first served].",
            pattern=MODEL_NAME,
        ),
    ] = None,
) -> Response:
    """Validate the rows like ``hotspots ingest`` and store the accepted ones."""
    kind = media_type(request)
    encoding = content_encoding(request.headers.get("content-encoding"))
    state: ServiceState = request.app.state.service
    reader = await run_in_threadpool(reading_model, state, model)
    request.state.model = reader.label
    async with request.app.state.upload_slots:
        result = await _read_post(request, state, reader, kind, encoding)
        if isinstance(result, Response):
            return result
        stored = await run_in_threadpool(
            state.events.append, result, _meta(request, reader, kind, result)
        )
    seconds = state.settings.refresh_seconds
    return json_answer(
        {
            "batch": stored.batch,
            "stored": stored.stored,
            "already_stored": stored.already_stored,
            "first_event": stored.first_event,
            "last_event": stored.last_event,
            "report": result.report.to_dict(),
            "republish": f"every {seconds} s" if seconds > 0 else "POST /v1/forecasts/refresh",
        }
    )


async def _read_post(
    request: Request, state: ServiceState, reader: Reader, kind: str, encoding: str
) -> IngestResult | Response:
    """The body read as ``hotspots ingest`` reads a file (inflated as its Content-Encoding
    says, within the upload limit) and checked to fit the model, or the 422 problem of a
    post with too many rejects."""
    limit = state.settings.max_upload_bytes
    body = await run_in_threadpool(decode_body, await request.body(), encoding, limit)
    options = ingest_options(**event_options(reader.manifest))
    options = bbox_options(options, cells_to_bbox(reader.model.cells_, reader.model.resolution_))
    try:
        result = await run_in_threadpool(
            read_body, body, kind, state.events.folder / INCOMING, options
        )
    except TooManyRejectsError as err:
        return rejects_problem(request, err)
    except (InputFileError, ConfigError) as err:
        raise ProblemError(422, f"{err}. {columns_hint(reader)}") from err
    try:  # the same check as `hotspots forecast` and a republish: rows that fit the model
        if len(result.events):
            check_events_fit(reader.model, result.events, reader.manifest, batch=True)
    except DataValidationError as err:
        raise ProblemError(422, f"{err}. {columns_hint(reader)}") from err
    return result


def _meta(request: Request, reader: Reader, kind: str, result: IngestResult) -> dict[str, Any]:
    """What a stored batch records about its post."""
    return {
        "source": "POST /v1/events",
        "format": "csv" if kind in CSV_TYPES else "jsonl",
        "key_id": getattr(request.state, "key_id", None),
        "model": reader.label,
        "timezone": result.timezone,
        "report": result.report.to_dict(),
    }


@router.post(
    "/v1/forecasts/refresh",
    summary="Republish every forecast from the events and the registry as they are now",
    response_model=None,
    responses={
        200: {"model": Refreshed, "description": "What was republished, and what could not be."}
    },
)
async def refresh(request: Request) -> Response:
    """Republish each model at its current version in the registry (a promote or rollback
    made elsewhere is served from now on), posted events included; one swap."""
    state: ServiceState = request.app.state.service
    if not state.served and not state.failures and not await run_in_threadpool(state.wanted):
        raise ProblemError(503, "no model is registered yet: publish one with `hotspots train`")
    fresh, failed = await run_in_threadpool(state.refresh)
    models = [
        {
            "name": s.name,
            "version": s.version,
            "as_of": s.snapshot.as_of.isoformat(),
            "data_through": s.snapshot.data_through.isoformat(),
            "issued_at": s.snapshot.issued_at.isoformat(),
            "etag": s.snapshot.etag,
        }
        for s in fresh.values()
    ]
    return json_answer({"models": models, "failed": failed, "batches": len(state.published)})
