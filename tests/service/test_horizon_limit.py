"""A horizon beyond a year is refused by the library both faces call: the service names it
for the model it cannot publish, and the API refuses periods it does not publish."""

from __future__ import annotations

from fastapi.testclient import TestClient
from served_env import Env, settings_of

from hotspots.service.app import create_app
from hotspots.service.problems import PROBLEM_TYPE

REASON = "horizon 53 is more than 52: a 'W' model forecasts at most 52 periods (a year) ahead"


def test_a_weekly_model_is_not_published_53_weeks_ahead(env_copy: Env) -> None:
    auth = {"Authorization": f"Bearer {env_copy.read}"}
    with TestClient(create_app(settings_of(env_copy.root, forecast_horizon=53))) as client:
        ready = client.get("/readyz", headers=auth)
        latest = client.get("/v1/forecasts/latest?horizon=53", headers=auth)
    assert ready.status_code == 503 and ready.headers["content-type"] == PROBLEM_TYPE
    assert ready.json()["failed"] == {"burglary": f"ConfigError: {REASON}"}
    assert latest.status_code == 503 and latest.headers["content-type"] == PROBLEM_TYPE


def test_a_horizon_beyond_the_published_periods_is_a_422_naming_both(env_copy: Env) -> None:
    auth = {"Authorization": f"Bearer {env_copy.read}"}
    with TestClient(create_app(settings_of(env_copy.root, forecast_horizon=52))) as client:
        assert client.get("/readyz").status_code == 200
        ok = client.get("/v1/forecasts/latest?horizon=52&top=3&format=geojson", headers=auth)
        over = client.get("/v1/forecasts/latest?horizon=53", headers=auth)
        huge = client.get(f"/v1/forecasts/latest?horizon={10**30}", headers=auth)
    assert ok.status_code == 200, ok.text
    assert len(ok.json()["features"]) == 3
    for response, value in ((over, 53), (huge, 10**30)):
        assert response.status_code == 422 and response.headers["content-type"] == PROBLEM_TYPE
        assert response.json()["detail"].startswith("horizon must be between 1 and 52")
        assert response.json()["detail"].endswith(f"got {value}")
