"""The dashboard poll without FastAPI's routing: plain ``GET /v1/forecasts/latest`` requests.

Dashboards poll one URL every few seconds. For that route FastAPI's own work (matching,
validating nine query parameters, two security dependencies, the unknown-parameter check)
cost about 0.2 ms a request, more than a whole bare request (``benchmarks/api_load.py``).
``FastLatestMiddleware`` answers a *plain* request itself and hands every other request to
the app untouched. A request is plain when:

- it is a GET of exactly ``/v1/forecasts/latest``;
- its query holds only the route's parameters, each at most once, unescaped, with values
  FastAPI would accept as they are (``top=100``, ``format=geojson``, a bbox of decimals...),
  as read by ``plain_query`` from the route's own declarations (no list of them here);
- it carries one key (``Authorization: Bearer`` or ``X-API-Key``) that is valid, holds
  ``forecasts:read`` and is under its rate limit.

Anything else (no key, a bad or revoked key, a missing scope, a key over its limit, an unknown,
repeated, escaped or out-of-range parameter, HEAD...) goes to FastAPI, which answers it as it
always did: every refusal keeps its exact problem, because this module never writes one for a
request it could not judge. Asking the rate limiter does not spend a token when it refuses, so
a refused request handed on is refused again by the route's own check (or served, if a token
arrived in between), never charged twice.

A plain request is answered by the route's own code (``answer_latest``): the same bytes,
ETag, caching headers and problems (a ``within`` the model does not know is the same 422).
The middleware sits inside ``AuditMiddleware``, so request ids, audit records and metrics do
not depend on the path a request took; ``tests/service/test_fast_path.py`` compares the two
answer for answer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import NamedTuple

from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from hotspots.access.keys import KeyRecord
from hotspots.errors import HotspotsError
from hotspots.service.auth import required_scopes
from hotspots.service.plain_query import plain_parser
from hotspots.service.problems import ProblemError, error_response
from hotspots.service.routes_forecasts import (
    LATEST_PATH,
    LatestQuery,
    answer_latest,
    router,
)


def latest_parser(route: BaseRoute) -> Callable[[bytes], LatestQuery | None]:
    """A reader of plain ``latest`` queries derived from ``route``'s own declared query
    parameters (``plain_query.plain_parser``: names, types, bounds, patterns, defaults), so
    a parameter added to the route is read here with no second edit. None: FastAPI judges.
    Cached per query string: dashboards poll the same few queries."""
    kwargs_of = plain_parser(route)

    @functools.lru_cache(maxsize=1024)
    def parse(query_string: bytes) -> LatestQuery | None:
        kwargs = kwargs_of(query_string)
        return None if kwargs is None else LatestQuery(**kwargs)

    return parse


LATEST_ROUTE = next(r for r in router.routes if getattr(r, "path", None) == LATEST_PATH)
parse_latest = latest_parser(LATEST_ROUTE)
"""``latest_parser`` of this package's ``latest`` route."""


class PlainHeaders(NamedTuple):
    """What the fast path reads from a request's headers, in one pass."""

    key: str | None
    """The key, when it was sent one plain way; else None (FastAPI judges)."""
    if_none_match: str | None
    accept_encoding: str | None


def plain_headers(headers: Iterable[tuple[bytes, bytes]]) -> PlainHeaders:
    """The key and the caching headers of a request, read as Starlette's ``Headers.get``
    reads them (the first of a repeated header) and as ``auth.require`` reads keys.

    The key is plain when it is a single ``Authorization: Bearer <key>``, or no
    Authorization and a single non-empty ``X-API-Key``; otherwise ``key`` is None.
    """
    authorization: bytes | None = None
    api_key: bytes | None = None
    repeated = False
    if_none_match: bytes | None = None
    accept_encoding: bytes | None = None
    for name, value in headers:
        if name == b"authorization":
            repeated |= authorization is not None
            authorization = value
        elif name == b"x-api-key":
            repeated |= api_key is not None
            api_key = value
        elif name == b"if-none-match":
            if_none_match = value if if_none_match is None else if_none_match
        elif name == b"accept-encoding":
            accept_encoding = value if accept_encoding is None else accept_encoding
    key: str | None = None
    if not repeated and authorization is not None:
        scheme, _, credentials = authorization.decode("latin-1").partition(" ")
        credentials = credentials.strip()
        key = credentials if scheme.lower() == "bearer" and credentials else None
    elif not repeated and api_key:
        key = api_key.decode("latin-1")
    return PlainHeaders(
        key,
        None if if_none_match is None else if_none_match.decode("latin-1"),
        None if accept_encoding is None else accept_encoding.decode("latin-1"),
    )


class FastLatestMiddleware:
    """Answer plain ``GET /v1/forecasts/latest`` requests; pass every other one on.

    ``route`` is the app's ``latest`` route, put in the scope as FastAPI's router would, so
    the audit record names the same route template.
    """

    def __init__(self, app: ASGIApp, route: BaseRoute) -> None:
        self.app = app
        self.route = route
        self.parse = latest_parser(route)
        self.scopes = required_scopes(route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] != LATEST_PATH
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        query = self.parse(scope.get("query_string", b""))
        if query is None:
            await self.app(scope, receive, send)
            return
        headers = plain_headers(scope["headers"])
        record = admitted(scope, headers.key, self.scopes)
        if record is None or not take_token(scope, record):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        notes = scope.setdefault("state", {})
        notes["key_id"] = record.id
        try:
            response = answer_latest(
                scope["app"].state.service,
                query,
                notes,
                if_none_match=headers.if_none_match,
                accept_encoding=headers.accept_encoding,
            )
        except (ProblemError, HotspotsError) as err:
            response = error_response(Request(scope, receive), err)
        await response(scope, receive, send)


def admitted(scope: Scope, presented: str | None, scopes: tuple[str, ...]) -> KeyRecord | None:
    """The key's record if it is valid and holds every one of the route's ``scopes``; else
    None (and None for a route that demands no scope: FastAPI judges it). No token taken."""
    if presented is None or not scopes:
        return None
    record = scope["app"].state.service.keys.authenticate(presented)
    if record is None or not all(record.has(s) for s in scopes):
        return None
    return record


def take_token(scope: Scope, record: KeyRecord) -> bool:
    """Whether the key's rate limit gives a token now (a refusal spends none)."""
    limiter = getattr(scope["app"].state, "limiter", None)
    return limiter is None or limiter.take(record.id) is None
