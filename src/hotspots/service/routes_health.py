"""Liveness and readiness probes (no API key: load balancers call them).

``/readyz`` says only ready or not to anyone; which models, versions and ETags are served,
and why others are not, only to a request with a valid API key (any scope).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from hotspots.publishing.snapshot import iso_local, iso_utc
from hotspots.service.auth import authenticate, presented_key
from hotspots.service.limits import check_rate
from hotspots.service.problems import (
    problem,
    problem_response,
    reject_unknown_query,
    scrub,
    validation_response,
)
from hotspots.serving.realised import flagged_models, realised_cache
from hotspots.serving.state import ServiceState

router = APIRouter(
    tags=["health"],
    dependencies=[Depends(reject_unknown_query)],
    responses=validation_response(),  # a query parameter: the probes take none
)


class Health(BaseModel):
    """``/healthz``: the process answers."""

    model_config = ConfigDict(extra="forbid")
    status: str


class ReadyModel(BaseModel):
    """One served model: its version and the forecast it serves."""

    model_config = ConfigDict(extra="forbid")
    name: str
    version: str
    as_of: str
    issued_at: str
    etag: str


class Ready(BaseModel):
    """``/readyz``: ready; with an API key, every served model and why any other could not
    be served (without a key ``models`` and ``failed`` are left out)."""

    model_config = ConfigDict(extra="forbid")
    status: str
    models: list[ReadyModel] | None = None
    failed: dict[str, str] | None = None
    flagged: dict[str, str] | None = None
    """Served models whose realised PAI fell below the best baseline's for the last
    ``HOTSPOTS_EFFECTIVENESS_K_PERIODS`` periods, and why (as last computed)."""
    retrain: dict[str, str] | None = None
    """With ``HOTSPOTS_RETRAIN_SECONDS``: each model's last scheduled retrain, in one line
    (promoted, published but not promoted, nothing published, or why it failed)."""


@router.get("/healthz", summary="The process is up", response_model=Health)
def healthz() -> dict[str, str]:
    """Always 200 while the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="At least one model is loaded, verified and published",
    response_model=None,
    responses={
        200: {"model": Ready, "description": "Ready (with a key: the served models)."},
        401: problem_response(401, "An API key was sent and is not valid or was revoked."),
        429: problem_response(429, "The API key sent is over its rate limit."),
        503: problem_response(503, "No model is being served yet (with a key: why)."),
    },
)
def readyz(request: Request) -> Response:
    """200 or 503 for anyone (a load balancer's probe); the served models and versions, or
    why none is served, only with an API key of any scope, sent as on the ``/v1`` routes
    (``Authorization: Bearer <key>`` or ``X-API-Key``)."""
    presented = presented_key(request)
    detailed = presented is not None
    if detailed:
        record = authenticate(request.app.state.service.keys, presented)
        request.state.key_id = record.id
        check_rate(getattr(request.app.state, "limiter", None), record.id)
    state: ServiceState = request.app.state.service
    served, failures = state.served, state.failures
    failed = {k: scrub(request, v) for k, v in sorted(failures.items())}
    if not served:
        why = "; ".join(f"{k}: {v}" for k, v in failed.items())
        if not detailed:
            why = ""
        elif not why:
            why = "the registry is empty"
        detail = "no model is being served" + (f" ({why})" if why else "")
        extra = {"failed": failed} if detailed else None
        return problem(503, detail, instance=request.url.path, extra=extra)
    if not detailed:
        return JSONResponse({"status": "ready"})
    models = [
        {
            "name": s.name,
            "version": s.version,
            "as_of": iso_local(s.snapshot.as_of),
            "issued_at": iso_utc(s.snapshot.issued_at),
            "etag": s.snapshot.etag,
        }
        for s in sorted(served.values(), key=lambda s: s.name)
    ]
    flagged = flagged_models(realised_cache(state).peek())
    body = {"status": "ready", "models": models, "failed": failed, "flagged": flagged}
    schedule = getattr(request.app.state, "retrain", None)
    if state.settings.retrain_seconds > 0 and schedule is not None:
        body["retrain"] = {k: scrub(request, v) for k, v in sorted(schedule.last.items())}
    return JSONResponse(body)
