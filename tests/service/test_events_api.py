"""POST /v1/events and POST /v1/forecasts/refresh: validation like the CLI ingest, durable
batches, retries that do not double count, republishing, and a restart that keeps them."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from served_env import TARGET, Env, settings_of

from hotspots.config import Settings
from hotspots.errors import ModelNotFoundError
from hotspots.ingest import read_events, write_events
from hotspots.service.app import create_app
from hotspots.synthetic import TIMEZONE

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

HEADER = "incident_id,occurred,latitude,longitude,offence,origin"
CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def env(env_copy: Env) -> Env:
    return env_copy


@pytest.fixture
def client(env: Env) -> Iterator[TestClient]:
    with TestClient(create_app(settings_of(env.root))) as c:
        yield c


def auth(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


def rows(env: Env, n: int, day: str = "2024-01-03", prefix: str = "NEW", offence: str = TARGET):
    """``n`` CSV lines of ``offence`` at the busiest burglary cell's centre on ``day``."""
    return [
        f"{prefix}-{i},{day} 1{i % 10}:00:00,{env.lat:.6f},{env.lng:.6f},{offence},call"
        for i in range(n)
    ]


def csv_body(lines: list[str]) -> bytes:
    return "\n".join([HEADER, *lines, ""]).encode()


def batches(env: Env) -> list[Path]:
    return sorted((env.root / "state" / "events").glob("batch-*.parquet"))


# -- posting ------------------------------------------------------------------------------
def test_a_csv_post_is_validated_like_ingest_and_stored_before_the_answer(
    client: TestClient, env: Env
) -> None:
    bad = [
        f"BAD-1,2024-01-03 10:00:00,abc,{env.lng},{TARGET},call",  # bad coordinates
        f"BAD-2,2024-01-03 10:00:00,51.5,-0.12,{TARGET},call",  # London: outside the city
    ]
    body = csv_body(rows(env, 40) + bad)
    answer = client.post("/v1/events", content=body, headers=auth(env.write, **CSV))
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert (got["stored"], got["already_stored"]) == (40, 0)
    assert got["report"]["rows_read"] == 42
    assert got["report"]["rejected"] == {"bad_coordinates": 1, "outside_area": 1}
    assert got["report"]["source"] == "the posted CSV"
    assert got["first_event"].startswith("2024-01-03T10:00:00")
    assert got["republish"] == "POST /v1/forecasts/refresh"
    [batch] = batches(env)
    assert got["batch"] in batch.name
    stored, meta = read_events(batch)
    assert sorted(stored["event_id"]) == sorted(f"NEW-{i}" for i in range(40))
    assert set(stored["category"]) == {TARGET}
    assert str(stored["occurred_at"].dt.tz) == TIMEZONE
    assert meta["key_id"] is not None and meta["source"] == "POST /v1/events"


def test_a_retried_post_stores_nothing_twice(client: TestClient, env: Env) -> None:
    body = csv_body(rows(env, 5))
    first = client.post("/v1/events", content=body, headers=auth(env.write, **CSV)).json()
    again = client.post("/v1/events", content=body, headers=auth(env.write, **CSV)).json()
    assert (first["stored"], first["already_stored"]) == (5, 0)
    assert (again["stored"], again["already_stored"], again["batch"]) == (0, 5, None)
    assert len(batches(env)) == 1


def test_ids_already_in_the_served_events_are_not_stored_again(
    client: TestClient, env: Env, year_city_events: pd.DataFrame
) -> None:
    old = str(year_city_events["event_id"].iloc[0])
    lines = [f"{old},2023-06-01 10:00:00,{env.lat},{env.lng},{TARGET},call", *rows(env, 2)]
    got = client.post("/v1/events", content=csv_body(lines), headers=auth(env.write, **CSV))
    assert (got.json()["stored"], got.json()["already_stored"]) == (2, 1)


def test_json_lines_are_read_like_csv(client: TestClient, env: Env) -> None:
    lines = [
        {
            "incident_id": f"J-{i}",
            "occurred": "2024-01-04 09:30:00",
            "latitude": env.lat,
            "longitude": env.lng,
            "offence": TARGET,
            "origin": "call",
        }
        for i in range(3)
    ]
    body = "\n".join(json.dumps(x) for x in lines).encode()
    got = client.post(
        "/v1/events",
        content=body,
        headers=auth(env.write, **{"Content-Type": "application/x-ndjson"}),
    )
    assert got.status_code == 200, got.text
    assert got.json()["stored"] == 3
    assert sorted(read_events(batches(env)[0])[0]["event_id"]) == ["J-0", "J-1", "J-2"]


def test_numeric_json_ids_are_the_csv_ids_of_the_same_incidents(
    client: TestClient, env: Env
) -> None:
    """An id posted as a JSON number is the text a CSV gives (17, not 17.0), so the same
    incident posted again as CSV, or as text, is recognised; a field that is a number in one
    line and text in the next is read too (pyarrow's type inference refused that)."""
    lines = [
        {"incident_id": 17, "occurred": "2024-01-04 09:30:00", "latitude": env.lat,
         "longitude": env.lng, "offence": TARGET, "origin": "call"},
        {"incident_id": "18", "occurred": "2024-01-04 10:30:00", "latitude": str(env.lat),
         "longitude": env.lng, "offence": TARGET, "origin": "call"},
    ]  # fmt: skip
    body = "\n".join(json.dumps(x) for x in lines).encode()
    jsonl = auth(env.write, **{"Content-Type": "application/x-ndjson"})
    got = client.post("/v1/events", content=body, headers=jsonl)
    assert got.status_code == 200, got.text
    assert sorted(read_events(batches(env)[0])[0]["event_id"]) == ["17", "18"]
    again = [f"17,2024-01-04 09:30:00,{env.lat},{env.lng},{TARGET},call"]
    got = client.post("/v1/events", content=csv_body(again), headers=auth(env.write, **CSV))
    assert (got.json()["stored"], got.json()["already_stored"]) == (0, 1)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        (b"a,b\n1,2\n", "text/plain", 415, "Content-Type 'text/plain' is not read here"),
        (b"  \n", "text/csv", 422, "the request body is empty"),
        (b'{"a": {"b": 1}}\n', "application/x-ndjson", 422, "fields must be plain values"),
        (b"{not json\n", "application/x-ndjson", 422, "the body is not JSON lines"),
        (b"x,y\n1,2\n", "text/csv", 422, "not found in the posted CSV"),
        (b'{"x": 1, "y": 2}\n', "application/x-ndjson", 422, "not found in the posted JSON lines"),
        (b"x,y\n1,2\n", "text/csv", 422, "read with its columns: time=occurred,lat=latitude"),
    ],
)
def test_unreadable_posts_are_problems_and_store_nothing(
    client: TestClient, env: Env, body: bytes, content_type: str, status: int, detail: str
) -> None:
    got = client.post(
        "/v1/events", content=body, headers=auth(env.write, **{"Content-Type": content_type})
    )
    assert got.status_code == status, got.text
    assert got.headers["content-type"] == "application/problem+json"
    assert detail in got.json()["detail"]
    assert batches(env) == []
    assert list((env.root / "state" / "events" / ".incoming").glob("*")) == []
    assert ".incoming" not in got.json()["detail"]
    assert "request-body" not in got.json()["detail"]  # the client never named a file


def test_too_many_rejects_is_422_with_the_report_and_stores_nothing(
    client: TestClient, env: Env
) -> None:
    lines = rows(env, 3) + [f"B-{i},2024-01-03 10:00:00,,,{TARGET},call" for i in range(3)]
    got = client.post("/v1/events", content=csv_body(lines), headers=auth(env.write, **CSV))
    assert got.status_code == 422
    assert got.json()["report"]["rejected"] == {"missing_coordinates": 3}
    assert got.json()["request_id"] == got.headers["x-request-id"]
    assert batches(env) == []
    assert got.json()["report"]["source"] == "the posted CSV"  # as the detail names it
    assert "request-body" not in got.text  # the client never named a file


def test_posting_needs_the_write_scope(client: TestClient, env: Env) -> None:
    body = csv_body(rows(env, 1))
    assert client.post("/v1/events", content=body, headers=CSV).status_code == 401
    assert client.post("/v1/events", content=body, headers=auth(env.read, **CSV)).status_code == 403
    assert client.post("/v1/forecasts/refresh", headers=auth(env.read)).status_code == 403
    assert batches(env) == []


# -- republishing -------------------------------------------------------------------------
def _cell(client: TestClient, env: Env) -> dict:  # type: ignore[type-arg]
    got = client.get(f"/v1/cells/{env.cell}", headers=auth(env.read))
    assert got.status_code == 200, got.text
    return got.json()  # type: ignore[no-any-return]


def test_refresh_republishes_with_the_posted_week(client: TestClient, env: Env) -> None:
    before = _cell(client, env)
    etag = client.get("/v1/forecasts/latest", headers=auth(env.read)).headers["etag"]
    assert before["as_of"].startswith("2024-01-01")
    # five burglaries in the busiest cell in the week of 2024-01-01, and a robbery on its
    # Sunday, so that the week is whole
    lines = rows(env, 5) + rows(env, 1, day="2024-01-07", prefix="SUN", offence="Robbery")
    client.post("/v1/events", content=csv_body(lines), headers=auth(env.write, **CSV))
    assert _cell(client, env)["as_of"] == before["as_of"]  # nothing changes until a refresh
    done = client.post("/v1/forecasts/refresh", headers=auth(env.write))
    assert done.status_code == 200, done.text
    [model] = done.json()["models"]
    assert (model["name"], model["version"]) == ("burglary", "v1")
    assert model["as_of"].startswith("2024-01-08") and done.json()["failed"] == {}
    after = _cell(client, env)
    assert after["as_of"].startswith("2024-01-08")
    assert after["history"]["periods"][-1].startswith("2024-01-01")
    assert after["history"]["counts"][-1] == 5
    assert after["history"]["counts"][:-1] == before["history"]["counts"][1:]
    fresh = client.get("/v1/forecasts/latest", headers=auth(env.read))
    assert fresh.headers["etag"] != etag and fresh.json()["model"]["version"] == "v1"


def test_a_restart_serves_the_posted_events_without_a_refresh(env: Env) -> None:
    lines = rows(env, 5) + rows(env, 1, day="2024-01-07", prefix="SUN", offence="Robbery")
    with TestClient(create_app(settings_of(env.root))) as c:
        assert (
            c.post("/v1/events", content=csv_body(lines), headers=auth(env.write, **CSV)).json()[
                "stored"
            ]
            == 6
        )
    with TestClient(create_app(settings_of(env.root))) as c:
        cell = _cell(c, env)
    assert cell["as_of"].startswith("2024-01-08")
    assert cell["history"]["counts"][-1] == 5


def test_events_can_be_served_from_posts_alone(base_env: Env, tmp_path: Path) -> None:
    """No events file: the posted batches are the events (here: the base year re-posted)."""
    shutil.copytree(base_env.root / "models", tmp_path / "models")
    shutil.copytree(base_env.root / "state", tmp_path / "state")
    events, _ = read_events(base_env.root / "events.parquet")
    buf = io.StringIO()
    pd.DataFrame(
        {
            "incident_id": events["event_id"],
            "occurred": events["occurred_at"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "latitude": events["lat"],
            "longitude": events["lng"],
            "offence": events["category"],
            "origin": events["origin"],
        }
    ).to_csv(buf, index=False)
    settings = Settings(models_dir=tmp_path / "models", state_dir=tmp_path / "state")
    with TestClient(create_app(settings)) as c:
        assert c.get("/readyz").status_code == 503  # nothing to forecast from yet
        got = c.post(
            "/v1/events", content=buf.getvalue().encode(), headers=auth(base_env.write, **CSV)
        )
        assert got.json().get("stored") == len(events), got.text
        assert c.get("/readyz").status_code == 503  # until republished
        done = c.post("/v1/forecasts/refresh", headers=auth(base_env.write))
        assert done.status_code == 200, done.text
        assert done.json()["failed"] == {}
        assert c.get("/readyz").status_code == 200
        assert _cell(c, base_env)["as_of"].startswith("2024-01-01")


def test_a_schedule_republishes_posted_events_without_a_request(env: Env) -> None:
    lines = rows(env, 5) + rows(env, 1, day="2024-01-07", prefix="SUN", offence="Robbery")
    with TestClient(create_app(settings_of(env.root, refresh_seconds=1))) as c:
        before = client_as_of = _cell(c, env)["as_of"]
        posted = c.post("/v1/events", content=csv_body(lines), headers=auth(env.write, **CSV))
        assert posted.json()["republish"] == "every 1 s"
        deadline = time.monotonic() + 20
        while client_as_of == before and time.monotonic() < deadline:
            time.sleep(0.2)
            client_as_of = _cell(c, env)["as_of"]
        assert client_as_of.startswith("2024-01-08")
        assert _cell(c, env)["history"]["counts"][-1] == 5


def test_start_removes_what_a_killed_write_left_once_it_is_old(
    env_copy: Env, caplog: pytest.LogCaptureFixture
) -> None:
    events = env_copy.root / "state" / "events"
    old_write = events / ".batch-20240101T000000000000Z-ab.parquet.x1y2.tmp"
    old_body = events / ".incoming" / "tmpk3j4" / "request-body.csv"
    young_write = events / ".batch-20240102T000000000000Z-cd.parquet.z9w8.tmp"
    for path in (old_write, old_body, young_write):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    hour_ago = time.time() - 3700
    for path in (old_write, old_body.parent):
        os.utime(path, (hour_ago, hour_ago))
    with TestClient(create_app(settings_of(env_copy.root))) as c:
        assert c.get("/readyz").status_code == 200
    assert not old_write.exists() and not old_body.parent.exists()
    assert young_write.exists()  # may be another worker's write under way
    assert "removed 2 file(s) a killed process left half-written" in caplog.text


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_post_with_a_year_0001_time_rejects_that_row_only(
    client: TestClient, env: Env, kind: str
) -> None:
    lines = rows(env, 30, prefix="OK")
    old = f"OLD-1,0001-01-01 10:00:00,{env.lat:.6f},{env.lng:.6f},{TARGET},call"
    if kind == "csv":
        body, headers = csv_body([*lines, old]), CSV
    else:
        names = HEADER.split(",")
        records = [dict(zip(names, line.split(","), strict=True)) for line in [*lines, old]]
        body = "\n".join(json.dumps(r) for r in records).encode()
        headers = {"Content-Type": "application/x-ndjson"}
    answer = client.post("/v1/events", content=body, headers=auth(env.write, **headers))
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["stored"] == 30
    assert got["report"]["rejected"] == {"unparseable_time": 1}


def test_a_post_with_no_category_the_model_knows_is_refused(client: TestClient, env: Env) -> None:
    body = csv_body(rows(env, 10, prefix="PARK", offence="Parking"))
    answer = client.post("/v1/events", content=body, headers=auth(env.write, **CSV))
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "any category the model knows" in detail and "'Parking'" in detail
    assert batches(env) == []


def test_a_republish_refuses_events_from_another_place(env: Env) -> None:
    # the check `hotspots forecast` makes: the model is not served from events elsewhere
    events = read_events(env.root / "events.parquet")[0]
    write_events(events.assign(lat=events["lat"] + 5.0), env.root / "events.parquet", {})
    with TestClient(create_app(settings_of(env.root))) as c:
        state = c.app.state.service  # type: ignore[attr-defined]
        assert "burglary" not in state.served
        assert "study area" in state.failures["burglary"]
        # asked for by name (a 404 where another model is served) it says why, not "no
        # served model named 'burglary'" while /v1/models lists it as current
        with pytest.raises(ModelNotFoundError) as err:
            state.pick("burglary")
        assert str(err.value) == (
            "model 'burglary' is in the registry but not served, as its forecast could not be "
            f"published: {state.failures['burglary']}; models served: none"
        )
        assert "DataValidationError: none of the 2,191 target events" in str(err.value)
