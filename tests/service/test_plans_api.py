"""GET /v1/plans/latest: the patrol plan of the served models, pre-built for the default
budget at publish time, other budgets on request and kept; ETag / 304, audited, read scope,
422 for a budget no plan can meet."""

from __future__ import annotations

import gzip
import json
import math
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from served_env import TARGET, Env, settings_of

from hotspots.access.keys import KEYS_FILE, KeyStore
from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.grid import cells_area_km2, strings_to_cells
from hotspots.publishing import (
    MAX_AREA_CELLS,
    PlanBudget,
    build_plan,
    is_contiguous,
    plan_to_bytes,
    plan_to_rows,
)
from hotspots.registry import Registry
from hotspots.service.app import create_app
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PATH = "/v1/plans/latest"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def two_types(base_env: Env, year_panel: Panel, tmp_path_factory: pytest.TempPathFactory) -> Env:
    """base_env plus a second served model ("other") of another crime type."""
    root = tmp_path_factory.mktemp("plans_api")
    for part in ("models", "state"):
        shutil.copytree(base_env.root / part, root / part)
    shutil.copy(base_env.root / "events.parquet", root / "events.parquet")
    other = next(c for c in year_panel.categories if c != TARGET)
    model = make_forecaster("historical_mean", target=(other,)).fit(year_panel)
    spec = {"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}}
    Registry(root / "models").publish(
        "other", model, spec=spec, data={"timezone": TIMEZONE}, backtest={}
    )
    return Env(root, base_env.read, base_env.write, base_env.cell, base_env.lat, base_env.lng)


@pytest.fixture(scope="module")
def client(two_types: Env) -> TestClient:
    # no rate limit: the module sends one key well over a burst in a few seconds
    settings = settings_of(two_types.root, plan_max_area_km2=3.0, rate_limit_per_minute=0)
    with TestClient(create_app(settings)) as c:
        yield c


def _areas_ok(plan: dict, areas: int, max_km2: float) -> None:  # type: ignore[type-arg]
    assert len(plan["areas"]) == areas
    seen: set[str] = set()
    for area in plan["areas"]:
        cells = strings_to_cells(area["cells"])
        assert is_contiguous(cells)
        assert float(cells_area_km2(cells).sum()) <= max_km2 * (1 + 1e-9)
        assert not seen & set(area["cells"])  # non-overlapping
        seen |= set(area["cells"])


def test_the_default_plan_is_built_at_publish_time_and_served_with_an_etag(
    client: TestClient, two_types: Env
) -> None:
    state = client.app.state.service  # type: ignore[attr-defined]
    assert state.plans is not None and state.plans.names == ("burglary", "other")
    got = client.get(PATH, headers=auth(two_types.read))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    plan = got.json()
    assert plan["budget"] == {"areas": 6, "max_area_km2": 3.0, "total_km2": None}
    assert sorted(plan["types"]) == ["burglary", "other"]
    _areas_ok(plan, 6, 3.0)
    assert sum(a["n_cells"] for a in plan["areas"]) > 6  # areas of several cells
    assert all(set(a["expected_by_type"]) == {"burglary", "other"} for a in plan["areas"])
    assert all(a["reasons"] and a["when"] for a in plan["areas"])
    etag = got.headers["etag"]
    again = client.get(PATH, headers={**auth(two_types.read), "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    zipped = client.get(PATH, headers=auth(two_types.read))
    assert zipped.headers.get("content-encoding") == "gzip"  # TestClient asks for gzip
    raw = client.get(PATH, headers={**auth(two_types.read), "Accept-Encoding": "identity"})
    assert gzip.decompress(state.plans.cached(state.plans.query()).gzip_bytes) == raw.content


def test_the_plan_is_the_document_build_plan_makes_from_the_served_forecasts(
    client: TestClient, two_types: Env, year_city_events: pd.DataFrame
) -> None:
    state = client.app.state.service  # type: ignore[attr-defined]
    served = state.served
    forecasts = {
        name: pd.DataFrame(
            {
                "cell": s.snapshot.tables[0].cell,
                "period_start": s.snapshot.tables[0].start,
                "expected_count": s.snapshot.tables[0].expected_count,
            }
        )
        for name, s in served.items()
    }
    cells = np.unique(np.concatenate([s.cells for s in served.values()]))
    model = served["burglary"].model
    expected = build_plan(
        forecasts,
        cells,
        model.resolution_,
        year_city_events,
        as_of=served["burglary"].snapshot.as_of,
        freq=model.freq_,
        budget=PlanBudget(4, 2.0),
        weights={"other": 3.0},
        categories={name: s.model.target_ for name, s in served.items()},
    )
    query = "areas=4&max_area_km2=2&weights=other=3,burglary=1&format=geojson"
    got = client.get(f"{PATH}?{query}", headers={**auth(two_types.read), "Accept-Encoding": ""})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/geo+json"
    assert got.content == plan_to_bytes(expected, "geojson")  # what `hotspots plan` writes
    assert len(got.json()["features"]) == 4
    assert got.json()["plan"]["types"]["other"]["weight"] == 3.0
    # the other type weighed by the category it counts, as category= takes it: the same plan
    [category] = served["other"].model.target_
    params = {"areas": "4", "max_area_km2": "2", "weights": f"{category}=3", "format": "geojson"}
    same = client.get(PATH, params=params, headers={**auth(two_types.read), "Accept-Encoding": ""})
    assert same.status_code == 200, same.text
    assert same.content == got.content


def test_other_budgets_are_built_once_then_cached(client: TestClient, two_types: Env) -> None:
    book = client.app.state.service.plans  # type: ignore[attr-defined]
    query = book.query(areas=3, max_area_km2=1.5)
    assert book.cached(query) is None
    first = client.get(f"{PATH}?areas=3&max_area_km2=1.5", headers=auth(two_types.read))
    assert first.status_code == 200, first.text
    _areas_ok(first.json(), 3, 1.5)
    assert book.cached(query) is not None
    second = client.get(f"{PATH}?max_area_km2=1.5&areas=3", headers=auth(two_types.read))
    assert second.headers["etag"] == first.headers["etag"]
    total = client.get(f"{PATH}?areas=2&total_km2=4", headers=auth(two_types.read))
    assert total.status_code == 200, total.text
    assert total.json()["summary"]["area_km2"] <= 4 + 1e-9
    assert total.json()["budget"] == {"areas": 2, "max_area_km2": None, "total_km2": 4.0}


def test_categories_choose_the_crime_types_and_horizon_the_period(
    client: TestClient, two_types: Env
) -> None:
    one = client.get(f"{PATH}?category=other", headers=auth(two_types.read))
    assert one.status_code == 200, one.text
    assert list(one.json()["types"]) == ["other"]
    by_target = client.get(f"{PATH}?category={TARGET}", headers=auth(two_types.read))
    assert list(by_target.json()["types"]) == ["burglary"]
    both = client.get(f"{PATH}?category=other&category=burglary", headers=auth(two_types.read))
    assert both.status_code == 200, both.text
    assert sorted(both.json()["types"]) == ["burglary", "other"]
    later = client.get(f"{PATH}?horizon=2", headers=auth(two_types.read))
    first = client.get(PATH, headers=auth(two_types.read)).json()["period_start"]
    assert later.json()["period_start"] == str((pd.Timestamp(first) + pd.Timedelta(days=7)).date())


def test_the_largest_area_allowed_is_built_and_its_areas_respect_the_limit(
    client: TestClient, two_types: Env, year_panel: Panel
) -> None:
    """MAX_AREA_CELLS of the smallest cell (rounded down as the refusal shows it) is the
    largest max_area_km2 a plan takes; its areas hold at most that many cells."""
    largest = MAX_AREA_CELLS * float(cells_area_km2(year_panel.cells).min())
    limit = math.floor(largest * 100) / 100
    got = client.get(f"{PATH}?areas=3&max_area_km2={limit}", headers=auth(two_types.read))
    assert got.status_code == 200, got.text
    plan = got.json()
    _areas_ok(plan, 3, limit)
    sizes = [area["n_cells"] for area in plan["areas"]]
    assert max(sizes) <= MAX_AREA_CELLS and max(sizes) >= MAX_AREA_CELLS - 1, sizes


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("max_area_km2=0.01", "smaller than one cell"),
        ("areas=3&max_area_km2=1&total_km2=1.5", "cannot hold 3 areas"),
        (
            "max_area_km2=80",  # 103 cells of 0.78 km2: past MAX_AREA_CELLS
            "max_area_km2 80: an area of up to 80 km2 is larger than a plan allows "
            "(100 cells, 77.65 km2 at H3 resolution 8); ask for at most that much",
        ),
        ("total_km2=1e308", "total_km2 1e+308 over 6 areas: an area of up to 1.667e+307 km2"),
        (  # 50 areas of 60 km2 each fit under MAX_AREA_CELLS, but not in the city
            "areas=50&total_km2=3000",
            "total_km2 3000: more ground than the whole study area (598.4 km2, 769 cells at H3 "
            "resolution 8); ask for at most that much",
        ),
        (
            "areas=3&max_area_km2=1&total_km2=1e6",
            "total_km2 1e+06: more ground than the whole study area (598.4 km2",
        ),
        ("category=Arson", "category 'Arson' is not a crime type of this plan"),
        ("weights=nobody=2", "weights names 'nobody', which is not a crime type"),
        ("weights=other", "is not name=weight"),
        ("horizon=9", "horizon"),
        ("areas=0", "areas"),
        ("areas=2&areas=3", "'areas' is given 2 times"),
        (
            "stop=sideways",
            "query parameter 'stop': Input should be 'cap' or 'top-cells' (got 'sideways')",
        ),
        ("stop=cap&stop=top-cells", "'stop' is given 2 times"),
        ("area=2", "unknown query parameter 'area'"),
    ],
)
def test_a_plan_that_cannot_be_made_is_a_422_naming_why(
    client: TestClient, two_types: Env, query: str, detail: str
) -> None:
    got = client.get(f"{PATH}?{query}", headers=auth(two_types.read))
    assert got.status_code == 422, got.text
    assert got.headers["content-type"] == "application/problem+json"
    assert detail in got.json()["detail"]


def test_the_plan_needs_a_read_key_and_every_request_is_audited(
    client: TestClient, two_types: Env
) -> None:
    assert client.get(PATH).status_code == 401
    writer = client.get(PATH, headers=auth(two_types.write))
    assert writer.status_code == 403
    built = client.get(f"{PATH}?areas=2", headers=auth(two_types.read))  # built by the route
    fast = client.get(PATH, headers=auth(two_types.read))  # the default: the fast path
    stopped = client.get(f"{PATH}?stop=top-cells", headers=auth(two_types.read))
    other = client.get(f"{PATH}?category=other", headers=auth(two_types.read))
    again = client.get(f"{PATH}?category=other", headers=auth(two_types.read))  # fast path
    client.app.state.service.audit.close()  # type: ignore[attr-defined]
    lines = []
    for path in sorted((two_types.root / "state").glob("audit-*.jsonl")):
        lines += [json.loads(x) for x in path.read_text().splitlines()]
    key_id = two_types.read.split("_")[1]
    both, alone = ("burglary/", "other/"), ("other/",)
    for got, params, models in (
        (built, {"areas": "2"}, both),
        (fast, {}, both),
        (stopped, {"stop": "top-cells"}, both),
        (other, {"category": "other"}, alone),  # named every served version until 2026-12-07
        (again, {"category": "other"}, alone),
    ):
        mine = [x for x in lines if x["request_id"] == got.headers["x-request-id"]]
        assert len(mine) == 1
        assert mine[0]["route"] == PATH and mine[0]["status"] == 200
        assert mine[0]["etag"] == got.headers["etag"] and mine[0]["key_id"] == key_id
        assert mine[0]["params"] == params
        assert [m.split("/")[0] + "/" for m in mine[0]["model"].split(",")] == list(models)


def test_without_a_served_model_there_is_no_plan(tmp_path: Path, two_types: Env) -> None:
    KeyStore(tmp_path / "state" / KEYS_FILE).create("r", ["forecasts:read"])
    store = KeyStore(tmp_path / "state" / KEYS_FILE)
    key = store.create("r2", ["forecasts:read"])[1]
    with TestClient(create_app(settings_of(tmp_path))) as c:
        got = c.get(PATH, headers=auth(key))
        assert got.status_code == 503
        assert "no patrol plan is published" in got.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "areas=3&max_area_km2=1.5",
        "format=geojson&category=other&category=burglary",
        "weights=other=2",
        "max_area_km2=0.01",  # a 422, answered the same by both paths
        "max_area_km2=1e308",  # refused before any area is grown, by both paths
        "horizon=9",
        "stop=top-cells&areas=3",
        "stop=top-cells&format=geojson",
    ],
)
def test_the_fast_path_answers_as_the_route_does(
    client: TestClient, two_types: Env, query: str
) -> None:
    """The same request sent plainly (the fast path) and with an escaped character (which
    only FastAPI reads) gets the same status, bytes and caching headers."""
    escaped = query.replace("m", "%6D", 1) if "m" in query else query + "&format=js%6Fn"
    headers = {**auth(two_types.read), "Accept-Encoding": "identity"}
    slow = client.get(f"{PATH}?{escaped}", headers=headers)  # built here if new
    fast = client.get(f"{PATH}?{query}", headers=headers)
    assert fast.status_code == slow.status_code
    assert fast.content == slow.content or fast.json()["detail"] == slow.json()["detail"]
    for name in ("etag", "cache-control", "vary", "content-type"):
        assert fast.headers.get(name) == slow.headers.get(name), name


def test_the_plain_query_parser_reads_the_routes_own_declarations() -> None:
    from hotspots.service.plain_query import plain_parser
    from hotspots.service.routes_plans import router

    parse = plain_parser(router.routes[0])
    got = parse(b"areas=3&category=a&category=b&format=geojson&max_area_km2=0.5")
    assert got is not None
    assert got["areas"] == 3 and got["category"] == ["a", "b"] and got["fmt"] == "geojson"
    assert got["max_area_km2"] == 0.5 and got["horizon"] == 1 and got["weights"] is None
    stopped = parse(b"stop=top-cells")
    assert stopped is not None and stopped["stop"] == "top-cells"
    for refused in (b"areas=0", b"areas=51", b"areas=2&areas=3", b"area=2", b"format=xml",
                    b"stop=sideways", b"stop=cap&stop=cap",
                    b"weights=", b"category=a%20b", b"max_area_km2=0", b"areas=1e3"):  # fmt: skip
        assert parse(refused) is None, refused
    assert parse(b"") == {
        "areas": None, "max_area_km2": None, "total_km2": None, "category": [],
        "weights": None, "horizon": 1, "fmt": "json", "stop": "cap", "shifts": None,
    }  # fmt: skip
    assert parse(b"shifts=7,15,23") == {**parse(b""), "shifts": "7,15,23"}  # type: ignore[dict-item]


def test_the_routes_stop_choices_are_the_librarys() -> None:
    import typing

    from hotspots.publishing import STOPS
    from hotspots.service.routes_plans import latest_plan

    declared = typing.get_type_hints(latest_plan, include_extras=True)["stop"]
    assert typing.get_args(typing.get_args(declared)[0]) == STOPS


def test_stop_top_cells_is_its_own_plan_with_its_own_etag(
    client: TestClient, two_types: Env
) -> None:
    headers = {**auth(two_types.read), "Accept-Encoding": "identity"}
    cap = client.get(f"{PATH}?areas=4&max_area_km2=2", headers=headers)
    top = client.get(f"{PATH}?areas=4&max_area_km2=2&stop=top-cells", headers=headers)
    assert cap.status_code == top.status_code == 200, top.text
    assert top.headers["etag"] != cap.headers["etag"]
    assert "or a cell below the least of the top cells" in top.json()["algorithm"]
    assert "or a cell below" not in cap.json()["algorithm"]
    # the top-cells rule never makes an area larger than the cap rule's budget allows, and
    # stops at least as early overall
    assert top.json()["summary"]["area_km2"] <= cap.json()["summary"]["area_km2"] + 1e-9
    _areas_ok(top.json(), len(top.json()["areas"]), 2.0)
    again = client.get(f"{PATH}?stop=top-cells&max_area_km2=2&areas=4",
                       headers={**headers, "If-None-Match": top.headers["etag"]})  # fmt: skip
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("stop", "fmt"),
    [(None, "geojson"), ("cap", "geojson"), ("top-cells", "geojson"), ("top-cells", "json")],
)
def test_an_analyst_gets_the_same_plan_from_hotspots_plan(
    client: TestClient, two_types: Env, run_cli: Any, tmp_path: Path, stop: str | None, fmt: str
) -> None:
    """`hotspots plan` for the served models and as_of writes the bytes the API serves,
    for the same parameters (the stop rule too, or neither giving it)."""
    state = client.app.state.service  # type: ignore[attr-defined]
    as_of = str(state.served["burglary"].snapshot.as_of.date())
    out = tmp_path / f"plan.{fmt}"
    result = run_cli(
        "plan", "--model", "burglary", "--model", "other", "--models-dir",
        two_types.root / "models", "--events", two_types.root / "events.parquet",
        "--as-of", as_of, "--areas", "4", "--max-area-km2", "2", "--output", out,
        *(() if stop is None else ("--stop", stop)),
    )  # fmt: skip
    assert result.code == 0, result.out + result.err
    asked = "" if stop is None else f"&stop={stop}"
    served = client.get(
        f"{PATH}?areas=4&max_area_km2=2&format={fmt}{asked}",
        headers={**auth(two_types.read), "Accept-Encoding": "identity"},
    )
    assert served.status_code == 200
    assert out.read_bytes() == served.content


@pytest.mark.parametrize("fmt", ["json", "geojson"])
def test_hotspots_plan_and_the_api_give_the_same_shift_blocks(
    client: TestClient,
    two_types: Env,
    run_cli: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    """``--shifts`` (or HOTSPOTS_PLAN_SHIFTS) and ``shifts=`` give the same document, in
    any order of the start hours; the blocks are those hours' and differ from the default's."""
    from hotspots.config import get_settings

    state = client.app.state.service  # type: ignore[attr-defined]
    as_of = str(state.served["burglary"].snapshot.as_of.date())
    common = (
        "plan", "--model", "burglary", "--model", "other", "--models-dir",
        two_types.root / "models", "--events", two_types.root / "events.parquet",
        "--as-of", as_of, "--areas", "4", "--max-area-km2", "2",
    )  # fmt: skip
    flag, env = tmp_path / f"flag.{fmt}", tmp_path / f"env.{fmt}"
    assert run_cli(*common, "--shifts", "7,15,23", "--output", flag).code == 0
    monkeypatch.setenv("HOTSPOTS_PLAN_SHIFTS", "15,23,7")
    get_settings.cache_clear()
    try:
        assert run_cli(*common, "--output", env).code == 0
    finally:
        get_settings.cache_clear()
    headers = {**auth(two_types.read), "Accept-Encoding": "identity"}
    served = client.get(f"{PATH}?areas=4&max_area_km2=2&shifts=23,7,15&format={fmt}",
                        headers=headers)  # fmt: skip
    assert served.status_code == 200, served.text
    assert flag.read_bytes() == served.content == env.read_bytes()
    default = client.get(f"{PATH}?areas=4&max_area_km2=2&format={fmt}", headers=headers)
    assert default.headers["etag"] != served.headers["etag"]
    doc, usual = json.loads(served.content), json.loads(default.content)
    head = doc if fmt == "json" else doc["plan"]
    assert head["shifts"] == [7, 15, 23]
    from hotspots.service.plan_schemas import PlanDocument, PlanFeatureCollection

    (PlanDocument if fmt == "json" else PlanFeatureCollection).model_validate(doc)  # strict
    if fmt == "geojson":  # flat columns: the JSON document's areas, flattened as in the CSV
        as_json = client.get(f"{PATH}?areas=4&max_area_km2=2&shifts=23,7,15", headers=headers)
        doc = as_json.json()
        assert [f["properties"] for f in json.loads(served.content)["features"]] == plan_to_rows(
            doc
        )
    areas = doc["areas"]
    fields = {"start", "end", "hours", "label", "share", "lift", "events"}
    for area in areas:
        if isinstance(area["when"], dict):
            assert all(set(b) == fields | {"day"} for b in area["when"]["top_blocks"])
            assert all(set(b) == fields for b in area["when"]["top_blocks_of_day"])
    assert (usual if fmt == "json" else usual["plan"])["shifts"] == [0, 6, 12, 18]
    named = [
        b for a in areas if isinstance(a["when"], dict) for b in a["when"]["top_blocks_of_day"]
    ]
    assert named  # the year city's areas name a shift of the day
    assert {(b["start"], b["end"], b["hours"]) for b in named} <= {
        (7, 15, 8),
        (15, 23, 8),
        (23, 7, 8),
    }


def test_plans_built_on_request_are_kept_up_to_the_bound_and_the_default_always(
    client: TestClient, year_city_events: pd.DataFrame
) -> None:
    from hotspots.publishing import PlanBook

    served = client.app.state.service.plans  # type: ignore[attr-defined]
    book = PlanBook(served.inputs, year_city_events, default=PlanBudget(2, 3.0), pack=len,
                    cache_size=2)  # fmt: skip
    queries = [book.query(areas=n) for n in (3, 4, 5)]
    sizes = [book.get(q) for q in queries]
    assert all(isinstance(n, int) and n > 0 for n in sizes)
    assert book.cached(queries[0]) is None  # the oldest of three went
    assert [book.cached(q) for q in queries[1:]] == sizes[1:]
    assert book.cached(book.query()) is not None  # the default budget is never evicted
    assert book.cached(book.query(fmt="geojson")) is not None


def test_every_plan_served_is_recorded_once_not_per_request(two_types: Env, tmp_path: Path) -> None:
    from hotspots.publishing.plan_store import PlanStore

    root = tmp_path / "env"
    shutil.copytree(two_types.root, root, ignore=shutil.ignore_patterns("plans", "audit-*"))
    headers = {**auth(two_types.read), "Accept-Encoding": "identity"}
    with TestClient(create_app(settings_of(root, plan_max_area_km2=3.0))) as c:
        state = c.app.state.service  # type: ignore[attr-defined]
        store = PlanStore(root / "state" / "plans")
        # the default plan is recorded when it is pre-built at publish time (JSON and
        # GeoJSON are one plan: one record)
        [default] = store.read()
        assert default["first"] == "published"
        assert default["params"] == {
            "areas": 6, "max_area_km2": 3.0, "total_km2": None, "types": ["burglary", "other"],
            "weights": {}, "horizon": 1, "stop": "cap", "shifts": [0, 6, 12, 18],
        }  # fmt: skip
        versions = {n: s.version for n, s in state.served.items()}
        assert default["models"] == versions == {"burglary": "v1", "other": "v1"}
        got = c.get(PATH, headers=headers)
        assert got.headers["etag"] == default["etag"]  # named by the document's ETag
        plan = got.json()
        assert [a["cells"] for a in default["areas"]] == [a["cells"] for a in plan["areas"]]
        assert default["period_start"] == plan["period_start"]
        # serving the pre-built bytes again and again records nothing (the fast path)
        calls: list[dict[str, Any]] = []
        recorder = state.served_plans.record
        state.plans.record = lambda r: calls.append(r) or recorder(r)
        for _ in range(5):
            assert c.get(PATH, headers=headers).status_code == 200
            assert c.get(f"{PATH}?format=geojson", headers=headers).status_code == 200
        assert calls == []
        # another plan is recorded when first built, once, as JSON or GeoJSON alike
        asked = (
            "areas=2&max_area_km2=1.5&stop=top-cells&category=other&weights=other=2&shifts=7,15,23"
        )
        first = c.get(f"{PATH}?{asked}", headers=headers)
        for _ in range(3):
            c.get(f"{PATH}?{asked}", headers=headers)
        c.get(f"{PATH}?{asked}&format=geojson", headers=headers)
        assert len(calls) == 2  # built twice (JSON, GeoJSON), stored once
        records = {r["etag"]: r for r in store.read()}
        assert len(records) == 2
        mine = records[first.headers["etag"]]
        assert mine["first"] == "requested" and mine["models"] == {"other": "v1"}
        assert mine["params"] == {
            "areas": 2, "max_area_km2": 1.5, "total_km2": None, "types": ["other"],
            "weights": {"other": 2.0}, "horizon": 1, "stop": "top-cells", "shifts": [7, 15, 23],
        }  # fmt: skip
    # a restart publishes the same default plan: still one record of it
    with TestClient(create_app(settings_of(root, plan_max_area_km2=3.0))):
        assert len(PlanStore(root / "state" / "plans").read()) == 2


def test_a_plan_whose_record_fails_is_served_and_recorded_at_the_next_request(
    client: TestClient, two_types: Env
) -> None:
    book = client.app.state.service.plans  # type: ignore[attr-defined]
    recorder = book.record
    tried: list[str] = []

    def full_disk(record: dict[str, Any]) -> None:
        tried.append(record["etag"])
        raise OSError(28, "No space left on device")

    book.record = full_disk
    try:
        got = client.get(f"{PATH}?areas=5&max_area_km2=1", headers=auth(two_types.read))
    finally:
        book.record = recorder
    assert got.status_code == 200 and tried == [got.headers["etag"]]
    query = book.query(areas=5, max_area_km2=1.0)
    assert book.cached(query) is None  # not kept: the next request builds and records it
    again = client.get(f"{PATH}?areas=5&max_area_km2=1", headers=auth(two_types.read))
    assert again.content == got.content and book.cached(query) is not None
    stored = client.app.state.service.served_plans.read()  # type: ignore[attr-defined]
    assert got.headers["etag"] in {r["etag"] for r in stored}


@pytest.mark.parametrize(("horizon", "fmt"), [(2, "json"), (3, "geojson"), (1, "json")])
def test_hotspots_plan_with_no_budget_or_as_of_writes_the_default_plan_served(
    client: TestClient,
    two_types: Env,
    run_cli: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    horizon: int,
    fmt: str,
) -> None:
    """The CLI's defaults are the route's: every current model, the as_of the service
    publishes, HOTSPOTS_PLAN_AREAS areas of HOTSPOTS_PLAN_MAX_AREA_KM2; and ``--horizon``
    is ``horizon=``, so the file is the bytes served for the same horizon."""
    from hotspots.config import get_settings

    monkeypatch.setenv("HOTSPOTS_PLAN_MAX_AREA_KM2", "3")  # the client's setting
    get_settings.cache_clear()
    out = tmp_path / f"plan.{fmt}"
    try:
        result = run_cli(
            "plan", "--models-dir", two_types.root / "models", "--events",
            two_types.root / "events.parquet", "--horizon", str(horizon), "--output", out,
        )  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert result.code == 0, result.out + result.err
    served = client.get(
        f"{PATH}?horizon={horizon}&format={fmt}",
        headers={**auth(two_types.read), "Accept-Encoding": "identity"},
    )
    assert served.status_code == 200, served.text
    assert out.read_bytes() == served.content
    doc = json.loads(served.content)
    head = doc if fmt == "json" else doc["plan"]
    state = client.app.state.service  # type: ignore[attr-defined]
    start = state.served["burglary"].snapshot.tables[horizon - 1].start
    assert head["period_start"] == str(pd.Timestamp(start).date())
    assert sorted(head["types"]) == ["burglary", "other"]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("areas=x", ("'areas'", "'x'")),
        ("areas=1.5", ("'areas'", "'1.5'")),
        ("areas=51", ("'areas'", "'51'")),
        ("max_area_km2=-1", ("'max_area_km2'", "'-1'")),
        ("max_area_km2=nan", ("'max_area_km2'", "'nan'")),
        ("max_area_km2=inf", ("max_area_km2", "inf")),
        ("max_area_km2=x", ("'max_area_km2'", "'x'")),
        ("max_area_km2=0.001", ("max_area_km2 0.001", "smaller than one cell")),
        ("total_km2=0.001", ("total_km2 0.001", "smaller than one cell")),
        ("total_km2=-2", ("'total_km2'", "'-2'")),
        ("weights=", ("'weights'", "''")),
        ("weights=other=-1", ("weights", "'other=-1'")),
        ("weights=other=nan", ("weights", "'other=nan'")),
        ("weights=other=1e400", ("weights", "'other=1e400'")),
        ("weights=,", ("weights", "','")),
        ("weights==2", ("weights", "'=2'")),
        ("weights=other=2,other=3", ("weights 'other=2,other=3'", "'other' is given twice")),
        ("weights=other=0,burglary=0", ("weights 'other=0,burglary=0'", "weighs 0")),
        ("category=other&weights=other=0", ("weights 'other=0'", "weighs 0")),
        ("category=", ("category", "''")),
        ("category=Arson&category=other", ("category", "'Arson'")),
        ("horizon=5", ("horizon", "5")),
        ("max_area_km2=1e308", ("max_area_km2", "1e+308")),
        ("areas=2&total_km2=1000", ("total_km2", "1000")),
        ("areas=50&total_km2=3000", ("total_km2 3000", "whole study area (598.4 km2")),
        ("horizon=0", ("'horizon'", "'0'")),
        ("horizon=x", ("'horizon'", "'x'")),
        ("format=xml", ("'format'", "'xml'")),
        ("shifts=", ("'shifts'", "''")),
        ("shifts=7,7,15", ("shifts '7,7,15'", "an hour is given twice")),
        ("shifts=0,24", ("shifts '0,24'", "24 is not an hour of the day")),
        ("shifts=" + "9" * 5000 + ",6", ("shifts '999", "(5002 characters)")),  # was a 500
        ("max_area_km2=" + "x" * 5000, ("'max_area_km2'", "(got 'xxx")),
        ("shifts=6", ("shifts '6'", "at least two blocks")),
        ("format=JSON", ("'format'", "'JSON'")),
    ],
)
def test_every_bad_value_is_a_problem_naming_the_parameter_and_the_value(
    client: TestClient, two_types: Env, query: str, named: tuple[str, str]
) -> None:
    """Sent plainly (the fast path's parser refuses it and hands it on) and with an escaped
    character (FastAPI alone): a 422 problem naming the parameter and the value, never a 500."""
    escaped = f"%{ord(query[0]):02X}{query[1:]}"  # an escaped name: only FastAPI reads it
    for sent in (query, escaped):
        got = client.get(f"{PATH}?{sent}", headers=auth(two_types.read))
        assert got.status_code == 422, (sent, got.text)
        assert got.headers["content-type"] == "application/problem+json"
        detail = got.json()["detail"]
        assert named[0] in detail and named[1] in detail, detail
        assert len(detail) < 400, detail  # a long value is cut, not repeated whole


def test_new_plans_beyond_the_builds_at_once_wait_for_a_retry_the_built_ones_do_not(
    client: TestClient, two_types: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from hotspots.service import routes_plans

    busy = threading.BoundedSemaphore(1)
    busy.acquire()  # as if BUILDS_AT_ONCE plans were being built now
    monkeypatch.setattr(routes_plans, "_builds", busy)
    new = client.get(f"{PATH}?areas=4&max_area_km2=2.5", headers=auth(two_types.read))
    assert new.status_code == 503 and new.headers["retry-after"] == "2"
    assert new.headers["content-type"] == "application/problem+json"
    assert "new plans are being built" in new.json()["detail"]
    assert client.get(PATH, headers=auth(two_types.read)).status_code == 200  # built already
    busy.release()
    again = client.get(f"{PATH}?areas=4&max_area_km2=2.5", headers=auth(two_types.read))
    assert again.status_code == 200 and len(again.json()["areas"]) == 4
    assert busy.acquire(blocking=False)  # released after the build


def test_two_models_of_one_crime_type_are_never_added_in_one_plan(
    client: TestClient, year_city_events: pd.DataFrame
) -> None:
    """A second model of burglary (a challenger served beside it): the plan of every type
    leaves it out, as adding both would count each burglary twice; asked for by name it is
    planned alone, and a request that names both is refused naming them."""
    import dataclasses

    from hotspots.errors import ConfigError
    from hotspots.publishing import PlanBook

    inputs = dict(client.app.state.service.plans.inputs)  # type: ignore[attr-defined]
    inputs["burglary2"] = dataclasses.replace(inputs["burglary"])
    [category] = inputs["burglary"].target
    book = PlanBook(inputs, year_city_events, default=PlanBudget(2, 3.0), pack=bytes)
    assert book.combined == ("burglary", "other")
    assert book.overlapping == {"burglary2": "burglary"}
    everything = json.loads(book.get(book.query()))
    assert sorted(everything["types"]) == ["burglary", "other"]
    alone = json.loads(book.get(book.query(categories=["burglary2"])))
    assert list(alone["types"]) == ["burglary2"]
    with pytest.raises(
        ConfigError,
        match=rf"crime types burglary and burglary2 both forecast the categories \['{category}'\]",
    ):
        book.get(book.query(categories=[category]))
