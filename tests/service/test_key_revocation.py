"""A key revoked with ``hotspots keys revoke`` while the service runs is refused from the next
request on, on the fast path and on the routed path alike (the store is ``hotspots.access``'s,
watched by the running app)."""

from __future__ import annotations

import sys
import warnings

from served_env import Env, key_store, settings_of

from hotspots.access.keys import KeyStore
from hotspots.service.app import create_app

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_a_key_revoked_by_another_process_is_refused_by_the_running_app(env_copy: Env) -> None:
    auth = {"Authorization": f"Bearer {env_copy.read}"}
    plain = "/v1/forecasts/latest?top=3"  # answered by the fast path
    routed = "/v1/forecasts/latest?top=3&format=json&top2=1"  # by FastAPI (422 if admitted)
    with TestClient(create_app(settings_of(env_copy.root))) as c:
        store: KeyStore = c.app.state.service.keys  # type: ignore[attr-defined]
        assert store._watch is not None or not sys.platform.startswith("linux")
        assert c.get(plain, headers=auth).status_code == 200
        assert c.get(routed, headers=auth).status_code == 422
        key_id = next(r.id for r in key_store(env_copy.root).list() if r.has("forecasts:read"))
        key_store(env_copy.root).revoke(key_id)  # `hotspots keys revoke`
        assert c.get(plain, headers=auth).status_code == 401
        assert c.get(routed, headers=auth).status_code == 401
    assert store._watch is None  # closed with the app
