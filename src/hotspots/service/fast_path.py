"""The dashboard poll without FastAPI's routing: plain ``GET /v1/forecasts/latest`` requests.

Dashboards poll one URL every few seconds. For that route FastAPI's own work (matching,
validating nine query parameters, two security dependencies, the unknown-parameter check)
cost about 0.2 ms a request, more than a whole bare request (``benchmarks/api_load.py``).
``FastLatestMiddleware`` answers a *plain* request itself and hands every other request to
the app untouched. A request is plain when:

- it is a GET of exactly ``/v1/forecasts/latest``;
- its query holds only the route's parameters, each at most once, unescaped, with values
  FastAPI would accept as they are (``top=100``, ``format=geojson``, a bbox of decimals...);
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
import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from hotspots.access.keys import KeyRecord
from hotspots.errors import HotspotsError
from hotspots.service.problems import ProblemError, error_response
from hotspots.service.routes_forecasts import (
    BBOX_PATTERN,
    LATEST_PATH,
    MODEL_NAME,
    SCOPE,
    LatestQuery,
    answer_latest,
)

_PLAIN = re.compile(r"[A-Za-z0-9._,:=&-]*")
"""Query text with no escapes (``%``), no ``+`` (a space) and no ``;``: split as it reads."""
_INT = re.compile(r"[1-9][0-9]{0,8}")
_DECIMAL = re.compile(r"[0-9]{1,9}(\.[0-9]{1,12})?")
_MODEL = re.compile(MODEL_NAME)
_BBOX = re.compile(BBOX_PATTERN)
_BOOLS = {"true": True, "t": True, "yes": True, "y": True, "on": True, "1": True}
_BOOLS |= {"false": False, "f": False, "no": False, "n": False, "off": False, "0": False}
_FORMATS = {"json": "json", "geojson": "geojson"}


class _NotPlain(Exception):
    """A value the fast path leaves to FastAPI to judge."""


def _int(text: str) -> int:
    if not _INT.fullmatch(text):
        raise _NotPlain
    return int(text)


def _decimal(low: float, high: float) -> Callable[[str], float]:
    """A parser of plain decimals in ``(low, high]``."""

    def parse(text: str) -> float:
        if not _DECIMAL.fullmatch(text) or not low < (value := float(text)) <= high:
            raise _NotPlain
        return value

    return parse


def _matching(pattern: re.Pattern[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not pattern.fullmatch(text):
            raise _NotPlain
        return text

    return parse


def _choice(options: dict[str, Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if text not in options:
            raise _NotPlain
        return options[text]

    return parse


_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    # query name: (LatestQuery field, parser of a plain value)
    "model": ("model", _matching(_MODEL)),
    "top": ("top", _int),
    "area_km2": ("area_km2", _decimal(0.0, float("inf"))),
    "coverage": ("coverage", _decimal(0.0, 1.0)),
    "bbox": ("bbox", _matching(_BBOX)),
    "within": ("within", _matching(re.compile(r".+"))),
    "format": ("fmt", _choice(_FORMATS)),
    "boundary": ("boundary", _choice(_BOOLS)),
    "horizon": ("horizon", _int),
}


@functools.lru_cache(maxsize=1024)
def parse_latest(query_string: bytes) -> LatestQuery | None:
    """The parameters of a plain ``latest`` query, or None when FastAPI must judge it
    (cached: dashboards poll the same few queries)."""
    try:
        text = query_string.decode("ascii")
    except UnicodeDecodeError:
        return None
    if not _PLAIN.fullmatch(text):
        return None
    fields: dict[str, Any] = {}
    for pair in text.split("&") if text else ():
        name, sep, value = pair.partition("=")
        known = _PARSERS.get(name)
        if not sep or known is None or known[0] in fields:
            return None
        try:
            fields[known[0]] = known[1](value)
        except _NotPlain:
            return None
    return LatestQuery(**fields)


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] != LATEST_PATH
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        query = parse_latest(scope.get("query_string", b""))
        if query is None:
            await self.app(scope, receive, send)
            return
        headers = plain_headers(scope["headers"])
        record = self._admitted(scope, headers.key)
        if record is None:
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

    @staticmethod
    def _admitted(scope: Scope, presented: str | None) -> KeyRecord | None:
        """The key's record if it is valid, holds the scope and gets a token; else None."""
        if presented is None:
            return None
        app_state = scope["app"].state
        record = app_state.service.keys.authenticate(presented)
        if record is None or not record.has(SCOPE):
            return None
        limiter = getattr(app_state, "limiter", None)
        if limiter is not None and limiter.take(record.id) is not None:
            return None
        return record
