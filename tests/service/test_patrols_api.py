"""POST /v1/patrols: validated on the served model's grid, stored durably once per id,
bad rows counted with reasons, names refused, and its own scope."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import h3
import httpx
import pytest
from served_env import Env, key_store, settings_of

from hotspots.feedback.patrol_store import PatrolStore
from hotspots.service.app import create_app

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

HEADER = "id,cells,start,end,unit,tactic"


@pytest.fixture
def client(env_copy: Env) -> Iterator[TestClient]:
    with TestClient(create_app(settings_of(env_copy.root))) as c:
        yield c


@pytest.fixture
def key(env_copy: Env) -> str:
    return key_store(env_copy.root).create("patrol log", ["patrols:write"])[1]


def post(client: TestClient, key: str, body: bytes, kind: str = "text/csv") -> httpx.Response:
    return client.post(
        "/v1/patrols",
        content=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": kind},
    )


def lines(env: Env, n: int, prefix: str = "P") -> list[str]:
    near = h3.grid_ring(env.cell, 1)[0]
    return [
        f"{prefix}-{i},{env.cell} {near},2023-12-0{1 + i % 5} 10:00,2023-12-0{1 + i % 5} 11:00,"
        f"U{i},foot"
        for i in range(n)
    ]


def stored(env: Env) -> PatrolStore:
    return PatrolStore(env.root / "state" / "patrols")


def test_posted_twice_stored_once(client: TestClient, key: str, env_copy: Env) -> None:
    body = "\n".join([HEADER, *lines(env_copy, 4), ""]).encode()
    first = post(client, key, body)
    assert first.status_code == 200, first.text
    got = first.json()
    assert (got["stored"], got["already_stored"], got["report"]["rows_accepted"]) == (4, 0, 4)
    again = post(client, key, body).json()
    assert (again["batch"], again["stored"], again["already_stored"]) == (None, 0, 4)
    store = stored(env_copy)
    assert len(store.batches()) == 1
    patrols = store.read()
    assert sorted(patrols["patrol_id"]) == [f"P-{i}" for i in range(4)]
    assert (patrols["minutes"] == 60.0).all() and (patrols["resolution"] == 8).all()
    assert [len(c) for c in patrols["cells"]] == [2] * 4


def test_bad_rows_are_counted_with_reasons(client: TestClient, key: str, env_copy: Env) -> None:
    good = lines(env_copy, 40)
    bad = [
        f"B-1,{env_copy.cell},2023-12-01 11:00,2023-12-01 10:00,,",
        f"B-2,{env_copy.cell},2023-12-01 10:00,2023-12-01 11:00,Jane Doe,",
    ]
    answer = post(client, key, "\n".join([HEADER, *good, *bad, ""]).encode())
    assert answer.status_code == 200, answer.text
    report = answer.json()["report"]
    assert report["rejected"] == {"end_not_after_start": 1, "bad_unit": 1}
    assert report["rows_read"] == 42 and answer.json()["stored"] == 40


def test_a_name_written_as_the_id_is_rejected_never_stored_nor_echoed(
    client: TestClient, key: str, env_copy: Env
) -> None:
    good = lines(env_copy, 40)
    bad = [f"PC Jane Doe shift 3,{env_copy.cell},2023-12-01 10:00,2023-12-01 11:00,U9,foot"]
    answer = post(client, key, "\n".join([HEADER, *good, *bad, ""]).encode())
    assert answer.status_code == 200, answer.text
    report = answer.json()["report"]
    assert report["rejected"] == {"bad_id": 1} and answer.json()["stored"] == 40
    [example] = report["examples"]["bad_id"]
    assert example["row"] == 41 and example["id"].startswith("(withheld")
    assert "Jane" not in answer.text
    batches = b"".join(path.read_bytes() for path in stored(env_copy).batches())
    assert b"P-39" in batches and b"Jane" not in batches  # the report kept beside: no name


def test_too_many_rejects_store_nothing(client: TestClient, key: str, env_copy: Env) -> None:
    body = "\n".join([HEADER, *lines(env_copy, 2), "X,,2023-12-01 10:00,2023-12-01 11:00,,", ""])
    answer = post(client, key, body.encode())
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["report"]["rejected"] == {"missing_place": 1}
    assert "nothing was stored" in problem["detail"]
    assert stored(env_copy).batches() == []


@pytest.mark.parametrize(
    ("body", "kind", "detail"),
    [
        (f"{HEADER}\n".encode(), "text/csv", "the request body has a header but no data rows"),
        (b"\n", "application/x-ndjson", "the request body is empty: send CSV with a header row, "
         "or JSON lines"),
    ],
    ids=["csv-header", "jsonl-blank"],
)  # fmt: skip
def test_a_log_without_rows_is_refused_and_nothing_stored(
    client: TestClient, key: str, env_copy: Env, body: bytes, kind: str, detail: str
) -> None:
    answer = post(client, key, body, kind)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["detail"] == detail
    assert stored(env_copy).batches() == []


def test_a_name_column_is_refused(client: TestClient, key: str, env_copy: Env) -> None:
    row = json.dumps(
        {"id": "p", "cells": [env_copy.cell], "start": "2023-12-01T10:00",
         "end": "2023-12-01T11:00", "officer_name": "Jane Doe"}
    )  # fmt: skip
    answer = post(client, key, row.encode(), "application/x-ndjson")
    assert answer.status_code == 422
    assert "looks like a person's name" in answer.json()["detail"]
    assert "Jane Doe" not in answer.text
    assert stored(env_copy).batches() == []


def test_patrols_need_their_own_scope(client: TestClient, env_copy: Env) -> None:
    body = "\n".join([HEADER, *lines(env_copy, 1), ""]).encode()
    answer = post(client, env_copy.write, body)  # events:write only
    assert answer.status_code == 403
    assert "patrols:write" in answer.json()["detail"]


def test_a_restarted_service_recognises_stored_ids(
    client: TestClient, key: str, env_copy: Env, tmp_path: Path
) -> None:
    body = "\n".join([HEADER, *lines(env_copy, 3), ""]).encode()
    assert post(client, key, body).json()["stored"] == 3
    with TestClient(create_app(settings_of(env_copy.root))) as restarted:
        again = post(restarted, key, body).json()
    assert (again["stored"], again["already_stored"]) == (0, 3)


def test_an_area_of_the_served_plan_by_as_of_and_rank(
    client: TestClient, key: str, env_copy: Env
) -> None:
    plan = client.get("/v1/plans/latest", headers={"Authorization": f"Bearer {env_copy.read}"})
    assert plan.status_code == 200, plan.text
    area = plan.json()["areas"][1]
    area_id = f"{plan.json()['as_of']}/{area['rank']}"
    body = f"id,area,start,end\nA1,{area_id},2023-12-01 10:00,2023-12-01 11:00\n"
    answer = post(client, key, body.encode())
    assert answer.json()["stored"] == 1, answer.text
    stored_cells = stored(env_copy).read()["cells"].iloc[0]
    assert sorted(stored_cells.tolist()) == sorted(h3.str_to_int(c) for c in area["cells"])
    unknown = post(
        client, key, b"id,area,start,end\nA2,1999-01-04/1,2023-12-01 10:00,2023-12-01 11:00\n"
    )
    assert unknown.status_code == 422  # one row, rejected: over the ceiling
    assert unknown.json()["report"]["rejected"] == {"unknown_area": 1}


def test_a_log_naming_last_weeks_plan_is_read_after_the_next_publish(
    client: TestClient, key: str, env_copy: Env
) -> None:
    """A week's log (or its retry) posted once the next week's plan is served names the plan
    the week was patrolled on: the service recorded it, so its areas are still known."""
    read = {"Authorization": f"Bearer {env_copy.read}"}
    plan = client.get("/v1/plans/latest", headers=read).json()
    week = plan["as_of"][:10]
    log = f"id,area,start,end\nW1,{week}/1,2024-01-02 10:00,2024-01-02 11:00\n".encode()
    assert post(client, key, log).json()["stored"] == 1
    events = "incident_id,occurred,latitude,longitude,offence,origin\n" + "".join(
        f"E{i},2024-01-0{3 + 4 * i} 10:00:00,{env_copy.lat:.6f},{env_copy.lng:.6f},"
        "Burglary Residential,call\n"
        for i in range(2)  # the 3rd and a Sunday, the 7th: the week is whole
    )
    write = {"Authorization": f"Bearer {env_copy.write}", "Content-Type": "text/csv"}
    assert client.post("/v1/events", content=events.encode(), headers=write).status_code == 200
    assert client.post("/v1/forecasts/refresh", headers=write).status_code == 200
    assert client.get("/v1/plans/latest", headers=read).json()["as_of"][:10] != week
    retry = post(client, key, log)
    assert retry.status_code == 200, retry.text
    assert (retry.json()["stored"], retry.json()["already_stored"]) == (0, 1)
    second = f"id,area,start,end\nW2,{week}/2,2024-01-03 10:00,2024-01-03 11:00\n"
    later = post(client, key, second.encode())
    assert later.status_code == 200, later.text
    assert later.json()["stored"] == 1
    cells = stored(env_copy).read().set_index("patrol_id")["cells"]
    want = sorted(h3.str_to_int(c) for c in plan["areas"][1]["cells"])
    assert sorted(cells["W2"].tolist()) == want
