"""The fast path of ``GET /v1/forecasts/latest``: what counts as plain, and that a plain
request gets exactly what FastAPI's route gives the same request.

The same query with its values percent-encoded means the same to FastAPI but is not plain,
so one app answers both ways: the plain request by ``FastLatestMiddleware``, the escaped one
by the route. A spy on the app behind the middleware tells which path answered.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, Query
from served_env import Env, settings_of
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from hotspots.access import audit
from hotspots.service.app import create_app
from hotspots.service.auth import require, required_scopes
from hotspots.service.fast_path import (
    LATEST_ROUTE,
    FastLatestMiddleware,
    latest_parser,
    parse_latest,
    plain_headers,
)
from hotspots.service.plain_query import plain_parser
from hotspots.service.routes_forecasts import LatestQuery, latest

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LATEST = "/v1/forecasts/latest"
UNSTABLE_HEADERS = {"x-request-id", "date"}
UNSTABLE_AUDIT = {"time", "request_id", "duration_ms"}


# -- what is plain ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", LatestQuery()),
        ("top=100", LatestQuery(top=100)),
        ("area_km2=2.5", LatestQuery(area_km2=2.5)),
        ("coverage=1", LatestQuery(coverage=1.0)),
        ("coverage=0.05&format=geojson", LatestQuery(coverage=0.05, fmt="geojson")),
        ("bbox=41.8,-87.7,41.9,-87.6", LatestQuery(bbox="41.8,-87.7,41.9,-87.6")),
        ("within=North&boundary=yes", LatestQuery(within="North", boundary=True)),
        ("boundary=0&horizon=2&model=burglary", LatestQuery("burglary", horizon=2)),
    ],
)
def test_plain_queries_parse_as_the_route_reads_them(query: str, expected: LatestQuery) -> None:
    assert parse_latest(query.encode()) == expected


@pytest.mark.parametrize(
    "query",
    [
        "top=1%30",  # escaped
        "within=North+East",  # '+' is a space
        "top=1;top=2",
        "top=5&top=6",  # repeated
        "tpo=5",  # unknown: FastAPI names it
        "top",  # no value
        "top=",
        "top=0",
        "top=05",
        "top=1e2",
        "area_km2=0",
        "area_km2=-1",
        "coverage=1.5",
        "coverage=0",
        "format=xml",
        "boundary=True",  # FastAPI accepts it; the fast path leaves case to FastAPI
        "horizon=0",
        "bbox=1,2,3",
        "model=-bad",
        "top=10&",
        "top=10&&format=json",
    ],
)
def test_anything_unusual_is_left_to_fastapi(query: str) -> None:
    assert parse_latest(query.encode()) is None


def test_non_ascii_query_is_left_to_fastapi() -> None:
    assert parse_latest("within=Zürich".encode()) is None


PLAIN_VALUES = {
    "model": "burglary",
    "top": "7",
    "area_km2": "2.5",
    "coverage": "0.5",
    "bbox": "1,2,3,4",
    "within": "North",
    "format": "geojson",
    "boundary": "yes",
    "horizon": "2",
}


def test_the_fast_path_reads_exactly_the_parameters_the_route_declares() -> None:
    declared = {str(f.alias) for f in LATEST_ROUTE.dependant.query_params}  # type: ignore[attr-defined]
    assert declared == set(PLAIN_VALUES)  # a new parameter: give it a plain value above
    for name, value in PLAIN_VALUES.items():
        assert parse_latest(f"{name}={value}".encode()) is not None, name
    assert parse_latest(b"patrol_hours=3") is None


def with_a_new_parameter() -> APIRouter:
    """A copy of the ``latest`` route with one more declared query parameter."""
    signature = inspect.signature(latest, eval_str=True)
    extra = inspect.Parameter(
        "patrol_hours",
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[int | None, Query(ge=1, le=168)],
        default=None,
    )

    async def extended(**kwargs: Any) -> Any:  # pragma: no cover - never called
        return None

    extended.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), extra]
    )
    router = APIRouter()
    router.add_api_route("/v1/forecasts/latest", extended, methods=["GET"])
    return router


def test_a_parameter_added_to_the_declaration_is_read_by_the_fast_path() -> None:
    route = with_a_new_parameter().routes[0]
    read = plain_parser(route)
    assert read(b"patrol_hours=12&top=5") == {
        **{"model": None, "top": 5, "area_km2": None, "coverage": None, "bbox": None},
        **{"within": None, "fmt": "json", "boundary": False, "horizon": 1},
        "patrol_hours": 12,
    }
    assert read(b"patrol_hours=0") is None  # its declared bounds come along
    assert read(b"patrol_hours=169") is None
    assert read(b"top=0") is None  # and the route's other declarations stay
    # the real route, as the middleware holds it, does not admit it
    assert latest_parser(LATEST_ROUTE)(b"patrol_hours=12&top=5") is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"authorization", b"Bearer hs_k1_s")], "hs_k1_s"),
        ([(b"authorization", b"bearer  hs_k1_s ")], "hs_k1_s"),
        ([(b"x-api-key", b"hs_k1_s")], "hs_k1_s"),
        ([(b"authorization", b"Bearer hs_a_s"), (b"x-api-key", b"hs_b_s")], "hs_a_s"),
        ([], None),
        ([(b"authorization", b"Basic dXNlcjpwYXNz")], None),
        ([(b"authorization", b"Bearer ")], None),
        ([(b"authorization", b"Basic x"), (b"x-api-key", b"hs_b_s")], None),
        ([(b"x-api-key", b"")], None),
        ([(b"x-api-key", b"a"), (b"x-api-key", b"b")], None),
        ([(b"authorization", b"Bearer a"), (b"authorization", b"Bearer b")], None),
    ],
)
def test_presented_key(headers: list[tuple[bytes, bytes]], expected: str | None) -> None:
    assert plain_headers(headers).key == expected


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"if-none-match", b'"a"'), (b"if-none-match", b'"b"')],
        [(b"accept-encoding", b"gzip"), (b"authorization", b"Bearer k"), (b"accept-encoding", b"")],
        [(b"if-none-match", 'W/"\xe9"'.encode("latin-1")), (b"accept-encoding", b"")],
    ],
)
def test_caching_headers_are_read_as_starlette_reads_them(
    headers: list[tuple[bytes, bytes]],
) -> None:
    got, expected = plain_headers(headers), Headers(raw=headers)
    assert got.if_none_match == expected.get("if-none-match")
    assert got.accept_encoding == expected.get("accept-encoding")


# -- the same answers ---------------------------------------------------------------------
class Spy:
    """Counts the requests the fast path hands on to FastAPI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls += 1
        await self.app(scope, receive, send)


def spy_on(client: TestClient) -> Spy:
    """Put a Spy between the fast path and the rest of the app (after its first request)."""
    layer: Any = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, FastLatestMiddleware):
        layer = layer.app
    spy = Spy(layer.app)
    layer.app = spy
    return spy


@pytest.fixture
def served(env_copy: Env) -> Iterator[tuple[TestClient, Spy, Env]]:
    with TestClient(create_app(settings_of(env_copy.root))) as client:
        assert client.get("/healthz").status_code == 200  # builds the middleware stack
        yield client, spy_on(client), env_copy


def escaped(query: str) -> str:
    """``query`` with every value percent-encoded: the same request to FastAPI, not plain."""
    pairs = (pair.partition("=") for pair in query.split("&"))
    return "&".join(f"{k}={''.join(f'%{b:02X}' for b in v.encode())}" for k, _, v in pairs)


def answer(client: TestClient, query: str, headers: dict[str, str]) -> tuple[Any, ...]:
    """Status, body and headers, less what differs between any two requests (a problem's
    request id, checked here against the header)."""
    got = client.get(f"{LATEST}?{query}" if query else LATEST, headers=headers)
    kept = sorted((k, v) for k, v in got.headers.items() if k not in UNSTABLE_HEADERS)
    body: Any = got.content
    if got.headers.get("content-type") == "application/problem+json":
        body = got.json()
        assert body.pop("request_id") == got.headers["x-request-id"]
    return got.status_code, body, kept


def last_audit(env: Env) -> dict[str, Any]:
    (*_, record) = audit.read(env.root / "state" / audit.AUDIT_FILE)
    return {k: v for k, v in record.to_dict().items() if k not in UNSTABLE_AUDIT}


def test_the_key_check_is_the_routes_own_scope(served: tuple[TestClient, Spy, Env]) -> None:
    client, spy, env = served
    layer: Any = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, FastLatestMiddleware):
        layer = layer.app
    assert layer.scopes == required_scopes(LATEST_ROUTE) == ("forecasts:read",)
    headers = {"Authorization": f"Bearer {env.read}"}
    assert client.get(f"{LATEST}?top=3", headers=headers).status_code == 200
    assert spy.calls == 0
    layer.scopes = required_scopes(admin_route())  # as if the route demanded models:admin
    assert layer.scopes == ("models:admin",)
    client.get(f"{LATEST}?top=3", headers=headers)
    assert spy.calls == 1  # the read key no longer passes here: FastAPI judges it


def admin_route() -> Any:
    router = APIRouter(dependencies=[Depends(require("models:admin"))])
    router.add_api_route(LATEST, latest, methods=["GET"])
    return router.routes[0]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("top=100", 200),
        ("top=10", 200),
        ("area_km2=2.5", 200),
        ("coverage=0.05", 200),
        ("format=geojson&top=5", 200),
        ("boundary=true&top=3", 200),
        ("horizon=1&top=7&model=burglary", 200),
        ("horizon=9", 422),  # more periods than published: the route's problem
        ("model=nosuch", 404),
        ("within=North", 422),  # no areas configured
        (f"bbox={'9' * 400},0,1,1", 422),  # matches the pattern, but is not a finite number
    ],
)
def test_plain_request_gets_what_the_route_gives(
    served: tuple[TestClient, Spy, Env], query: str, status: int
) -> None:
    client, spy, env = served
    headers = {"Authorization": f"Bearer {env.read}"}
    fast = answer(client, query, headers)
    fast_audit = last_audit(env)
    assert spy.calls == 0, "a plain request reached FastAPI"
    routed = answer(client, escaped(query), headers)
    assert spy.calls == 1
    assert fast[0] == status
    assert fast == routed
    assert fast_audit == last_audit(env)
    assert fast_audit["route"] == LATEST and fast_audit["status"] == status


def test_conditional_and_compressed_answers_match(served: tuple[TestClient, Spy, Env]) -> None:
    client, spy, env = served
    key = {"X-API-Key": env.read}
    etag = client.get(f"{LATEST}?top=5", headers=key).headers["etag"]
    for extra in ({"If-None-Match": etag}, {"Accept-Encoding": "gzip"}, {"If-None-Match": "*"}):
        headers = key | extra
        fast = answer(client, "top=5", headers)
        assert spy.calls == 0
        assert fast == answer(client, escaped("top=5"), headers)
        spy.calls = 0
    assert answer(client, "top=5", key | {"If-None-Match": etag})[0] == 304


@pytest.mark.parametrize(
    ("query", "key", "status"),
    [
        ("top=5", None, 401),
        ("top=5", "hs_k00000000_" + "x" * 43, 401),
        ("top=5", "write", 403),
        ("tpo=5", "read", 422),
        ("top=0", "read", 422),
        ("top=5&top=6", "read", 422),  # a repeated parameter: refused, not the last
    ],
)
def test_refusals_are_fastapis(
    served: tuple[TestClient, Spy, Env], query: str, key: str | None, status: int
) -> None:
    client, spy, env = served
    presented = {"read": env.read, "write": env.write}.get(key or "", key)
    headers = {} if presented is None else {"Authorization": f"Bearer {presented}"}
    got = client.get(f"{LATEST}?{query}", headers=headers)
    assert got.status_code == status, got.text
    assert spy.calls == 1


def test_rate_limit_counts_each_request_once(env_copy: Env, tmp_path: Path) -> None:
    settings = settings_of(env_copy.root, rate_limit_per_minute=1, rate_limit_burst=3)
    headers = {"Authorization": f"Bearer {env_copy.read}"}
    with TestClient(create_app(settings)) as client:
        client.get("/healthz")
        spy = spy_on(client)
        first = client.get(f"{LATEST}?top=5", headers=headers)  # fast: one token
        second = client.get(f"{LATEST}?top=%35", headers=headers)  # FastAPI: one token
        assert (first.status_code, second.status_code, spy.calls) == (200, 200, 1)
        third = client.get(f"{LATEST}?top=5", headers=headers)
        refused = client.get(f"{LATEST}?top=5", headers=headers)
        assert (third.status_code, refused.status_code) == (200, 429)
        assert spy.calls == 2  # the refusal was FastAPI's: one problem, one Retry-After
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["request_id"] == refused.headers["x-request-id"]
