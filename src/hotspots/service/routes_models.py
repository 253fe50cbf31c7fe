"""The registry over HTTP: list models, describe a version, promote one (admin)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict

from hotspots.errors import IntegrityError
from hotspots.publishing.snapshot import iso_local
from hotspots.registry import model_card
from hotspots.registry.manifest import NAME_PATTERN
from hotspots.service.auth import auth_responses, require
from hotspots.service.problems import (
    ProblemError,
    problem_response,
    reject_unknown_query,
    scrub,
    validation_response,
)
from hotspots.serving.state import ServiceState

logger = logging.getLogger(__name__)

READ, ADMIN = "forecasts:read", "models:admin"
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: problem_response(404, "No such model or version.")
}
# The registry's own rules, so a name or version it would refuse is a 422 the schema predicts
# (pydantic searches a pattern, hence the anchors).
NameParam = Annotated[str, Path(description="Model name.", pattern=f"^{NAME_PATTERN.pattern}$")]
VersionParam = Annotated[
    str, Path(description="Version, e.g. v3 or 3.", pattern=r"^[vV]?[1-9][0-9]{0,8}$")
]

router = APIRouter(tags=["models"], responses=validation_response())
# the key first, then the query: a request without a key is 401 whatever its parameters
_READ = [Depends(require(READ)), Depends(reject_unknown_query)]
_ADMIN = [Depends(require(ADMIN)), Depends(reject_unknown_query)]
_TAMPERED: dict[int | str, dict[str, Any]] = {
    409: problem_response(409, "A file of the stored version fails its checksum; it is named.")
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelEntry(_Strict):
    """One registered model (kind, target and created describe its current version)."""

    name: str
    current: str | None
    served: str | None
    versions: list[str]
    kind: str | None
    target: list[str] | None
    created: str | None


class ModelList(_Strict):
    """``/v1/models``."""

    models: list[ModelEntry]


class DataSummary(_Strict):
    """The training data as its manifest describes it."""

    rows_accepted: Any
    first_event: Any
    last_event: Any


class BacktestSummary(_Strict):
    """How the model was selected, and the backtest table it was selected from."""

    selected: Any
    reason: Any
    select_cutoff: Any
    table: list[Any]


class VersionDetail(_Strict):
    """``/v1/models/{name}/{version}``: the manifest summary and the model card."""

    name: str | None
    version: str | None
    kind: str | None
    created: str | None
    target: list[str] | None
    resolution: int | None
    freq: str | None
    study_cells: int | None
    params: dict[str, Any] | None
    fit_end: str | None
    data: DataSummary
    backtest: BacktestSummary
    current: bool
    served: bool
    card: str


class Promotion(_Strict):
    """``/v1/models/{name}/{version}/promote``: what is served now, and what was."""

    name: str
    version: str
    previous: str | None
    as_of: str
    etag: str


_SUMMARY_KEYS = ("name", "version", "kind", "created", "target", "resolution", "freq")


@contextlib.contextmanager
def _tampered(request: Request, outcome: str) -> Iterator[None]:
    """A stored file that fails its check becomes a 409 naming it (not a 500): the version
    on disk conflicts with its manifest, and the operators must re-publish it."""
    try:
        yield
    except IntegrityError as err:
        logger.error("integrity check failed on %s: %s", request.url.path, err)
        raise ProblemError(409, f"{scrub(request, str(err))}: {outcome}") from err


def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


@router.get(
    "/v1/models",
    summary="Every registered model and the version served",
    dependencies=_READ,
    response_model=None,
    responses={**auth_responses(READ), 200: {"model": ModelList, "description": "The models."}},
)
def list_models(request: Request) -> dict[str, Any]:
    """Each model's versions, its current version and the version this service serves."""
    state = _state(request)
    served = state.served
    return {
        "models": [
            {
                "name": m.name,
                "current": m.current,
                "served": served[m.name].version if m.name in served else None,
                "versions": list(m.versions),
                "kind": m.kind,
                "target": None if m.target is None else list(m.target),
                "created": m.created,
            }
            for m in state.registry.list_models()
        ]
    }


def version_summary(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a manifest an API user needs (no file paths or checksums)."""
    out = {k: manifest.get(k) for k in _SUMMARY_KEYS}
    backtest = manifest.get("backtest") or {}
    out["study_cells"] = manifest.get("study_cells")
    out["params"] = manifest.get("params")
    out["fit_end"] = (manifest.get("meta") or {}).get("fit_end")
    data = manifest.get("data") or {}
    out["data"] = {k: data.get(k) for k in ("rows_accepted", "first_event", "last_event")}
    out["backtest"] = {
        "selected": backtest.get("selected"),
        "reason": backtest.get("reason"),
        "select_cutoff": backtest.get("select_cutoff"),
        "table": backtest.get("table") or [],
    }
    return out


@router.get(
    "/v1/models/{name}/{version}",
    summary="One model version: summary, backtest table and model card",
    dependencies=_READ,
    response_model=None,
    responses={
        **auth_responses(READ),
        **_NOT_FOUND,
        **_TAMPERED,
        200: {"model": VersionDetail, "description": "The version."},
    },
)
def describe_version(
    request: Request,
    name: NameParam,
    version: VersionParam,
) -> dict[str, Any]:
    """The manifest summary, the backtest table and the model card (markdown)."""
    state = _state(request)
    with _tampered(request, f"{name} {version} cannot be described"):
        manifest = state.registry.manifest(name, version)
    served = state.served.get(name)
    return {
        **version_summary(manifest),
        "current": state.registry.current(name) == manifest.get("version"),
        "served": served is not None and served.version == manifest.get("version"),
        "card": model_card(manifest),
    }


@router.post(
    "/v1/models/{name}/{version}/promote",
    summary="Make a version current and serve it",
    dependencies=_ADMIN,
    response_model=None,
    responses={
        **auth_responses(ADMIN),
        **_NOT_FOUND,
        **_TAMPERED,
        200: {"model": Promotion, "description": "The version now served."},
    },
)
def promote(
    request: Request,
    name: NameParam,
    version: VersionParam,
) -> dict[str, Any]:
    """Load (checksums verified) and publish the version, promote it, then swap it in."""
    state = _state(request)
    before = state.served.get(name)
    kept = "nothing changed" if before is None else f"{before.label} is still served"
    with _tampered(request, f"{name} {version} was not promoted; {kept}"):
        served = state.promote(name, version)
    request.state.model = served.label
    request.state.etag = served.snapshot.etag
    return {
        "name": served.name,
        "version": served.version,
        "previous": None if before is None else before.version,
        "as_of": iso_local(served.snapshot.as_of),
        "etag": served.snapshot.etag,
    }
