"""Headers on every answer: nosniff, a Cache-Control (the route's own, else no-store), and
a content security policy on HTML pages; /readyz details only with a key."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from served_env import Env, key_store, settings_of

from hotspots.service.app import create_app
from hotspots.service.headers import PAGE_POLICY

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def served(base_env: Env) -> Iterator[tuple[TestClient, dict[str, str]]]:
    metrics = key_store(base_env.root).create("m", ["metrics:read"])[1]
    keys = {"read": base_env.read, "write": base_env.write, "metrics": metrics}
    with TestClient(create_app(settings_of(base_env.root))) as client:
        yield client, keys


# (method, path, key, status, the route's own Cache-Control or None for no-store)
ANSWERS = [
    ("GET", "/healthz", None, 200, None),
    ("GET", "/readyz", None, 200, None),
    ("GET", "/v1/forecasts/latest?top=3", "read", 200, "private, max-age=5"),
    ("GET", "/v1/forecasts/latest?top=3&format=geojson", "read", 200, "private, max-age=5"),
    ("GET", "/v1/forecasts/latest", None, 401, None),
    ("GET", "/v1/forecasts/latest?tpo=3", "read", 422, None),
    ("GET", "/v1/cells/zzz", "read", 404, None),
    ("GET", "/v1/models", "read", 200, None),
    ("GET", "/v1/areas", "read", 200, None),
    ("GET", "/metrics", "metrics", 200, None),
    ("GET", "/openapi.json", None, 200, None),
    ("GET", "/docs", None, 200, "no-cache"),  # revalidated: it names its files' hashes
    ("GET", "/map", None, 200, "no-cache"),
    ("GET", "/redoc", None, 404, None),  # ReDoc loads from a CDN: not served
    ("GET", "/no/such/route", None, 404, None),
    ("POST", "/v1/events", "write", 415, None),
]


@pytest.mark.parametrize(("method", "path", "key", "status", "cache"), ANSWERS)
def test_every_answer_has_nosniff_and_a_cache_control(
    served: tuple[TestClient, dict[str, str]],
    method: str,
    path: str,
    key: str | None,
    status: int,
    cache: str | None,
) -> None:
    client, keys = served
    headers = {} if key is None else {"Authorization": f"Bearer {keys[key]}"}
    r = client.request(method, path, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers.get_list("cache-control") == [cache or "no-store"]
    html = r.headers["content-type"].startswith("text/html")
    assert html == (path in ("/docs", "/map"))
    assert r.headers.get("content-security-policy") == (PAGE_POLICY if html else None)
