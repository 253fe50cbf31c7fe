"""RFC 9457 problem details (``application/problem+json``) for every error the API returns.

Library errors (``HotspotsError``) become 4xx with their message as ``detail``; request
validation errors become 422 naming the parameter; an unknown query parameter is a 422 too
(a typo like ``tpo=5`` must not silently serve the default). Nothing returns a traceback.
"""

from __future__ import annotations

import difflib
import json
import logging
import typing
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hotspots.errors import (
    ConfigError,
    DataValidationError,
    HotspotsError,
    InputFileError,
    IntegrityError,
    ModelNotFoundError,
    RecordUnreadableError,
    TooManyRejectsError,
    UnknownCategoryError,
    shown,
)

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"

_STATUS: tuple[tuple[type[HotspotsError], int], ...] = (
    (ModelNotFoundError, 404),
    (UnknownCategoryError, 404),
    (IntegrityError, 500),
    (RecordUnreadableError, 503),
    (ConfigError, 422),
    (DataValidationError, 422),
    (InputFileError, 422),
)

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Request validation errors (422): where, message and kind of each.",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": ["string", "null"]},
                    "type": {"type": ["string", "null"]},
                },
            },
        },
        "report": {
            "type": "object",
            "description": "The validation report of a refused upload (POST /v1/events).",
        },
        "failed": {
            "type": "object",
            "description": "Models that could not be served, with why (``/readyz``).",
            "additionalProperties": {"type": "string"},
        },
    },
}


def problem_response(status: int, description: str) -> dict[str, Any]:
    """One ``responses=`` entry documenting a problem+json answer with ``status`` in OpenAPI."""
    properties = {**PROBLEM_SCHEMA["properties"], "status": {"type": "integer", "enum": [status]}}
    schema = {**PROBLEM_SCHEMA, "properties": properties}
    return {"description": description, "content": {PROBLEM_TYPE: {"schema": schema}}}


def validation_response() -> dict[int | str, dict[str, Any]]:
    """The 422 entry of a ``responses=`` (FastAPI would document its own JSON shape instead)."""
    return {422: problem_response(422, "A parameter is not valid; `detail` names it.")}


class ProblemError(Exception):
    """An HTTP problem raised by the service layer (the library never raises HTTP errors)."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


def problem(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    if request_id is not None:
        body["request_id"] = request_id
    body.update(extra or {})
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(data, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_TYPE)


def rejects_problem(request: Request, err: TooManyRejectsError) -> Response:
    """The 422 problem of an upload with more rejected rows than the ceiling allows, with
    the validation report (events' or patrols') that says which and why."""
    report = err.report
    to_dict = getattr(report, "to_dict", None)
    extra = {"report": to_dict()} if callable(to_dict) else {}
    return problem(
        422, str(err), instance=request.url.path, request_id=_request_id(request), extra=extra
    )


def status_of(err: HotspotsError) -> int:
    """The HTTP status of a library error (400 for one without a more specific status)."""
    for kind, status in _STATUS:
        if isinstance(err, kind):
            return status
    return 400


def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return None if value is None else str(value)


def scrub(request: Request, text: str) -> str:
    """``text`` without the server's folder names (registry and state paths)."""
    for path, label in getattr(request.app.state, "redactions", ()):
        text = path.sub(lambda _: label, text)  # noqa: B023 (used at once)
    return text


def _hotspots_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HotspotsError)
    status = status_of(exc)
    if isinstance(exc, RecordUnreadableError):  # names the model and why, without paths
        logger.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
        detail = scrub(request, str(exc))
    elif status >= 500:
        logger.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
        detail = "a stored file failed its integrity check; the operators have been told"
    else:
        detail = scrub(request, str(exc))
    return problem(status, detail, instance=request.url.path, request_id=_request_id(request))


def _problem_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem(
        exc.status,
        exc.detail,
        instance=request.url.path,
        request_id=_request_id(request),
        headers=exc.headers,
    )


def error_response(request: Request, exc: ProblemError | HotspotsError) -> Response:
    """The problem+json the app's handlers give ``exc``, for code that runs outside FastAPI's
    routing (``fast_path``): the same status, detail, headers and request id."""
    if isinstance(exc, ProblemError):
        return _problem_error(request, exc)
    return _hotspots_error(request, exc)


def _given(value: Any) -> str:
    """A parameter's value as the 422 names it: a long string cut (``errors.shown``)."""
    return shown(value) if isinstance(value, str) else repr(value)


def describe_validation(errors: Iterable[Mapping[str, Any]]) -> str:
    """One sentence per invalid parameter: where, which, why and the value given."""
    parts = []
    for err in errors:
        loc = [str(x) for x in err.get("loc", ())]
        where, name = (loc[0], ".".join(loc[1:])) if len(loc) > 1 else ("request", ".".join(loc))
        given = (
            f" (got {_given(err['input'])})"
            if "input" in err and err.get("type") != "missing"
            else ""
        )
        parts.append(f"{where} parameter {name!r}: {err.get('msg', 'is not valid')}{given}")
    return "; ".join(parts) or "the request is not valid"


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
        for e in exc.errors()
    ]
    return problem(
        422,
        describe_validation(exc.errors()),
        instance=request.url.path,
        request_id=_request_id(request),
        extra={"errors": errors},
    )


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.url.path}; see /docs for the API"
    return problem(
        exc.status_code,
        detail,
        instance=request.url.path,
        request_id=_request_id(request),
        headers=exc.headers,
    )


def add_problem_handlers(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""
    app.add_exception_handler(HotspotsError, _hotspots_error)
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def _is_list(annotation: Any) -> bool:
    """Whether a parameter's type is a list (``list[str]``, ``list[str] | None``)."""
    if typing.get_origin(annotation) in (list, tuple, set):
        return True
    return any(_is_list(a) for a in typing.get_args(annotation) if a is not type(None))


def _query_names(dependant: Dependant, *, repeatable: bool = False) -> set[str]:
    """The route's query parameter names (``repeatable``: only those declared as lists)."""
    names = {
        str(f.alias)
        for f in dependant.query_params
        if not repeatable or _is_list(f.field_info.annotation)
    }
    for sub in dependant.dependencies:
        names |= _query_names(sub, repeatable=repeatable)
    return names


async def reject_unknown_query(request: Request) -> None:
    """Dependency: 422 naming any query parameter the route does not declare, or one given
    more than once that is not declared as a list (``top=5&top=50`` would otherwise
    silently serve the last)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    names = [k for k, _ in request.query_params.multi_items()]
    twice = None
    if len(names) != len(set(names)):
        many = _query_names(dependant, repeatable=True)
        twice = next((k for k in names if names.count(k) > 1 and k not in many), None)
    if twice is not None:
        raise ProblemError(
            422, f"query parameter {twice!r} is given {names.count(twice)} times; give it once"
        )
    known = _query_names(dependant)
    unknown = [k for k in dict.fromkeys(names) if k not in known]
    if not unknown:
        return
    name = unknown[0]
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    allowed = ", ".join(sorted(known)) or "none"
    raise ProblemError(422, f"unknown query parameter {name!r}{hint} (parameters are: {allowed})")
