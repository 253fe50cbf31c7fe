"""Liveness and readiness probes (no API key: load balancers call them)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from hotspots.service.problems import (
    problem,
    problem_response,
    reject_unknown_query,
    scrub,
    validation_response,
)
from hotspots.service.snapshot import iso_local, iso_utc
from hotspots.service.state import ServiceState

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
    """``/readyz``: every served model, and why any other could not be served."""

    model_config = ConfigDict(extra="forbid")
    status: str
    models: list[ReadyModel]
    failed: dict[str, str]


@router.get("/healthz", summary="The process is up", response_model=Health)
def healthz() -> dict[str, str]:
    """Always 200 while the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="At least one model is loaded, verified and published",
    response_model=None,
    responses={
        200: {"model": Ready, "description": "The served models."},
        503: problem_response(503, "No model is being served yet."),
    },
)
def readyz(request: Request) -> Response:
    """200 with the served models and versions, or 503 until one is served."""
    state: ServiceState = request.app.state.service
    served, failures = state.served, state.failures
    if not served:
        failed = {k: scrub(request, v) for k, v in sorted(failures.items())}
        why = "; ".join(f"{k}: {v}" for k, v in failed.items())
        detail = "no model is being served" + (f" ({why})" if why else " (the registry is empty)")
        return problem(503, detail, instance=request.url.path, extra={"failed": failed})
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
    failed = {k: scrub(request, v) for k, v in sorted(failures.items())}
    return JSONResponse({"status": "ready", "models": models, "failed": failed})
