"""Odd query strings on every GET route of the OpenAPI schema: a fixed list of values for
every query parameter (empty, repeated, huge, negative, NaN / inf, unicode, very long), each
answered 2xx / 304 or with a problem+json 4xx, never a 5xx. Deterministic: no random cases.
Twice: on a service just started (nothing served has its events yet), and on one with a
served history (past periods whose events arrived, recorded plans, posted patrols, an area
layer), where /v1/effectiveness and /v1/monitor score what was served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import h3
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from served_env import TARGET, Env, key_store, settings_of

from hotspots.access.keys import SCOPES
from hotspots.features import Panel
from hotspots.publishing.forecast_document import publish_forecast
from hotspots.publishing.snapshot_store import SnapshotStore
from hotspots.registry import Registry
from hotspots.service.app import create_app
from hotspots.service.problems import PROBLEM_TYPE
from hotspots.synthetic import BBOX
from served_state import halves, served_root

# The schema does not depend on the registry: an app over folders that do not exist has it.
DOCUMENT = create_app(settings_of(Path("unused"))).openapi()
GET_ROUTES = sorted(path for path, ops in DOCUMENT["paths"].items() if "get" in ops)
ODD_VALUES: tuple[str, ...] = (
    "",
    " ",
    "0",
    "-1",
    "-0",
    "1.5",
    "1e308",
    "1e309",
    "-1e309",
    "99999999999999999999999999999999",
    "-99999999999999999999999999999999",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "true",
    "null",
    "0x10",
    "1_000",
    "１",  # a fullwidth digit
    "é",
    "日本語",
    "\U0001f4a5",
    "\x00",
    "a\nb",
    "%",
    "../../etc/passwd",
    "1,2,3",
    "s,w,n,e",
    "-91,-181,91,181",
    "0,0,0,0",
    "burglary=1,robbery",
    "burglary=nan",
    "burglary=-1",
    "2023-02-30",
    "9999-12-31",
    "0001-01-01",
    "2024-01-01T00:00:00+99:00",
    "x" * 4_000,
    "1" * 4_000,
    "x" * 60_000,  # httpx refuses a URL longer than 65,536 characters
)
CONTEXTS: dict[str, tuple[dict[str, str], ...]] = {
    "/v1/forecasts/latest": ({}, {"top": "5", "format": "geojson", "boundary": "true"}),
    "/v1/plans/latest": ({}, {"areas": "2", "max_area_km2": "1", "format": "geojson"}),
    "/v1/monitor": ({}, {"window": "4", "repeat": "2"}),
}
"""Valid parameters the odd value of another one comes with (besides the required ones):
odd values reach the checks that read parameters together, and the fast path."""
SERVED_CONTEXTS: dict[str, tuple[dict[str, str], ...]] = {
    **CONTEXTS,
    "/v1/effectiveness": ({}, {"since": "2023-12-01", "until": "2024-01-08", "category": TARGET}),
    "/v1/monitor": ({}, {"window": "4", "repeat": "2"}, {"model": "other", "window": "2"}),
}
"""With a served history: the windows and category that select scored periods, the other
model's monitor (no patrols, its own category)."""
RAW_VALUES: tuple[str, ...] = ("%ff", "%c3%28", "%00", "%2", "%", "+", "%2B1", "1%2C2")
"""Sent as they are: invalid UTF-8, a cut escape, a plus (a space in a query)."""


def _path(template: str, env: Env) -> str:
    values = {"cell": env.cell, "name": "burglary", "version": "v1"}
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    assert "{" not in template, template
    return template


def _query_params(path: str, required: bool = False) -> list[str]:
    params = DOCUMENT["paths"][path]["get"].get("parameters", [])
    return [p["name"] for p in params if p["in"] == "query" and (p.get("required") or not required)]


@pytest.fixture(scope="module")
def client(base_env: Env) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    """A client with a key of every scope, and a valid value of each required parameter
    (the served ``as_of``), so that the odd value of another parameter is what is read."""
    key = key_store(base_env.root).create("fuzz-all", SCOPES)[1]
    auth = {"Authorization": f"Bearer {key}"}
    settings = settings_of(base_env.root, rate_limit_per_minute=0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        ready = c.get("/readyz", headers=auth)
        assert ready.status_code == 200
        yield c, auth, {"as_of": ready.json()["models"][0]["as_of"]}


SERVED_WEEKS = pd.date_range("2023-10-09", "2023-11-27", freq="W-MON")
"""Weeks served before the served history's first as_of (2023-12-04): the monitor's window."""
AHEAD = "horizon=2&areas=1&max_area_km2=1"


@pytest.fixture(scope="module")
def served_client(
    base_env: Env,
    year_city_events: pd.DataFrame,
    year_panel: Panel,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    """A service with a served history: two models (burglary and another category) that
    served as_of 2023-12-04 (and burglary the eight weeks before it), the rest of the year's
    events since arrived (as_of 2024-01-01), plans recorded for two periods, patrols posted
    for the scored week, and the city's halves as the monitor's area layer."""
    other = next(c for c in year_panel.categories if c != TARGET)
    root = tmp_path_factory.mktemp("fuzz_served")
    served_root(root, year_city_events, year_panel, {"burglary": TARGET, "other": other}, AHEAD)
    store = SnapshotStore(settings_of(root).state_dir / "snapshots")
    loaded = Registry(root / "models").load("burglary")
    for as_of in SERVED_WEEKS:
        store.save(
            publish_forecast(
                loaded.forecaster, year_panel, name="burglary", version="v1", as_of=as_of
            )
        )
    key = key_store(root).create("fuzz-all", SCOPES)[1]
    auth = {"Authorization": f"Bearer {key}"}
    areas = halves(root / "areas.geojson", *BBOX)
    settings = settings_of(
        root,
        rate_limit_per_minute=0,
        monitor_areas_path=areas,
        monitor_group_field="side",
        monitor_population_field="people",
    )
    near = h3.grid_ring(base_env.cell, 1)[0]
    patrols = (
        "id,cells,start,end\n"
        f"D1,{base_env.cell} {near},2023-12-05 10:00,2023-12-05 12:00\n"
        f"D2,{base_env.cell},2023-12-06 22:00,2023-12-06 23:30\n"
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        posted = c.post(
            "/v1/patrols", content=patrols, headers={**auth, "Content-Type": "text/csv"}
        )
        assert posted.status_code == 200 and posted.json()["stored"] == 2, posted.text
        scored = c.get("/v1/effectiveness", headers=auth).json()["models"]
        assert all(m["periods"] for m in scored), scored  # a history that is scored
        monitor = c.get("/v1/monitor", headers=auth).json()
        assert monitor["groups"], "the area layer is read"
        # nothing was served for 11 to 25 December: no share of no flagged area (was 0.0)
        idle = [p for p in monitor["periods"] if p["flagged_cells"] == 0]
        assert len(idle) == 3 and all(p["repeat_share"] is None for p in idle), idle
        ready = c.get("/readyz", headers=auth)
        yield c, auth, {"as_of": ready.json()["models"][0]["as_of"]}


def _refusal(response: Any) -> str | None:
    """Why ``response`` is not a proper answer: 2xx / 304, or a 4xx in problem+json."""
    status = response.status_code
    if 200 <= status < 300 or status == 304:
        return None
    if 400 <= status < 500 and response.headers.get("content-type") == PROBLEM_TYPE:
        return None
    return f"{status} {response.headers.get('content-type')} {response.text[:200]!r}"


def test_every_get_route_with_query_parameters_is_fuzzed() -> None:
    assert "/v1/forecasts/latest" in GET_ROUTES and "/v1/plans/latest" in GET_ROUTES
    assert sum(len(_query_params(p)) for p in GET_ROUTES) >= 25


def _fuzz(
    c: TestClient,
    auth: dict[str, str],
    valid: dict[str, str],
    path: str,
    route: str,
    contexts: dict[str, tuple[dict[str, str], ...]],
) -> list[str]:
    """Each odd value of each query parameter of ``route``, with each context: what was not
    answered properly."""
    required = _query_params(route, required=True)
    assert set(required) <= set(valid), f"give a valid value of {required} in the fixture"
    wrong = []
    for context in contexts.get(route, ({},)):
        given = {**{k: valid[k] for k in required}, **context}
        for name in _query_params(route):
            base = "".join(f"&{k}={quote(v)}" for k, v in given.items() if k != name)
            queries = [f"{name}={quote(v, safe='')}" for v in ODD_VALUES]
            queries += [f"{name}={v}" for v in RAW_VALUES]
            queries += [f"{name}=1&{name}=2", name, f"{name}=&{name}=", f"{name}=1;{name}=x"]
            for query in queries:
                response = c.get(f"{path}?{query}{base}", headers=auth)
                reason = _refusal(response)
                if reason is not None:
                    wrong.append(f"GET {path}?{query[:60]}{base}: {reason}")
    return wrong


@pytest.mark.parametrize("route", [r for r in GET_ROUTES if _query_params(r)])
def test_odd_query_values_are_answered_or_refused_as_problems(
    client: tuple[TestClient, dict[str, str], dict[str, str]], base_env: Env, route: str
) -> None:
    c, auth, valid = client
    wrong = _fuzz(c, auth, valid, _path(route, base_env), route, CONTEXTS)
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow  # 2,862 requests; /v1/effectiveness scores each category asked
@pytest.mark.parametrize("route", [r for r in GET_ROUTES if _query_params(r)])
def test_odd_query_values_with_a_served_history(
    served_client: tuple[TestClient, dict[str, str], dict[str, str]], base_env: Env, route: str
) -> None:
    c, auth, valid = served_client
    wrong = _fuzz(c, auth, valid, _path(route, base_env), route, SERVED_CONTEXTS)
    assert not wrong, "\n".join(wrong)


def test_an_unknown_category_is_refused_before_any_period_is_due(
    client: tuple[TestClient, dict[str, str], dict[str, str]],
) -> None:
    """Just started, nothing served has its events yet: an unknown category was a 200 with
    no periods, an answer to a question that names nothing; it is the documented 404."""
    c, auth, _ = client
    for odd in ("Arson", "../../etc/passwd", "日本語"):
        unknown = c.get(f"/v1/effectiveness?category={quote(odd)}", headers=auth)
        assert unknown.status_code == 404, unknown.text
        assert unknown.headers["content-type"] == PROBLEM_TYPE
        assert unknown.json()["detail"] == (
            f"category {odd!r}: target categories [{odd!r}] are not in the events; "
            "categories are: ['Assault', 'Burglary Residential', 'Criminal Damage', 'Robbery', "
            "'Theft from Vehicle']"
        )
    known = c.get("/v1/effectiveness?category=Burglary%20Residential", headers=auth)
    assert known.status_code == 200 and known.json()["category"] == "Burglary Residential"
