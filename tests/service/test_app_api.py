"""The FastAPI app: auth, caching headers, bytes served, problems, cells, models, promote,
swap under load and the audit log, against a registry fitted on the year city."""

from __future__ import annotations

import gzip
import json
import logging
import shutil
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import h3
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from served_env import key_store, settings_of

from hotspots.access import audit
from hotspots.access.keys import KeyStore, split_key
from hotspots.config import Settings
from hotspots.features import Panel
from hotspots.forecasters import LightGBMForecaster
from hotspots.ingest import write_events
from hotspots.publishing.snapshot import strong_etag
from hotspots.registry import Registry
from hotspots.service.app import JsonFormatter, create_app
from hotspots.service.problems import scrub
from hotspots.serving.state import ServiceState
from hotspots.synthetic import TIMEZONE

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TARGET = ("Burglary Residential",)
BACKTEST = {"selected": "lightgbm", "table": [{"model": "lightgbm", "pai@1%": 2.5}]}
LATEST = "/v1/forecasts/latest"


@dataclass(frozen=True)
class Env:
    root: Path
    settings: Settings
    read: str
    write: str
    admin: str


def _settings(root: Path) -> Settings:
    return settings_of(
        root,
        min_events_shown=2,
        history_periods=4,
        cache_max_age=7,
        rate_limit_per_minute=0,  # the swap-under-load test sends ~900 requests with one key
    )


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, year_city_events: pd.DataFrame, year_panel: Panel
) -> Env:
    """Registry with burglary v1 (current) and v2 (not promoted), the events, three keys."""
    root = tmp_path_factory.mktemp("service")
    write_events(year_city_events, root / "events.parquet", {"timezone": TIMEZONE})
    registry = Registry(root / "models")
    spec = {"data": {"events": str(root / "events.parquet"), "timezone": TIMEZONE}}
    for n, promote in ((20, True), (8, False)):
        model = LightGBMForecaster(n_estimators=n, target=TARGET).fit(year_panel)
        registry.publish(
            "burglary",
            model,
            spec=spec,
            data={"timezone": TIMEZONE},
            backtest=BACKTEST,
            promote=promote,
        )
    store = key_store(root)
    keys = [store.create(n, [s])[1] for n, s in (("r", "forecasts:read"), ("w", "events:write"))]
    admin = store.create("a", ["models:admin"])[1]
    return Env(root, _settings(root), keys[0], keys[1], admin)


@pytest.fixture(scope="module")
def client(env: Env) -> Iterator[TestClient]:
    with TestClient(create_app(env.settings)) as c:
        yield c


@pytest.fixture
def fresh(env: Env, tmp_path: Path) -> Iterator[tuple[TestClient, Env]]:
    """A client over a private copy of the environment (for promote)."""
    for part in ("models", "state"):
        shutil.copytree(env.root / part, tmp_path / part)
    shutil.copy(env.root / "events.parquet", tmp_path / "events.parquet")
    copy = Env(tmp_path, _settings(tmp_path), env.read, env.write, env.admin)
    with TestClient(create_app(copy.settings)) as c:
        yield c, copy


def _state(client: TestClient) -> ServiceState:
    state: ServiceState = client.app.state.service  # type: ignore[attr-defined]
    return state


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _snapshot(client: TestClient):  # type: ignore[no-untyped-def]
    return _state(client).served["burglary"].snapshot


# -- health -------------------------------------------------------------------------------
def test_readyz_is_503_with_an_empty_registry_and_healthz_is_200(tmp_path: Path) -> None:
    key = key_store(tmp_path).create("m", ["metrics:read"])[1]
    with TestClient(create_app(_settings(tmp_path))) as c:
        public = c.get("/readyz")
        ready = c.get("/readyz", headers=_auth(key))
        assert c.get("/healthz").json() == {"status": "ok"}
        assert c.get(LATEST, headers=_auth("hs_x_y")).status_code == 401
    assert (public.status_code, ready.status_code) == (503, 503)
    assert ready.headers["content-type"] == "application/problem+json"
    assert public.json()["detail"] == "no model is being served" and "failed" not in public.json()
    assert "registry is empty" in ready.json()["detail"]


def test_readyz_shows_the_served_versions_only_with_a_key(client: TestClient, env: Env) -> None:
    public = client.get("/readyz")
    assert public.status_code == 200 and public.json() == {"status": "ready"}
    assert client.get("/readyz", headers=_auth("hs_x_nosuchkey")).status_code == 401
    for key in (env.read, env.admin):  # any scope
        body = client.get("/readyz", headers=_auth(key)).json()
        assert body["status"] == "ready" and body["failed"] == {}
        [model] = body["models"]
        assert (model["name"], model["version"], model["as_of"]) == (
            "burglary",
            "v1",
            "2024-01-01",
        )
        assert model["etag"] == _snapshot(client).etag


def test_a_model_that_cannot_load_is_skipped_and_named(env: Env, tmp_path: Path) -> None:
    shutil.copytree(env.root / "models", tmp_path / "models")
    settings = _settings(tmp_path)  # no events file in tmp_path
    key = key_store(tmp_path).create("r", ["forecasts:read"])[1]
    with TestClient(create_app(settings)) as c:
        public = c.get("/readyz")
        ready = c.get("/readyz", headers=_auth(key))
    assert ready.status_code == 503
    assert ready.json()["failed"]["burglary"].startswith("InputFileError")
    assert "burglary" not in public.text and "InputFileError" not in public.text
    assert str(tmp_path) not in ready.text  # server paths are not shown


# -- auth ---------------------------------------------------------------------------------
ROUTES = [
    ("GET", LATEST, "forecasts:read"),
    ("GET", "/v1/forecasts?as_of=2024-01-01", "forecasts:read"),
    ("GET", "/v1/cells/{cell}", "forecasts:read"),
    ("GET", "/v1/models", "forecasts:read"),
    ("GET", "/v1/models/burglary/v1", "forecasts:read"),
    ("POST", "/v1/models/burglary/v1/promote", "models:admin"),
]


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
def test_auth_matrix(client: TestClient, env: Env, method: str, path: str, scope: str) -> None:
    cell = format(int(_snapshot(client).tables[0].cell[0]), "x")
    url = path.format(cell=cell)
    right = env.read if scope == "forecasts:read" else env.admin
    wrong = env.admin if scope == "forecasts:read" else env.read

    none = client.request(method, url)
    assert none.status_code == 401
    assert none.headers["www-authenticate"] == 'Bearer realm="hotspots"'
    bad = client.request(method, url, headers=_auth(right[:-3] + "xyz"))
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    refused = client.request(method, url, headers={"X-API-Key": wrong})
    assert refused.status_code == 403
    assert scope in refused.json()["detail"]
    assert client.request(method, url, headers={"X-API-Key": env.write}).status_code == 403
    assert client.request(method, url, headers=_auth(right)).status_code == 200
    assert client.request(method, url, headers={"X-API-Key": right}).status_code == 200


def test_openapi_documents_auth_and_problems(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    responses = spec["paths"][LATEST]["get"]["responses"]
    assert {"200", "304", "401", "403", "422"} <= set(responses)
    assert "application/problem+json" in responses["401"]["content"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])


# -- bytes, ETags, gzip -------------------------------------------------------------------
def test_json_body_is_the_snapshot_view_bytes(client: TestClient, env: Env) -> None:
    view = _snapshot(client).view(top=10)
    r = client.get(LATEST, params={"top": 10}, headers=_auth(env.read))
    assert r.status_code == 200
    assert r.content == view.bytes
    assert r.headers["etag"] == view.etag == strong_etag(r.content)
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "private, max-age=7"
    assert {"Authorization", "Accept-Encoding"} <= {v.strip() for v in r.headers["vary"].split(",")}
    assert len(json.loads(r.content)["hotspots"]) == 10


def test_default_is_top_100_and_filters_reach_the_view(client: TestClient, env: Env) -> None:
    snapshot = _snapshot(client)
    r = client.get(LATEST, headers=_auth(env.read))
    assert r.content == snapshot.view(top=100).bytes
    table = snapshot.tables[0]
    box = (float(table.lat[:50].min()), float(table.lng[:50].min()))
    box += (float(table.lat[:50].max()), float(table.lng[:50].max()))
    params = {"coverage": 0.05, "bbox": ",".join(map(str, box)), "boundary": "true"}
    r = client.get(LATEST, params=params, headers=_auth(env.read))
    assert r.content == snapshot.view(coverage=0.05, bbox=box, boundary=True).bytes
    spots = json.loads(r.content)["hotspots"]
    assert len(spots) == 38  # flagged_count(769, 0.05) and at least 50 cells in the box
    # centroids are written to 6 decimals, so a cell on the box's edge may round just outside
    assert all(box[0] - 1e-6 <= s["centroid"]["lat"] <= box[2] + 1e-6 for s in spots)
    assert "boundary" in spots[0]
    r = client.get(LATEST, params={"area_km2": 5.0}, headers=_auth(env.read))
    assert r.content == snapshot.view(area_km2=5.0).bytes


def test_geojson_media_type_and_body(client: TestClient, env: Env) -> None:
    r = client.get(LATEST, params={"top": 5, "format": "geojson"}, headers=_auth(env.read))
    assert r.headers["content-type"] == "application/geo+json"
    assert r.content == _snapshot(client).view(top=5, fmt="geojson").bytes
    doc = json.loads(r.content)
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 5


def test_etag_and_304(client: TestClient, env: Env) -> None:
    first = client.get(LATEST, params={"top": 25}, headers=_auth(env.read))
    etag = first.headers["etag"]
    for match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(
            LATEST, params={"top": 25}, headers={**_auth(env.read), "If-None-Match": match}
        )
        assert again.status_code == 304, match
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "private, max-age=7"
    other = client.get(
        LATEST, params={"top": 26}, headers={**_auth(env.read), "If-None-Match": etag}
    )
    assert other.status_code == 200 and other.headers["etag"] != etag


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [("gzip", True), ("br, gzip;q=0.5", True), ("gzip;q=0", False), ("identity", False)],
)
def test_gzip_negotiation(client: TestClient, env: Env, accept: str, gzipped: bool) -> None:
    view = _snapshot(client).view(top=50)
    with client.stream(
        "GET", LATEST, params={"top": 50}, headers={**_auth(env.read), "Accept-Encoding": accept}
    ) as r:
        raw = b"".join(r.iter_raw())
    assert (r.headers.get("content-encoding") == "gzip") is gzipped
    assert raw == (view.gzip_bytes if gzipped else view.bytes)
    assert gzip.decompress(view.gzip_bytes) == view.bytes
    assert r.headers["etag"] == view.etag  # one entity, whatever the coding


# -- problems -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("top=0", "'top'"),
        ("top=abc", "'top'"),
        ("tpo=5", "'tpo'; did you mean 'top'?"),
        ("top=5&coverage=0.1", "top=5 and coverage=0.1"),
        ("top=100000", "top must be between 1 and 769"),
        ("coverage=2", "'coverage'"),
        ("bbox=1,2,3", "bbox"),
        ("format=csv", "'format'"),
        ("horizon=5", "horizon must be between 1 and 4"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    client: TestClient, env: Env, query: str, named: str
) -> None:
    r = client.get(f"{LATEST}?{query}", headers=_auth(env.read))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 422 and named in body["detail"]
    assert body["request_id"] == r.headers["x-request-id"]


def test_unknown_model_is_404(client: TestClient, env: Env) -> None:
    r = client.get(LATEST, params={"model": "robbery"}, headers=_auth(env.read))
    assert r.status_code == 404
    assert r.json()["detail"] == "no served model named 'robbery'; models served: burglary"


def test_relative_folders_are_hidden_as_paths_not_as_words(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `hotspots serve` in its folder with the defaults (models, var): the detail hid the
    # word "models" ("<models> served: burglary") and would hide "var" in any word
    for part in ("models", "state"):
        shutil.copytree(env.root / part, tmp_path / part)
    shutil.copy(env.root / "events.parquet", tmp_path / "events.parquet")
    monkeypatch.chdir(tmp_path)
    relative = env.settings.model_copy(
        update={
            "models_dir": Path("models"),
            "state_dir": Path("state"),
            "events_path": Path("events.parquet"),
        }
    )
    with TestClient(create_app(relative)) as c:
        r = c.get(LATEST, params={"model": "robbery"}, headers=_auth(env.read))
        assert r.json()["detail"] == "no served model named 'robbery'; models served: burglary"
    request = SimpleNamespace(app=create_app(relative))  # what scrub reads of a request
    said = (
        f"snapshot state/snapshots/b/x.json.gz, {tmp_path / 'models'}/burglary/v1/a.json and "
        "models/burglary/v2: invariant, models served from events.parquet"
    )
    assert scrub(request, said) == (  # type: ignore[arg-type]
        "snapshot <state>/snapshots/b/x.json.gz, <models>/burglary/v1/a.json and "
        "<models>/burglary/v2: invariant, models served from <events>"
    )


def test_unexpected_error_is_500_problem_without_traceback(env: Env, tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app) as c:
        r = c.get("/boom", headers={"X-Request-ID": "req-500"})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "secret" not in r.text and "Traceback" not in r.text
    assert r.json()["request_id"] == r.headers["x-request-id"]
    [record] = list(audit.read(tmp_path / "state" / "audit.jsonl", route="/boom"))
    assert (record.status, record.request_id) == (500, r.headers["x-request-id"])
    assert record.client_request_id == "req-500"


# -- cells --------------------------------------------------------------------------------
def test_cell_detail_matches_snapshot_and_history(
    client: TestClient, env: Env, year_panel: Panel
) -> None:
    table = _snapshot(client).tables[0]
    cell = int(table.cell[2])
    r = client.get(f"/v1/cells/{cell:x}", headers=_auth(env.read))
    assert r.status_code == 200
    body = r.json()
    fc, *later = body["forecast"]
    assert len(later) == 3  # four periods are published by default
    assert (fc["rank"], fc["of"]) == (3, 769)
    assert fc["expected_count"] == round(float(table.expected_count[2]), 4)
    assert fc["interval"] == {"low": int(table.low[2]), "high": int(table.high[2]), "level": 0.8}
    assert fc["drivers"] == list(table.drivers[2])
    col = int(np.searchsorted(year_panel.cells, np.uint64(cell)))
    expected = year_panel.of("Burglary Residential")[-4:, col].tolist()
    assert body["history"] == {
        "periods": ["2023-12-04", "2023-12-11", "2023-12-18", "2023-12-25"],
        "counts": expected,
    }
    assert body["suppressed"] is False


def test_suppressed_cell_withholds_its_history(client: TestClient, env: Env) -> None:
    table = _snapshot(client).tables[0]
    r = int(np.flatnonzero(table.suppressed)[0])
    assert table.events[r] < 2
    body = client.get(f"/v1/cells/{int(table.cell[r]):x}", headers=_auth(env.read)).json()
    assert body["suppressed"] is True and body["history"] is None
    assert body["forecast"][0]["rank"] == r + 1


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("not-a-cell", "is not a valid H3 cell id"),
        (h3.latlng_to_cell(0.0, 0.0, 8), "is outside the study area of model 'burglary'"),
        (h3.latlng_to_cell(40.0, -99.9, 9), "has H3 resolution 9"),
    ],
)
def test_cell_not_found(client: TestClient, env: Env, cell: str, why: str) -> None:
    r = client.get(f"/v1/cells/{cell}", headers=_auth(env.read))
    assert r.status_code == 404
    assert why in r.json()["detail"]


def test_cell_detail_understands_a_decimal_id(client: TestClient, env: Env) -> None:
    cell = int(_snapshot(client).tables[0].cell[2])
    by_hex = client.get(f"/v1/cells/{cell:x}", headers=_auth(env.read))
    for text in (str(cell), f"0x{cell:X}"):
        r = client.get(f"/v1/cells/{text}", headers=_auth(env.read))
        assert r.status_code == 200, r.text
        assert r.json() == by_hex.json() and r.json()["cell"] == f"{cell:x}"


@pytest.mark.parametrize(
    "text", ["-1", "617733151052627967", "ffffffffffffffffff", "9" * 23, "a" * 20]
)
def test_cell_ids_h3_overflows_on_are_404_not_500(client: TestClient, env: Env, text: str) -> None:
    r = client.get(f"/v1/cells/{text}", headers=_auth(env.read))
    assert r.status_code == 404, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert f"{text!r} is not a valid H3 cell id" in r.json()["detail"]


def _cell_texts() -> st.SearchStrategy[str | int]:
    """Any text, any integer, any 64-bit hexadecimal, or (an int) the i-th study cell."""
    return st.one_of(
        st.text(max_size=40),
        st.integers().map(str),
        st.integers(0, 2**64 - 1).map(lambda v: f"{v:x}"),
        st.integers(0, 701),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(given_text=_cell_texts())
def test_cell_route_answers_any_text_or_integer_with_200_or_404(
    client: TestClient, env: Env, given_text: str | int
) -> None:
    """Never a 5xx: a served cell (hexadecimal or decimal) is 200, anything else 404."""
    cells = _state(client).served["burglary"].cells
    text = given_text
    if isinstance(given_text, int):  # a study cell, half of them in decimal
        value = int(cells[given_text])
        text = str(value) if given_text % 2 else format(value, "x")
    assert isinstance(text, str)
    r = client.get("/v1/cells/" + quote(text, safe=""), headers=_auth(env.read))
    assert r.status_code in (200, 404), (text, r.status_code, r.text)
    if r.status_code == 200:
        assert int(r.json()["cell"], 16) in set(cells.tolist())
    else:
        assert r.headers["content-type"] == "application/problem+json"


# -- replay -------------------------------------------------------------------------------
def test_replay_serves_the_stored_bytes(client: TestClient, env: Env) -> None:
    snapshot = _snapshot(client)
    r = client.get("/v1/forecasts", params={"as_of": "2024-01-01"}, headers=_auth(env.read))
    assert r.status_code == 200
    assert r.content == snapshot.json_bytes
    assert r.headers["etag"] == snapshot.etag
    again = client.get(
        "/v1/forecasts",
        params={"as_of": "2024-01-01", "model": "burglary"},
        headers={**_auth(env.read), "If-None-Match": snapshot.etag},
    )
    assert again.status_code == 304
    missing = client.get("/v1/forecasts", params={"as_of": "2020-01-06"}, headers=_auth(env.read))
    assert missing.status_code == 404
    assert str(env.root) not in missing.text
    bad = client.get("/v1/forecasts", params={"as_of": "soon"}, headers=_auth(env.read))
    assert bad.status_code == 422 and "as_of" in bad.json()["detail"]


def test_restart_serves_the_same_etag(client: TestClient, env: Env) -> None:
    with TestClient(create_app(env.settings)) as again:
        assert _snapshot(again).etag == _snapshot(client).etag


# -- models -------------------------------------------------------------------------------
def test_models_list_and_version(client: TestClient, env: Env) -> None:
    [m] = client.get("/v1/models", headers=_auth(env.read)).json()["models"]
    assert (m["name"], m["current"], m["served"], m["versions"]) == (
        "burglary",
        "v1",
        "v1",
        ["v1", "v2"],
    )
    v2 = client.get("/v1/models/burglary/2", headers=_auth(env.read)).json()
    assert (v2["version"], v2["current"], v2["served"]) == ("v2", False, False)
    assert v2["params"]["n_estimators"] == 8
    assert v2["backtest"]["table"] == BACKTEST["table"]
    assert v2["card"].startswith("# Model card: burglary v2")
    missing = client.get("/v1/models/burglary/v9", headers=_auth(env.read))
    assert missing.status_code == 404 and "has no version v9" in missing.json()["detail"]


def test_promote_swaps_the_served_version(fresh: tuple[TestClient, Env]) -> None:
    client, env = fresh
    before = client.get(LATEST, headers=_auth(env.read))
    r = client.post("/v1/models/burglary/v2/promote", headers=_auth(env.admin))
    assert r.status_code == 200
    assert (r.json()["version"], r.json()["previous"]) == ("v2", "v1")
    after = client.get(LATEST, headers=_auth(env.read))
    assert json.loads(before.content)["model"]["version"] == "v1"
    assert json.loads(after.content)["model"]["version"] == "v2"
    assert after.headers["etag"] != before.headers["etag"]
    assert Registry(env.settings.models_dir).current("burglary") == "v2"
    assert client.get("/readyz", headers=_auth(env.read)).json()["models"][0]["version"] == "v2"


def test_swap_under_load_never_mixes_versions(fresh: tuple[TestClient, Env]) -> None:
    client, env = fresh
    results: list[tuple[int, str, str, bytes]] = []
    lock, done = threading.Lock(), threading.Event()

    def poll() -> None:  # ~200 requests each, and 20 more once the promote has returned
        mine, after = [], 0
        while len(mine) < 200 or after < 20:
            r = client.get(LATEST, params={"top": 10}, headers=_auth(env.read))
            version = json.loads(r.content)["model"]["version"] if r.status_code == 200 else ""
            mine.append((r.status_code, r.headers.get("etag", ""), version, r.content))
            after += done.is_set()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for t in threads:
        t.start()
    promoted = client.post("/v1/models/burglary/v2/promote", headers=_auth(env.admin))
    done.set()
    for t in threads:
        t.join()
    assert promoted.status_code == 200
    assert len(results) >= 800
    assert {status for status, *_ in results} == {200}
    assert {version for _, _, version, _ in results} == {"v1", "v2"}
    by_etag: dict[str, set[str]] = {}
    for _, etag, version, body in results:
        assert etag == strong_etag(body)
        by_etag.setdefault(etag, set()).add(version)
    assert all(len(v) == 1 for v in by_etag.values())
    last = client.get(LATEST, params={"top": 10}, headers=_auth(env.read))
    assert json.loads(last.content)["model"]["version"] == "v2"


# -- audit --------------------------------------------------------------------------------
def test_audit_has_one_record_per_request_and_no_key(fresh: tuple[TestClient, Env]) -> None:
    client, env = fresh
    calls = [
        ("GET", LATEST + "?top=5", env.read, 200),
        ("GET", LATEST, None, 401),
        ("GET", LATEST, env.admin, 403),
        ("GET", "/v1/cells/zzz", env.read, 404),
        ("GET", LATEST + "?tpo=5", env.read, 422),
        ("GET", "/healthz", None, 200),
    ]
    sent = []
    for i, (method, url, key, status) in enumerate(calls):
        headers = {"X-Request-ID": f"audit-{i}"} | ({} if key is None else _auth(key))
        r = client.request(method, url, headers=headers)
        assert r.status_code == status
        sent.append(r)
    path = env.settings.state_dir / "audit.jsonl"
    records = [r for r in audit.read(path) if (r.client_request_id or "").startswith("audit-")]
    assert [r.request_id for r in records] == [r.headers["x-request-id"] for r in sent]
    assert [r.status for r in records] == [c[3] for c in calls]
    assert [r.route for r in records][:4] == [LATEST, LATEST, LATEST, "/v1/cells/{cell}"]
    read_id = KeyStore(env.settings.state_dir / "keys.json").authenticate(env.read)
    assert read_id is not None
    assert records[0].key_id == read_id.id and records[1].key_id is None
    assert records[2].key_id is not None and records[2].key_id != read_id.id
    assert records[0].model == "burglary/v1"
    assert records[0].etag == sent[0].headers["etag"]
    assert records[0].params == {"top": "5"} and records[4].params == {"tpo": "5"}
    text = "".join(f.read_text(encoding="utf-8") for f, _ in audit.log_files(path))
    assert text.count("\n") >= len(calls)
    for key in (env.read, env.admin, env.write):
        parts = split_key(key)
        assert parts is not None and key not in text and parts[1] not in text


def test_the_request_id_is_always_ours_and_the_clients_is_kept_apart(
    fresh: tuple[TestClient, Env],
) -> None:
    """A client's X-Request-ID is neither trusted nor echoed as ours (forgeable, not unique):
    ours is unique per request; theirs is kept, sanitised and cut to 64 characters."""
    client, env = fresh
    sent = ["same-id", "same-id", "bad id with spaces\t<script>", "x" * 500, ""]
    answers = [client.get("/healthz", headers={"X-Request-ID": h}) for h in sent]
    ours = [r.headers["x-request-id"] for r in answers]
    assert len(set(ours)) == len(sent) and all(len(i) == 32 for i in ours)
    assert "same-id" not in ours
    path = env.settings.state_dir / "audit.jsonl"
    records = {r.request_id: r for r in audit.read(path, route="/healthz")}
    kept = [records[i].client_request_id for i in ours]
    assert kept == ["same-id", "same-id", "badidwithspacesscript", "x" * 64, None]


def test_no_key_reaches_the_audit_or_the_logs_by_request_id_or_parameter_name(
    fresh: tuple[TestClient, Env], caplog: pytest.LogCaptureFixture
) -> None:
    client, env = fresh
    key = env.read
    with caplog.at_level(logging.DEBUG):
        by_id = client.get(LATEST, headers={**_auth(key), "X-Request-ID": key})
        by_name = client.get(f"{LATEST}?{key}=1", headers=_auth(key))
        by_value = client.get(LATEST, params={"top": key}, headers=_auth(key))
        anonymous = client.get(f"/healthz?{key}=1", headers={"X-Request-ID": f"id:{key}"})
    assert [r.status_code for r in (by_id, by_name, by_value, anonymous)] == [200, 422, 422, 422]
    path = env.settings.state_dir / "audit.jsonl"
    text = "".join(f.read_text(encoding="utf-8") for f, _ in audit.log_files(path))
    served = [r for r in caplog.records if r.name.startswith("hotspots")]  # not the client's
    assert len(served) >= 3  # the three refusals are logged at INFO
    logs = "\n".join(JsonFormatter().format(r) for r in served)
    parts = split_key(key)
    assert parts is not None
    for where in (text, logs):
        assert key not in where and parts[1] not in where
    records = {r.request_id: r for r in audit.read(path)}
    assert records[by_id.headers["x-request-id"]].client_request_id == audit.REDACTED
    assert records[by_name.headers["x-request-id"]].params == {audit.REDACTED: "1"}
    assert records[by_value.headers["x-request-id"]].params == {"top": audit.REDACTED}
    assert records[anonymous.headers["x-request-id"]].client_request_id == audit.REDACTED


# -- refusals in the right order, duplicated parameters, tampered versions ----------------
def _authenticated_operations(client: TestClient) -> list[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), path)
        for path, ops in paths.items()
        for method, op in ops.items()
        if op.get("security")
    ]


def test_without_a_key_every_route_is_401_before_any_parameter_check(client: TestClient) -> None:
    operations = _authenticated_operations(client)
    assert len(operations) >= 10
    for method, path in operations:
        url = path.replace("{cell}", "zzz").replace("{name}", "bad!").replace("{version}", "x")
        for query in ("?unknown=1", "?top=0&top=0", ""):
            r = client.request(method, url + query)
            assert r.status_code == 401, (method, url + query, r.text)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (f"{LATEST}?top=5&top=50", "top"),  # not the fast path: it hands repeats on
        (f"{LATEST}?format=json&top=5&format=geojson", "format"),
        ("/v1/cells/zzz?model=burglary&model=robbery", "model"),
        ("/healthz?a=1&a=2", "a"),
    ],
)
def test_a_query_parameter_given_twice_is_422_naming_it(
    client: TestClient, env: Env, url: str, name: str
) -> None:
    r = client.get(url, headers=_auth(env.read))
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == f"query parameter {name!r} is given 2 times; give it once"


def test_a_tampered_version_is_409_naming_the_file_and_nothing_changes(
    fresh: tuple[TestClient, Env],
) -> None:
    client, env = fresh
    folder = env.settings.models_dir / "burglary" / "v2"
    manifest = json.loads((folder / "manifest.json").read_text())
    victim = sorted(manifest["artifacts"])[0]
    (folder / victim).write_bytes((folder / victim).read_bytes() + b"tampered")
    before = client.get(LATEST, headers=_auth(env.read))
    r = client.post("/v1/models/burglary/v2/promote", headers=_auth(env.admin))
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    detail = r.json()["detail"]
    assert f"{victim} sha256 mismatch" in detail and "burglary/v1 is still served" in detail
    assert str(env.root) not in r.text
    assert Registry(env.settings.models_dir).current("burglary") == "v1"
    after = client.get(LATEST, headers=_auth(env.read))
    assert after.headers["etag"] == before.headers["etag"]
    (folder / "manifest.json").write_text("{not json")
    described = client.get("/v1/models/burglary/v2", headers=_auth(env.read))
    assert described.status_code == 409, described.text
    assert "manifest.json is not valid JSON" in described.json()["detail"]


def test_the_api_serves_four_periods_by_default_like_the_demo_forecast(
    client: TestClient, env: Env
) -> None:
    periods = []
    for h in (1, 2, 3, 4):
        r = client.get(LATEST, params={"top": 3, "horizon": h}, headers=_auth(env.read))
        assert r.status_code == 200, r.text
        periods.append(r.json()["period"]["start"])
    assert periods == ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]
    over = client.get(LATEST, params={"horizon": 5}, headers=_auth(env.read))
    assert over.status_code == 422
    assert "HOTSPOTS_FORECAST_HORIZON" in over.json()["detail"]
