"""Liveness and readiness probes (no API key: load balancers call them)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from hotspots.service.problems import problem, problem_response, reject_unknown_query, scrub
from hotspots.service.snapshot import iso_local, iso_utc
from hotspots.service.state import ServiceState

router = APIRouter(tags=["health"], dependencies=[Depends(reject_unknown_query)])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    """Always 200 while the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="At least one model is loaded, verified and published",
    responses={503: problem_response(503, "No model is being served yet.")},
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
