"""POST /v1/events and day/month order: a batch whose dates never pass 12 (a week of 1-7
January) is read in the order the model's training export was, or refused as a problem
when the model does not record one; it is never read in whichever order parsed first."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from served_env import TARGET, Env, settings_of

from hotspots.ingest import read_events
from hotspots.registry import Registry
from hotspots.service.app import create_app
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

HEADER = "incident_id,occurred,latitude,longitude,offence,origin"


@pytest.fixture
def env(env_copy: Env) -> Env:
    return env_copy


def week(env: Env) -> bytes:
    """Monday 1 to Sunday 7 January 2024, day first, as a UK force writes them."""
    lines = [
        f"W-{d},{d:02d}/01/2024 10:30,{env.lat:.6f},{env.lng:.6f},{TARGET},call"
        for d in range(1, 8)
    ]
    return "\n".join([HEADER, *lines, ""]).encode()


def post(client: TestClient, env: Env, body: bytes) -> tuple[int, dict]:  # type: ignore[type-arg]
    headers = {"Authorization": f"Bearer {env.write}", "Content-Type": "text/csv"}
    got = client.post("/v1/events", content=body, headers=headers)
    return got.status_code, got.json()


def trained_on(env: Env, time_format: str) -> None:
    """Publish the served model again as if its export had been read in ``time_format``."""
    registry = Registry(env.root / "models")
    model = registry.load("burglary").forecaster
    spec = {"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}}
    data = {"timezone": TIMEZONE, "time_format": time_format}
    registry.publish("burglary", model, spec=spec, data=data, backtest={})


def test_a_week_posted_to_a_day_first_model_is_read_day_first(env: Env) -> None:
    trained_on(env, "%d/%m/%Y %H:%M")
    with TestClient(create_app(settings_of(env.root))) as client:
        status, got = post(client, env, week(env))
    assert status == 200, got
    assert got["stored"] == 7
    assert got["report"]["time_format"] == "%d/%m/%Y %H:%M"
    [batch] = sorted((env.root / "state" / "events").glob("batch-*.parquet"))
    times = read_events(batch)[0].set_index("event_id")["occurred_at"]
    assert times["W-7"] == pd.Timestamp("2024-01-07 10:30", tz=TIMEZONE)  # not 1 July
    assert times.max() - times.min() == pd.Timedelta(days=6)


def test_a_week_posted_to_a_model_without_a_recorded_order_is_a_problem(env: Env) -> None:
    with TestClient(create_app(settings_of(env.root))) as client:  # a manifest of before
        status, got = post(client, env, week(env))
    assert status == 422
    assert got["detail"].startswith(
        "day/month order of column 'occurred' of the posted CSV is unresolved: 7 distinct "
        "dates (e.g. '01/01/2024 10:30'), each has 01 as its second field and all lie in one "
        "year: the first of 7 months read month first, or 7 days of January read day first"
    )  # a week from New Year's Day: its second field is 01 throughout (ingest.dayorder)
    assert "'%d/%m/%Y %H:%M' (day first) or '%m/%d/%Y %H:%M' (month first)" in got["detail"]
    assert list((env.root / "state" / "events").glob("batch-*.parquet")) == []


def test_a_month_first_batch_posted_to_a_day_first_model_is_a_problem(env: Env) -> None:
    trained_on(env, "%d/%m/%Y %H:%M")
    lines = [
        f"M-{d},01/{d}/2024 10:30,{env.lat:.6f},{env.lng:.6f},{TARGET},call" for d in (2, 13, 14)
    ]
    with TestClient(create_app(settings_of(env.root))) as client:
        status, got = post(client, env, "\n".join([HEADER, *lines, ""]).encode())
    assert status == 422
    assert got["detail"].startswith(
        "day/month order of column 'occurred' of the posted CSV is month first (2 values "
        "such as '01/13/2024 10:30' have a second field above 12), but the model's training "
        "data were read day first"
    )
