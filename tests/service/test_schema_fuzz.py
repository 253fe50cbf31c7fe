"""Schemathesis over the service's OpenAPI schema: no 5xx, every status, media type, header
and body the API answers is the one its schema documents, and no key is always 401."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import CheckFunction
from schemathesis.checks import (
    not_a_server_error,
    positive_data_acceptance,
)
from served_env import key_store, settings_of

from hotspots.access.keys import SCOPES
from hotspots.config import Settings
from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.ingest import write_events
from hotspots.registry import Registry
from hotspots.service.app import create_app
from hotspots.service.problems import PROBLEM_TYPE
from hotspots.synthetic import TIMEZONE

pytestmark = pytest.mark.slow

TARGET = ("Burglary Residential",)
PROMOTE = "/v1/models/{name}/{version}/promote"
LATEST = "/v1/forecasts/latest"
CELL = "88754e6499fffff"  # a valid resolution-8 cell (0°, 0°), far from the city
UNAUTHENTICATED = {"GET /healthz", "GET /readyz"}
# The answers of this author's routes with nothing in the registry.
EMPTY_REGISTRY = {
    "GET /healthz": 200,
    "GET /readyz": 503,
    "GET /v1/cells/{cell}": 503,
    "GET /v1/models": 200,
    "GET /v1/models/{name}/{version}": 404,
    "POST /v1/models/{name}/{version}/promote": 404,
}
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)

# Operations where a schema-valid request can still be refused (422) for a reason OpenAPI
# cannot express; for these alone positive_data_acceptance is left out, every other check
# runs (each such 422 is documented and problem+json, which the other checks verify).
NOT_EXPRESSIBLE: dict[str, str] = {
    "GET /v1/forecasts/latest": "at most one of top, area_km2 or coverage; top at most the "
    "study cells; bbox south < north and west < east within -90..90 / -180..180",
    "GET /v1/plans/latest": "a budget of areas the model's cells can fill (an area at least "
    "one cell's km2); weights name=w,... of served types; a category the service forecasts",
    "POST /v1/events": "any string is a schema-valid body; only an export with the model's "
    "columns is readable",
    "GET /v1/effectiveness": "since and until match YYYY-MM-DD but must also be days of the "
    "calendar (not 2023-02-30), since before until",
    "POST /v1/patrols": "any string is a schema-valid body; only a patrol log's columns are "
    "readable",
    "GET /v1/monitor": "repeat at most window",
}


def _settings(root: Path) -> Settings:
    return settings_of(
        root,
        min_events_shown=2,
        history_periods=4,
        rate_limit_per_minute=0,  # fuzzing sends hundreds of requests with one key
    )


class AppSlot:
    """The ASGI app under test, set by the ``fuzz`` fixture.

    The schema, and so pytest's items (one per operation), exist at collection time; the
    registry the app serves only once the fixture has built it.
    """

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "the fuzz fixture sets the app"
        await self.app(scope, receive, send)


SLOT = AppSlot()
# The OpenAPI document does not depend on the registry (nothing is read before the lifespan
# runs), so an app over folders that do not exist gives the same schema.
DOCUMENT = create_app(_settings(Path("unused"))).openapi()
# Bodies posted as CSV or JSON lines are text whatever their media type says.
schemathesis.serializer.alias(
    sorted(
        {
            media
            for ops in DOCUMENT["paths"].values()
            for op in ops.values()
            for media in op.get("requestBody", {}).get("content", {})
            if media.startswith("application/") and media != "application/json"
        }
    ),
    "text/plain",
)
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.app = SLOT
# Valid requests with path parameters that route somewhere (a name with '/' is a 404 miss).
fixed_schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "generation": {"mode": "positive", "with-security-parameters": False},
            "parameters": {"path.name": "burglary", "path.version": "v1", "path.cell": CELL},
        }
    ),
)
fixed_schema.app = SLOT


@dataclass(frozen=True)
class Fuzz:
    app: FastAPI
    key: str
    reader: str
    by_scope: dict[str, str]
    """A key holding that scope alone, for each scope."""

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}


@pytest.fixture(scope="module")
def fuzz(
    tmp_path_factory: pytest.TempPathFactory, year_city_events: pd.DataFrame, year_panel: Panel
) -> Fuzz:
    """Burglary v1 (current) and v2, the same historical mean: promoting either, as fuzzing
    may, leaves a valid model served. One key with every scope, one read-only key."""
    root = tmp_path_factory.mktemp("fuzz")
    write_events(year_city_events, root / "events.parquet", {"timezone": TIMEZONE})
    registry = Registry(root / "models")
    spec = {"data": {"events": str(root / "events.parquet"), "timezone": TIMEZONE}}
    model = make_forecaster("historical_mean", target=TARGET).fit(year_panel)
    for promote in (True, False):
        registry.publish(
            "burglary", model, spec=spec, data={"timezone": TIMEZONE}, backtest={}, promote=promote
        )
    store = key_store(root)
    key = store.create("fuzz", SCOPES)[1]
    reader = store.create("reader", ["forecasts:read"])[1]
    by_scope = {s: store.create(s.replace(":", "-"), [s])[1] for s in SCOPES}
    SLOT.app = create_app(_settings(root))
    ready = schema["/readyz"]["GET"].Case().call()  # starts the lifespan: v1 published
    assert ready.status_code == 200, ready.text
    return Fuzz(SLOT.app, key, reader, by_scope)


def _excluded(case: Any) -> list[CheckFunction]:
    return [positive_data_acceptance] if case.operation.label in NOT_EXPRESSIBLE else []


@schema.parametrize()
@FUZZ
def test_every_operation_conforms(case: Any, fuzz: Fuzz) -> None:
    case.call_and_validate(headers=fuzz.auth(), excluded_checks=_excluded(case))


@schema.parametrize()
@settings(FUZZ, max_examples=8)
@pytest.mark.parametrize("scope", SCOPES)
def test_every_operation_conforms_with_a_key_of_each_scope(
    case: Any, fuzz: Fuzz, scope: str
) -> None:
    """As a real key holds one or two scopes: 403 where the scope is missing, documented."""
    case.call_and_validate(headers=fuzz.auth(fuzz.by_scope[scope]), excluded_checks=_excluded(case))


@fixed_schema.parametrize()
@settings(FUZZ, max_examples=5)
def test_without_a_key_every_operation_is_401(case: Any, fuzz: Fuzz) -> None:
    response = case.call()
    case.validate_response(response)
    if case.operation.label in UNAUTHENTICATED:
        assert response.status_code == 200
        return
    assert response.status_code == 401
    assert response.headers["content-type"] == [PROBLEM_TYPE]
    assert response.headers["www-authenticate"] == ['Bearer realm="hotspots"']
    assert response.json()["detail"].startswith("an API key is required")


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> tuple[FastAPI, str]:
    """An app over an empty registry, and a key holding every scope."""
    root = tmp_path_factory.mktemp("empty")
    key = key_store(root).create("all", SCOPES)[1]
    return create_app(_settings(root)), key


@fixed_schema.parametrize()
@settings(FUZZ, max_examples=3)
def test_with_nothing_served_every_answer_is_documented(
    case: Any, empty: tuple[FastAPI, str]
) -> None:
    """Before a model is served, routes answer 503 (or 404 for a named model), documented."""
    app, key = empty
    response = case.call(app=app, headers={"Authorization": f"Bearer {key}"})
    case.validate_response(
        response,
        excluded_checks=[not_a_server_error, *_excluded(case)],
        transport_kwargs={"app": app},
    )
    assert response.status_code < 500 or response.status_code == 503
    expected = EMPTY_REGISTRY.get(case.operation.label)
    if expected is not None:
        assert response.status_code == expected


def _call(fuzz: Fuzz, path: str, method: str = "GET", **params: str) -> Any:
    """One hand-made case through schemathesis, its response checked like a fuzzed one."""
    case = schema[path][method].Case(path_parameters=params)
    response = case.call(headers=fuzz.auth())
    case.validate_response(response)
    return response


def test_success_bodies_match_their_schema(fuzz: Fuzz) -> None:
    """Fuzzing seldom guesses a served cell or model: these 200s are checked by hand."""
    served = fuzz.app.state.service.served["burglary"]
    cell = format(int(served.snapshot.tables[0].cell[0]), "x")  # rank 1
    detail = _call(fuzz, "/v1/cells/{cell}", cell=cell).json()
    assert (detail["cell"], detail["model"]) == (
        cell,
        {"name": "burglary", "version": served.version},
    )
    assert [f["rank"] for f in detail["forecast"]] == [1] * len(served.snapshot.tables)
    assert detail["target"] == list(TARGET)
    version = _call(fuzz, "/v1/models/{name}/{version}", name="burglary", version="2").json()
    assert (version["version"], version["kind"], version["current"]) == (
        "v2",
        "historical_mean",
        False,
    )
    [entry] = _call(fuzz, "/v1/models").json()["models"]
    assert (entry["name"], entry["versions"]) == ("burglary", ["v1", "v2"])
    assert _call(fuzz, "/healthz").json() == {"status": "ok"}
    ready = _call(fuzz, "/readyz").json()
    assert [(m["name"], m["version"]) for m in ready["models"]] == [("burglary", served.version)]


@pytest.mark.parametrize(
    "query",
    [
        {"top": 5},
        {"top": 5, "format": "geojson"},
        {"top": 3, "boundary": "true"},
        {"coverage": 0.01, "horizon": 2},
        {"area_km2": 2.0, "format": "geojson", "horizon": 4},
    ],
)
def test_forecast_documents_match_their_schema(fuzz: Fuzz, query: dict[str, Any]) -> None:
    """The published bytes against the declared models (no field more, none missing)."""
    case = schema[LATEST]["GET"].Case(query=query)
    response = case.call(headers=fuzz.auth())
    assert response.status_code == 200, response.text
    case.validate_response(response)
    body = response.json()
    assert body["data_through"] < body["as_of"]
    if query.get("format") == "geojson":
        assert set(body["features"][0]["properties"]) >= {"interval_low", "driver_1"}


def test_replay_areas_and_refresh_match_their_schema(fuzz: Fuzz) -> None:
    served = fuzz.app.state.service.served["burglary"]
    as_of = served.snapshot.as_of.date().isoformat()
    case = schema["/v1/forecasts"]["GET"].Case(query={"as_of": as_of})
    response = case.call(headers=fuzz.auth())
    assert response.status_code == 200, response.text
    case.validate_response(response)
    bad = schema["/v1/forecasts"]["GET"].Case(query={"as_of": "2024-13-45"})
    refused = bad.call(headers=fuzz.auth())
    assert refused.status_code == 422 and "'as_of'" in refused.json()["detail"]
    assert _call(fuzz, "/v1/areas").json()["areas"] == []
    refreshed = _call(fuzz, "/v1/forecasts/refresh", "POST").json()
    assert [m["name"] for m in refreshed["models"]] == ["burglary"]


def _promote(fuzz: Fuzz, version: str, key: str | None) -> Any:
    case = schema[PROMOTE]["POST"].Case(path_parameters={"name": "burglary", "version": version})
    response = case.call(headers={} if key is None else fuzz.auth(key))
    case.validate_response(response)
    return response


def test_promote_answers_its_documented_codes(fuzz: Fuzz) -> None:
    """Fuzzing rarely guesses a real name and version; this pins each answer by value."""
    first = _promote(fuzz, "v1", fuzz.key).json()  # whatever fuzzing did, v1 is now current
    assert (first["name"], first["version"]) == ("burglary", "v1")
    swapped = _promote(fuzz, "2", fuzz.key)
    assert swapped.status_code == 200
    assert (swapped.json()["version"], swapped.json()["previous"]) == ("v2", "v1")
    back = _promote(fuzz, "V1", fuzz.key).json()
    assert (back["version"], back["previous"]) == ("v1", "v2")
    missing = _promote(fuzz, "v9", fuzz.key)
    assert missing.status_code == 404 and "has no version v9" in missing.json()["detail"]
    bad = _promote(fuzz, "x1", fuzz.key)
    assert bad.status_code == 422 and "'version'" in bad.json()["detail"]
    refused = _promote(fuzz, "v1", fuzz.reader)
    assert refused.status_code == 403 and "models:admin" in refused.json()["detail"]
    assert _promote(fuzz, "v1", None).status_code == 401


def _operations() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", op)
        for path, ops in DOCUMENT["paths"].items()
        for method, op in ops.items()
    ]


@pytest.mark.parametrize(("label", "operation"), _operations(), ids=[x for x, _ in _operations()])
def test_every_error_is_documented_as_problem_json(label: str, operation: dict[str, Any]) -> None:
    """Every 4xx/5xx is problem+json whose ``status`` is that code, and every route documents
    the 422 an unknown query parameter gets (FastAPI's own 422 shape would be a lie)."""
    responses = operation["responses"]
    for code, response in responses.items():
        if int(code) < 400:
            continue
        [(media, content)] = response["content"].items()
        assert media == PROBLEM_TYPE, (label, code)
        assert content["schema"]["properties"]["status"]["enum"] == [int(code)], (label, code)
        assert {"type", "title", "status", "detail"} <= set(content["schema"]["required"])
    assert "422" in responses, f"{label} answers 422 to an unknown query parameter"


def test_the_lists_name_real_operations() -> None:
    labels = {label for label, _ in _operations()}
    for listed in (NOT_EXPRESSIBLE, EMPTY_REGISTRY, UNAUTHENTICATED):
        assert set(listed) <= labels


def test_every_route_declares_the_shape_of_its_answer() -> None:
    """Generated clients need the fields: every JSON 200 refers to a declared model."""
    components = DOCUMENT["components"]["schemas"]
    for label, operation in _operations():
        content = operation["responses"]["200"]["content"]
        for media, body in content.items():
            if media == "text/plain":  # /metrics: Prometheus text
                continue
            name = body["schema"]["$ref"].rsplit("/", 1)[1]
            assert components[name]["additionalProperties"] is False, (label, media)
    latest = _operation("GET", LATEST)["responses"]["200"]["content"]
    assert latest["application/geo+json"]["schema"]["$ref"].endswith("ForecastFeatureCollection")
    for model in ("ForecastDocument", "ForecastFeatureCollection", "CellDetail"):
        assert "last whole period" in components[model]["properties"]["data_through"]["description"]


def test_the_schema_says_what_it_can_of_each_parameter() -> None:
    params = {p["name"]: p for p in _operation("GET", LATEST)["parameters"]}
    for name in ("top", "area_km2", "coverage"):
        assert "at most one of top, area_km2 and coverage" in params[name]["description"]
    [as_of] = [p for p in _operation("GET", "/v1/forecasts")["parameters"] if p["name"] == "as_of"]
    assert as_of["schema"]["format"] == "date"
    body = _operation("POST", "/v1/events")["requestBody"]
    assert body["required"] is True
    assert all(c["schema"]["minLength"] == 1 for c in body["content"].values())


def _operation(method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = DOCUMENT["paths"][path][method.lower()]
    return operation
