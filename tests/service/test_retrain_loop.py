"""``hotspots serve --retrain-every``: the schedule retrains in the background, the running
app serves the promoted version without a restart, and a model that cannot be retrained is
shown in /readyz while everything else goes on."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pandas as pd

from hotspots.access.keys import KEYS_FILE, KeyStore
from hotspots.config import Settings
from hotspots.features import events_to_panel
from hotspots.forecasters import make_forecaster
from hotspots.service.app import create_app
from hotspots.synthetic import COLUMN_MAP, TIMEZONE
from retrain_env import NAME, TARGET, make_env

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LATEST = "/v1/forecasts/latest"


def test_the_schedule_promotes_and_the_app_serves_the_new_version(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    env = make_env(tmp_path, year_city_events)
    # a second model without a training spec in its manifest: it cannot be retrained
    panel = events_to_panel(year_city_events, 8, "W")
    other = make_forecaster("historical_mean", target=(TARGET,)).fit(panel)
    env.registry.publish(
        "other", other, spec={"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}},
        data={"timezone": TIMEZONE}, backtest={},
    )  # fmt: skip
    settings = Settings(
        models_dir=tmp_path / "models",
        state_dir=tmp_path / "state",
        events_path=tmp_path / "events.parquet",
        retrain_seconds=0.2,
    )
    key = KeyStore(settings.state_dir / KEYS_FILE).create("r", ["forecasts:read"])[1]
    auth = {"Authorization": f"Bearer {key}"}
    seen: list[str] = []
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            # requests are answered while the schedule retrains in a worker thread
            r = client.get(LATEST, params={"model": NAME, "top": 3}, headers=auth)
            assert r.status_code == 200, r.text
            seen.append(json.loads(r.content)["model"]["version"])
            if seen[-1] == "v2":
                break
            time.sleep(0.1)
        ready = client.get("/readyz", headers=auth)
    assert seen[0] == "v1" and seen[-1] == "v2", seen[-5:]
    assert env.registry.current(NAME) == "v2"
    assert ready.status_code == 200
    body = ready.json()
    assert {m["name"]: m["version"] for m in body["models"]} == {NAME: "v2", "other": "v1"}
    lines = body["retrain"]
    assert lines[NAME].startswith(f"retrain {NAME}: ")  # promoted, or nothing since
    assert lines["other"].startswith("failed: ConfigError: model 'other' v1: its manifest holds")
    assert "notes" in env.registry.manifest(NAME, "v2")
    assert env.registry.manifest(NAME, "v2")["notes"]["retrain"]["outcome"] == "promoted"


def test_without_the_setting_nothing_is_retrained(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    env = make_env(tmp_path, year_city_events)
    settings = Settings(
        models_dir=tmp_path / "models",
        state_dir=tmp_path / "state",
        events_path=tmp_path / "events.parquet",
    )
    key = KeyStore(settings.state_dir / KEYS_FILE).create("r", ["forecasts:read"])[1]
    with TestClient(create_app(settings)) as client:
        time.sleep(0.5)
        body = client.get("/readyz", headers={"Authorization": f"Bearer {key}"}).json()
    assert "retrain" not in body
    assert env.registry.versions(NAME) == ["v1"]
