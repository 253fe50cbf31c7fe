"""``GET /metrics``: its own scope, request counts by route template (never a raw path),
durations, the served forecast's gauges, audit write failures, and one registry per app."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from opentelemetry import trace
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.parser import text_string_to_metric_families
from served_env import key_store, publish_historical_mean, settings_of

from hotspots.config import Settings
from hotspots.features import Panel
from hotspots.service.app import create_app
from hotspots.service.metrics import DURATION_BUCKETS, RequestCounts, ServiceMetrics
from hotspots.serving.state import ServiceState

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LATEST = "/v1/forecasts/latest"
Labels = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Env:
    root: Path
    read: str
    metrics: str

    @property
    def settings(self) -> Settings:
        return settings_of(self.root, rate_limit_per_minute=0)


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, year_city_events: pd.DataFrame, year_panel: Panel
) -> Env:
    """A registry serving one cheap model (the historical mean), a read and a metrics key."""
    root = tmp_path_factory.mktemp("metrics")
    publish_historical_mean(root, year_city_events, year_panel)
    store = key_store(root)
    read = store.create("dashboard", ["forecasts:read"])[1]
    scraper = store.create("prometheus", ["metrics:read"])[1]
    return Env(root, read, scraper)


@pytest.fixture
def client(env: Env) -> Iterator[TestClient]:
    """A new app per test, so every counter starts at zero."""
    with TestClient(create_app(env.settings)) as c:
        yield c


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _scrape(client: TestClient, env: Env) -> dict[str, dict[Labels, float]]:
    """Every sample of ``/metrics`` by sample name, then by its label set."""
    r = client.get("/metrics", headers=_auth(env.metrics))
    assert r.status_code == 200
    out: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return out


def _labels(**labels: str) -> Labels:
    return frozenset(labels.items())


def test_metrics_needs_the_metrics_scope(client: TestClient, env: Env) -> None:
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    refused = client.get("/metrics", headers=_auth(env.read))
    assert refused.status_code == 403 and "'metrics:read'" in refused.json()["detail"]
    scraped = client.get("/metrics", headers=_auth(env.metrics))
    assert scraped.status_code == 200
    assert scraped.headers["content-type"] == CONTENT_TYPE_LATEST
    assert "hotspots_http_requests_total" in scraped.text
    # the scraper's key reads nothing else
    assert client.get(LATEST, headers=_auth(env.metrics)).status_code == 403
    assert client.get("/v1/models", headers=_auth(env.metrics)).status_code == 403


def test_requests_are_counted_by_route_template_and_status(client: TestClient, env: Env) -> None:
    for _ in range(5):
        assert client.get(LATEST, params={"top": 3}, headers=_auth(env.read)).status_code == 200
    assert client.get(LATEST).status_code == 401
    assert client.get(LATEST, params={"tpo": 3}, headers=_auth(env.read)).status_code == 422
    samples = _scrape(client, env)
    counts = samples["hotspots_http_requests_total"]
    route = {"method": "GET", "route": LATEST}
    assert counts[_labels(**route, status="200")] == 5
    assert counts[_labels(**route, status="401")] == 1
    assert counts[_labels(**route, status="422")] == 1
    # the metrics request itself is counted when it ends, after this scrape was built
    assert _labels(method="GET", route="/metrics", status="200") not in counts
    durations = samples["hotspots_http_request_duration_seconds_count"]
    assert durations[_labels(route=LATEST)] == 7
    buckets = samples["hotspots_http_request_duration_seconds_bucket"]
    assert buckets[_labels(route=LATEST, le="2.5")] == 7
    assert {le for labels in buckets for k, le in labels if k == "le"} >= {"0.001", "+Inf"}
    again = _scrape(client, env)["hotspots_http_requests_total"]
    assert again[_labels(method="GET", route="/metrics", status="200")] == 1


def test_labels_hold_templates_never_cell_ids_or_odd_methods(client: TestClient, env: Env) -> None:
    served = client.app.state.service.served["burglary"]  # type: ignore[attr-defined]
    cells = [format(int(c), "x") for c in served.snapshot.tables[0].cell[:3]]
    for cell in cells:
        assert client.get(f"/v1/cells/{cell}", headers=_auth(env.read)).status_code == 200
    assert client.get("/no/such/path/abc123").status_code == 404
    assert client.request("BREW", "/healthz").status_code == 405
    counts = _scrape(client, env)["hotspots_http_requests_total"]
    assert counts[_labels(method="GET", route="/v1/cells/{cell}", status="200")] == 3
    assert counts[_labels(method="GET", route="(no route)", status="404")] == 1
    assert counts[_labels(method="OTHER", route="/healthz", status="405")] == 1
    values = {value for labels in counts for _, value in labels}
    assert not any(cell in value for cell in cells for value in values)
    assert not any("abc123" in value or "BREW" in value for value in values)


def test_served_forecast_gauges(client: TestClient, env: Env) -> None:
    snapshot = client.app.state.service.served["burglary"].snapshot  # type: ignore[attr-defined]
    samples = _scrape(client, env)
    assert samples["hotspots_forecast_info"] == {_labels(model="burglary", version="v1"): 1.0}
    issued = samples["hotspots_forecast_issued_timestamp_seconds"][_labels(model="burglary")]
    assert issued == pytest.approx(snapshot.issued_at.timestamp())
    assert 1.6e9 < issued < 4.1e9  # unix seconds, not ms or ns
    assert samples["hotspots_forecast_cells"] == {_labels(model="burglary"): 769.0}
    assert snapshot.n_cells == 769
    assert samples["hotspots_models_failed"] == {frozenset(): 0.0}


def test_nothing_served_leaves_the_model_gauges_empty(tmp_path: Path, env: Env) -> None:
    settings = Settings(
        models_dir=tmp_path / "models", state_dir=env.root / "state", rate_limit_per_minute=0
    )
    with TestClient(create_app(settings)) as c:
        samples = _scrape(c, env)
    assert "hotspots_forecast_info" not in samples
    assert samples["hotspots_models_failed"] == {frozenset(): 0.0}


def test_audit_write_failures_are_counted(
    client: TestClient, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    state: ServiceState = client.app.state.service  # type: ignore[attr-defined]

    def broken(line: str) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(state.audit, "write_line", broken)
        assert client.get("/healthz").status_code == 200  # the answer is not lost
        assert client.get(LATEST, headers=_auth(env.read)).status_code == 200
    samples = _scrape(client, env)
    assert samples["hotspots_audit_write_failures_total"] == {frozenset(): 2.0}
    assert (
        samples["hotspots_http_requests_total"][
            _labels(method="GET", route="/healthz", status="200")
        ]
        == 1
    )


def test_each_app_has_its_own_registry(client: TestClient, env: Env) -> None:
    for _ in range(3):
        client.get(LATEST, headers=_auth(env.read))
    with TestClient(create_app(env.settings)) as other:
        other.get(LATEST, headers=_auth(env.read))
        theirs = _scrape(other, env)["hotspots_http_requests_total"]
    mine = _scrape(client, env)["hotspots_http_requests_total"]
    key = _labels(method="GET", route=LATEST, status="200")
    assert (mine[key], theirs[key]) == (3, 1)
    first = client.app.state.metrics  # type: ignore[attr-defined]
    assert isinstance(first, ServiceMetrics)
    assert first.registry is not other.app.state.metrics.registry  # type: ignore[attr-defined]


def _samples(registry: CollectorRegistry) -> dict[tuple[str, Labels], float]:
    text = generate_latest(registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def test_request_counts_match_prometheus_clients_counter_and_histogram() -> None:
    """The same samples as prometheus_client's own Counter and Histogram fed the same
    requests: buckets cumulative, a duration on a bound counted in it (``le``), the sum."""
    ours = CollectorRegistry()
    counts = RequestCounts()
    ours.register(counts)
    theirs = CollectorRegistry()
    requests = Counter(
        "hotspots_http_requests", "x", ["method", "route", "status"], registry=theirs
    )
    duration = Histogram(
        "hotspots_http_request_duration_seconds",
        "x",
        ["route"],
        buckets=DURATION_BUCKETS,
        registry=theirs,
    )
    seen = [
        ("GET", LATEST, 200, 0.0),
        ("GET", LATEST, 200, 0.001),
        ("GET", LATEST, 304, 0.0010001),
        ("GET", LATEST, 200, 0.0025),
        ("POST", "/v1/events", 202, 2.5),
        ("POST", "/v1/events", 413, 7.25),
        ("GET", "/v1/cells/{cell}", 404, 0.0123),
        ("GET", LATEST, 200, 0.3),
    ]
    for method, route, status, seconds in seen:
        counts.observe(method, route, status, seconds)
        requests.labels(method, route, str(status)).inc()
        duration.labels(route).observe(seconds)
    mine = _samples(ours)
    assert mine == _samples(theirs)
    latest = frozenset({("route", LATEST), ("le", "0.001")})
    assert mine[("hotspots_http_request_duration_seconds_bucket", latest)] == 2


def test_openapi_documents_metrics(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/metrics"]["get"]["responses"]
    assert {"200", "401", "403", "422", "429"} <= set(responses)
    assert "text/plain" in responses["200"]["content"]


class _CountingTracerProvider(trace.TracerProvider):
    """An OpenTelemetry provider as an operator's SDK would install (FastAPI skips the API's
    no-op one): hands out no-op tracers and counts them."""

    def __init__(self) -> None:
        self.asked = 0

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        self.asked += 1
        return trace.NoOpTracer()


@pytest.mark.parametrize("opted_in", [False, True])
def test_requests_reach_opentelemetry_only_when_the_settings_ask(
    env: Env, monkeypatch: pytest.MonkeyPatch, opted_in: bool
) -> None:
    """With a tracer provider configured in the process, FastAPI traces requests only when
    ``opentelemetry`` is set: by default nothing about a request leaves the service."""
    provider = _CountingTracerProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    settings = env.settings.model_copy(update={"opentelemetry": opted_in})
    with TestClient(create_app(settings)) as client:
        answer = client.get(LATEST, params={"top": 5}, headers=_auth(env.read))
        assert answer.status_code == 200
        assert client.get("/healthz").status_code == 200
    assert (provider.asked > 0) is opted_in
