"""API key checks: ``Depends(require("forecasts:read"))`` on a route.

A key comes as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. No key or an invalid
or revoked one is 401 with ``WWW-Authenticate``; a valid key over its rate limit is 429 with
``Retry-After`` (checked before the scope, so refused requests count too); a valid key without
the scope is 403. The key id (never the key) goes to ``request.state.key_id`` for the audit log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute

from hotspots.access.keys import SCOPES, KeyRecord, KeyStore
from hotspots.service.limits import check_rate
from hotspots.service.problems import ProblemError, problem_response

REALM = "hotspots"

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer hs_<id>_<secret>`")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key")


def auth_responses(scope: str) -> dict[int | str, dict[str, Any]]:
    """The 401 / 403 / 429 entries of a route's ``responses=`` for OpenAPI."""
    return {
        401: problem_response(401, "No API key, or an invalid or revoked one."),
        403: problem_response(403, f"The API key does not hold the scope {scope!r}."),
        429: problem_response(429, "The API key is over its rate limit; see `Retry-After`."),
    }


def _challenge(error: str | None = None, scope: str | None = None) -> dict[str, str]:
    value = f'Bearer realm="{REALM}"'
    if error is not None:
        value += f', error="{error}"'
    if scope is not None:
        value += f', scope="{scope}"'
    return {"WWW-Authenticate": value}


def authenticate(store: KeyStore, presented: str | None) -> KeyRecord:
    """The record of a valid, unrevoked key, else a 401 ProblemError."""
    if not presented:
        raise ProblemError(
            401,
            "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            _challenge(),
        )
    record = store.authenticate(presented)
    if record is None:
        raise ProblemError(
            401, "the API key is not valid or has been revoked", _challenge("invalid_token")
        )
    return record


def check_scope(record: KeyRecord, scope: str) -> None:
    """403 ProblemError unless the key holds ``scope``."""
    if not record.has(scope):
        raise ProblemError(
            403,
            f"API key {record.id} does not hold the scope {scope!r} (it holds: "
            f"{', '.join(record.scopes)})",
            _challenge("insufficient_scope", scope),
        )


def presented_key(request: Request) -> str | None:
    """The key a request sent, read as ``require`` reads it, for a route that takes a key
    without needing one (``/readyz``): a Bearer credential, else ``X-API-Key``."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("x-api-key") or None


def require(scope: str) -> Callable[..., Awaitable[KeyRecord]]:
    """A dependency that admits a request whose API key holds ``scope``."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; scopes are: {', '.join(SCOPES)}")

    async def dependency(  # async: nothing here blocks, and a thread hop costs ~0.1 ms
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Security(_bearer),
        api_key: str | None = Security(_api_key),
    ) -> KeyRecord:
        presented = bearer.credentials if bearer is not None else api_key
        record = authenticate(request.app.state.service.keys, presented)
        request.state.key_id = record.id
        check_rate(getattr(request.app.state, "limiter", None), record.id)
        check_scope(record, scope)
        return record

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    dependency.required_scope = scope  # type: ignore[attr-defined]  # read by required_scopes
    return dependency


def required_scopes(route: BaseRoute) -> tuple[str, ...]:
    """The scopes ``route`` demands through ``require(...)`` dependencies (its own and its
    router's), read from the route's declarations, so a shortcut in front of the route (a
    fast path) checks the key as the route does with no copy of the scope."""
    found: list[str] = []
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    while stack:
        dep = stack.pop()
        scope = getattr(dep.call, "required_scope", None)
        if scope is not None and scope not in found:
            found.append(scope)
        stack.extend(dep.dependencies)
    return tuple(sorted(found))
