"""POST /v1/events and placeholder clock times: a batch posted to a model whose training data
held a placeholder minute (San Francisco's 00:01, in its manifest's ``placeholder_times``)
stores its rows at that minute as dates, however few; to a model without the record, or with
a manifest from before it, they stay times."""

from __future__ import annotations

import warnings
from typing import Any

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
AT_0001 = {f"P-{i}" for i in range(0, 300, 30)}  # 10 of the 300


@pytest.fixture
def env(env_copy: Env) -> Env:
    return env_copy


def batch(env: Env) -> bytes:
    """300 burglaries over 2-11 January 2024 at :07-:53 past the hours; 10 of them at 00:01."""
    lines = []
    for i in range(300):
        when = f"2024-01-{2 + i % 10:02d} " + (
            "00:01" if f"P-{i}" in AT_0001 else f"{i % 24:02d}:{7 + i % 47:02d}"
        )
        lines.append(f"P-{i},{when},{env.lat:.6f},{env.lng:.6f},{TARGET},call")
    return "\n".join([HEADER, *lines, ""]).encode()


def trained_on(env: Env, data: dict[str, Any]) -> None:
    """Publish the served model again with ``data`` as its manifest's data record."""
    registry = Registry(env.root / "models")
    model = registry.load("burglary").forecaster
    spec = {"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}}
    registry.publish("burglary", model, spec=spec, data=data, backtest={})


def post_batch(env: Env) -> tuple[dict[str, Any], pd.DataFrame]:
    """Post the batch; the answer and the stored events by id."""
    headers = {"Authorization": f"Bearer {env.write}", "Content-Type": "text/csv"}
    with TestClient(create_app(settings_of(env.root))) as client:
        got = client.post("/v1/events", content=batch(env), headers=headers)
    assert got.status_code == 200, got.text
    [stored] = sorted((env.root / "state" / "events").glob("batch-*.parquet"))
    return got.json(), read_events(stored)[0].set_index("event_id")


def test_a_batch_posted_to_a_model_with_a_placeholder_minute_stores_them_as_dates(
    env: Env,
) -> None:
    trained_on(env, {"timezone": TIMEZONE, "placeholder_times": {"00:01": 21794}})
    got, events = post_batch(env)
    assert got["stored"] == 300
    assert got["report"]["placeholder_times"] == {"00:01": 10}
    assert any(
        n.startswith("placeholder_time: 10 accepted rows at 00:01 (a placeholder minute of the "
                     "model's training data)")
        for n in got["report"]["notes"]
    )  # fmt: skip
    precision = events["time_precision"].astype(str)
    assert set(precision[precision == "day"].index) == AT_0001
    assert (precision.drop(index=list(AT_0001)) == "minute").all()
    assert events.loc["P-30", "occurred_at"] == pd.Timestamp("2024-01-02", tz=TIMEZONE)
    assert events.loc["P-1", "occurred_at"] == pd.Timestamp("2024-01-03 01:08", tz=TIMEZONE)


@pytest.mark.parametrize(
    "data",
    [{"timezone": TIMEZONE, "placeholder_times": {}}, {"timezone": TIMEZONE}],
    ids=["no placeholder minutes", "a manifest from before the record"],
)
def test_a_batch_posted_to_a_model_without_one_keeps_them_as_times(
    env: Env, data: dict[str, Any]
) -> None:
    trained_on(env, data)
    got, events = post_batch(env)
    assert got["stored"] == 300
    assert got["report"]["placeholder_times"] == {}
    assert not any(n.startswith("placeholder_time") for n in got["report"]["notes"])
    assert set(events["time_precision"].astype(str)) == {"minute"}
    assert events.loc["P-30", "occurred_at"] == pd.Timestamp("2024-01-02 00:01", tz=TIMEZONE)
