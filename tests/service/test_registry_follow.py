"""The service follows the registry: a promote or rollback made elsewhere (another worker,
``hotspots models promote|rollback``) is served after the next republish, on request or on
the schedule, and sibling workers converge on the same bytes."""

from __future__ import annotations

import json
import shutil
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from served_env import TARGET, Env, key_store, settings_of

from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.registry import Registry
from hotspots.service.app import create_app
from hotspots.serving.state import ServiceState
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LATEST = "/v1/forecasts/latest"


@pytest.fixture
def two_versions(env_copy: Env, year_panel: Panel) -> Env:
    """``env_copy`` with burglary v2 (a last-period model) published but not promoted."""
    model = make_forecaster("last_period", target=(TARGET,)).fit(year_panel)
    spec = {"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}}
    Registry(env_copy.root / "models").publish(
        "burglary", model, spec=spec, data={"timezone": TIMEZONE}, backtest={}, promote=False
    )
    return env_copy


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _served(client: TestClient, key: str) -> tuple[str, str]:
    """The version and ETag a client is served now."""
    r = client.get(LATEST, params={"top": 5}, headers=_auth(key))
    assert r.status_code == 200, r.text
    return json.loads(r.content)["model"]["version"], r.headers["etag"]


def _state(client: TestClient) -> ServiceState:
    state: ServiceState = client.app.state.service  # type: ignore[attr-defined]
    return state


def _wait(check: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_refresh_serves_a_version_promoted_with_the_cli(two_versions: Env) -> None:
    env = two_versions
    with TestClient(create_app(settings_of(env.root))) as c:
        assert _served(c, env.read)[0] == "v1"
        Registry(env.root / "models").promote("burglary", "v2")  # `hotspots models promote`
        assert _state(c).stale()
        assert _served(c, env.read)[0] == "v1"  # no schedule: served as it was until asked
        done = c.post("/v1/forecasts/refresh", headers=_auth(env.write))
        assert done.status_code == 200, done.text
        assert [(m["name"], m["version"]) for m in done.json()["models"]] == [("burglary", "v2")]
        assert _served(c, env.read)[0] == "v2"
        assert not _state(c).stale()
        Registry(env.root / "models").rollback("burglary")  # `hotspots models rollback`
        c.post("/v1/forecasts/refresh", headers=_auth(env.write))
        assert _served(c, env.read)[0] == "v1"


def test_a_sibling_worker_follows_a_promote_on_its_schedule(two_versions: Env) -> None:
    env = two_versions
    admin = key_store(env.root).create("admin", ["models:admin"])[1]
    settings = settings_of(env.root, refresh_seconds=1)
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        first = _served(one, env.read)
        assert _served(two, env.read) == first and first[0] == "v1"
        promoted = one.post("/v1/models/burglary/v2/promote", headers=_auth(admin))
        assert promoted.status_code == 200, promoted.text
        now_one = _served(one, env.read)
        assert now_one[0] == "v2"
        # the other worker was never asked; its schedule sees the registry change
        assert _wait(lambda: _served(two, env.read)[0] == "v2"), _served(two, env.read)
        assert _served(two, env.read) == now_one  # the same snapshot, so the same ETag
        Registry(env.root / "models").rollback("burglary")
        assert _wait(lambda: _served(one, env.read) == _served(two, env.read) == first)


def test_a_version_that_cannot_load_is_not_retried_every_tick(
    two_versions: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = two_versions
    with TestClient(create_app(settings_of(env.root))) as c:
        state = _state(c)
        registry = Registry(env.root / "models")
        registry.promote("burglary", "v2")
        manifest = registry.manifest("burglary", "v2")
        folder = env.root / "models" / "burglary" / "v2"
        damaged = folder / next(iter(manifest["artifacts"]))
        damaged.write_bytes(damaged.read_bytes() + b"\0")  # fails its checksum now
        fresh, failed = state.refresh()
        assert fresh == {} and "sha256 mismatch" in failed["burglary"], failed
        assert _served(c, env.read)[0] == "v1"  # keeps serving what it served
        assert not state.stale()  # tried at this version: the next tick does not load it again
        loads: list[str] = []
        real_load = Registry.load
        monkeypatch.setattr(
            Registry, "load", lambda self, n, v=None: loads.append(n) or real_load(self, n, v)
        )
        registry.rollback("burglary")  # the registry changes again: v1 is wanted
        assert state.stale()
        fresh, failed = state.refresh()
        assert loads == ["burglary"] and list(fresh) == ["burglary"] and failed == {}
        assert state.failures == {} and _served(c, env.read)[0] == "v1"


def test_an_unreadable_pointer_keeps_serving_and_is_logged_once(
    two_versions: Env, caplog: pytest.LogCaptureFixture
) -> None:
    env = two_versions
    pointer = env.root / "models" / "burglary" / "current.json"
    with TestClient(create_app(settings_of(env.root))) as c:
        state = _state(c)
        good = pointer.read_bytes()
        pointer.write_text("{not json")
        with caplog.at_level("INFO", logger="hotspots.serving.state"):
            for _ in range(3):  # three ticks of the schedule
                assert state.wanted() == {"burglary": "v1"} and not state.stale()
            errors = [r for r in caplog.records if "cannot read its current" in r.message]
            assert len(errors) == 1 and errors[0].levelname == "ERROR", caplog.text
            pointer.write_bytes(good)
            assert state.wanted() == {"burglary": "v1"}
            state.wanted()
        again = [r for r in caplog.records if "reads again" in r.message]
        assert len(again) == 1, caplog.text
        assert _served(c, env.read)[0] == "v1"


def test_a_model_removed_from_the_registry_is_not_republished_every_tick(
    two_versions: Env, year_panel: Panel
) -> None:
    model = make_forecaster("last_period", target=(TARGET,)).fit(year_panel)
    spec = {"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}}
    Registry(two_versions.root / "models").publish(
        "robbery", model, spec=spec, data={"timezone": TIMEZONE}, backtest={}, promote=False
    )
    with TestClient(create_app(settings_of(two_versions.root))) as c:
        state = _state(c)
        assert "robbery" in state.failures and not state.stale()
        shutil.rmtree(two_versions.root / "models" / "robbery")  # never promoted, then removed
        assert state.stale()
        state.refresh()
        assert not state.stale() and "robbery" not in state.failures
        assert c.get("/readyz", headers=_auth(two_versions.read)).json()["failed"] == {}
        assert _served(c, two_versions.read)[0] == "v1"


def test_refresh_picks_up_a_model_published_after_start(env_copy: Env, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "state").mkdir(parents=True)
    (env_copy.root / "state" / "keys.json").rename(empty / "state" / "keys.json")
    (env_copy.root / "events.parquet").rename(empty / "events.parquet")
    with TestClient(create_app(settings_of(empty))) as c:
        assert c.get("/readyz").status_code == 503
        refused = c.post("/v1/forecasts/refresh", headers=_auth(env_copy.write))
        assert refused.status_code == 503 and "hotspots train" in refused.json()["detail"]
        (env_copy.root / "models").rename(empty / "models")  # `hotspots train` publishes
        done = c.post("/v1/forecasts/refresh", headers=_auth(env_copy.write))
        assert done.status_code == 200, done.text
        assert c.get("/readyz").status_code == 200
        assert _served(c, env_copy.read)[0] == "v1"


def test_workers_publishing_a_version_at_once_serve_the_same_bytes(two_versions: Env) -> None:
    # two worker processes' states (threads here: the publish lock is an flock per open file)
    workers = [ServiceState(settings_of(two_versions.root)) for _ in range(2)]
    for state in workers:
        state.load_all()
    Registry(two_versions.root / "models").promote("burglary", "v2")
    start = threading.Barrier(2)
    done: list[tuple[str, str]] = []

    def refresh(state: ServiceState) -> None:
        start.wait()
        fresh, failed = state.refresh()
        assert failed == {}
        done.append((fresh["burglary"].version, fresh["burglary"].snapshot.etag))

    threads = [threading.Thread(target=refresh, args=(s,)) for s in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(done) == 2 and done[0] == done[1] and done[0][0] == "v2"
    assert {s.served["burglary"].snapshot.etag for s in workers} == {done[0][1]}
