"""POST /v1/events and first-of-month dates: a model trained on months reads a batch of them as
months, however few; a weekly model refuses a batch of months as a problem (422), never a 500
and never a forecast with each month's events on its 1st; a few 1sts stay days."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from served_env import TARGET, Env, settings_of

from hotspots.features import events_to_panel
from hotspots.forecasters import make_forecaster
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


def batch(env: Env, dates: list[str]) -> bytes:
    lines = [f"M-{i},{d},{env.lat:.6f},{env.lng:.6f},{TARGET},call" for i, d in enumerate(dates)]
    return "\n".join([HEADER, *lines, ""]).encode()


def post(client: TestClient, env: Env, body: bytes) -> tuple[int, str, dict]:  # type: ignore[type-arg]
    headers = {"Authorization": f"Bearer {env.write}", "Content-Type": "text/csv"}
    got = client.post("/v1/events", content=body, headers=headers)
    return got.status_code, got.headers["content-type"], got.json()


def stored_precisions(env: Env) -> list[str]:
    batches = sorted((env.root / "state" / "events").glob("batch-*.parquet"))
    return [p for b in batches for p in read_events(b)[0]["time_precision"].astype(str)]


def publish_monthly(env: Env) -> None:
    """Serve a monthly model of burglary whose training events were months."""
    events = read_events(env.root / "events.parquet")[0]
    model = make_forecaster("historical_mean", target=(TARGET,)).fit(
        events_to_panel(events, 8, "M")
    )
    spec = {"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}}
    data = {"timezone": TIMEZONE, "month_precision": True}
    Registry(env.root / "models").publish("burglary", model, spec=spec, data=data, backtest={})


MONTHS = [f"2023-{m:02d}-01" for m in (8, 9, 10, 11) for _ in range(10)]


def test_a_few_first_of_month_dates_posted_to_a_month_model_are_months(env: Env) -> None:
    publish_monthly(env)
    with TestClient(create_app(settings_of(env.root))) as client:
        status, _, got = post(client, env, batch(env, ["2023-11-01"] * 3))
        assert status == 200, got
        assert got["stored"] == 3
        assert any(
            n.startswith("dates read as months (time_precision month): every one of the 3 ")
            and n.endswith("as the model's training events were months. Count them in monthly "
                           "periods (--period M): a daily or weekly panel would put each "
                           "month's events on its first day")
            for n in got["report"]["notes"]
        )  # fmt: skip
        assert stored_precisions(env) == ["month"] * 3
        headers = {"Authorization": f"Bearer {env.write}"}
        refreshed = client.post("/v1/forecasts/refresh", headers=headers)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["failed"] in ({}, [])
    assert [m["name"] for m in refreshed.json()["models"]] == ["burglary"]


def test_months_posted_to_a_weekly_model_are_a_problem(env: Env) -> None:
    with TestClient(create_app(settings_of(env.root))) as client:
        status, kind, got = post(client, env, batch(env, MONTHS))
        assert status == 422
        assert kind.startswith("application/problem+json")
        assert got["detail"].startswith(
            "40 events have month precision: their dates are all the first of a month (40 "
            "events over 4 months, 2023-08 to 2023-11), read as months, or months alone (as "
            "data.police.uk writes them: 2021-03); they cannot go into a weekly panel without "
            "inventing days: count them in monthly periods (--period M; a spec's grid.period)"
        )
        assert stored_precisions(env) == []
        # three dates that happen to be a 1st are a day's incidents: stored as days
        status, _, got = post(client, env, batch(env, ["2023-11-01"] * 3))
    assert status == 200, got
    assert stored_precisions(env) == ["day"] * 3
    assert not any(n.startswith("dates read as months") for n in got["report"]["notes"])
    times = read_events(sorted((env.root / "state" / "events").glob("batch-*.parquet"))[0])[0]
    assert times["occurred_at"].tolist() == [pd.Timestamp("2023-11-01", tz=TIMEZONE)] * 3
