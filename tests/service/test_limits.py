"""Limits: the per-key token bucket (arithmetic on a fake clock, 429 over HTTP) and the
request body cap (413 by Content-Length, by a chunked body, and by a lying Content-Length)."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI, Request
from served_env import key_store, publish_historical_mean, settings_of

from hotspots.access import audit
from hotspots.config import Settings
from hotspots.errors import ConfigError
from hotspots.features import Panel
from hotspots.service.app import create_app
from hotspots.service.limits import BodyLimitMiddleware, RateLimiter, check_rate
from hotspots.service.problems import ProblemError

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LATEST = "/v1/forecasts/latest"
PROMOTE = "/v1/models/burglary/v1/promote"
JSON = {"Content-Type": "application/json"}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- the token bucket ---------------------------------------------------------------------
def test_bucket_allows_the_burst_then_paces_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, 3, clock=clock)  # one token a second, three at once
    assert [limiter.take("a") for _ in range(3)] == [None, None, None]
    assert limiter.take("a") == pytest.approx(1.0)
    clock.now = 0.5
    assert limiter.take("a") == pytest.approx(0.5)  # half a token back, half to wait
    clock.now = 1.0
    assert limiter.take("a") is None  # the whole token
    clock.now = 1.25
    assert limiter.take("a") == pytest.approx(0.75)
    clock.now = 100.0  # refilled, but never beyond the burst
    assert [limiter.take("a") for _ in range(4)] == [None, None, None, pytest.approx(1.0)]


def test_buckets_are_per_key_and_a_slow_rate_waits_longer() -> None:
    clock = FakeClock()
    limiter = RateLimiter(30, 1, clock=clock)  # a token every 2 s
    assert limiter.take("a") is None
    assert limiter.take("a") == pytest.approx(2.0)
    assert limiter.take("b") is None  # another key has its own bucket
    clock.now = 1.5
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("b") == pytest.approx(0.5)


def test_idle_buckets_are_forgotten_once_full_again() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, 2, clock=clock)  # empty to full in 2 s
    limiter.take("a")
    clock.now = 1.0
    limiter.take("b")
    assert len(limiter) == 2
    clock.now = 2.5  # a idle 2.5 s (full again), b only 1.5 s
    limiter.take("c")
    assert len(limiter) == 2
    clock.now = 3.0
    limiter.take("c")
    assert len(limiter) == 1  # b went too; c is in use
    assert [limiter.take("a"), limiter.take("a"), limiter.take("a")] == [
        None,
        None,
        pytest.approx(1.0),
    ]


def test_a_bucket_in_use_again_is_kept_and_the_next_oldest_forgotten_on_time() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, 2, clock=clock)  # empty to full in 2 s
    limiter.take("a")
    clock.now = 1.0
    limiter.take("b")
    clock.now = 1.5
    limiter.take("a")  # the oldest bucket is in use again: b is the oldest now
    clock.now = 2.5
    limiter.take("a")
    assert len(limiter) == 2  # b idle 1.5 s
    clock.now = 3.0
    limiter.take("a")
    assert len(limiter) == 1  # b idle 2 s: full again, forgotten
    clock.now = 4.0
    limiter.take("c")
    assert len(limiter) == 2  # a idle 1 s
    clock.now = 5.0
    limiter.take("c")
    assert len(limiter) == 1


def test_rate_zero_is_no_limit_and_bad_settings_are_named() -> None:
    limiter = RateLimiter(0, 0)
    assert all(limiter.take("a") is None for _ in range(1000))
    assert len(limiter) == 0 and not limiter.enabled
    with pytest.raises(ConfigError, match="rate_limit_per_minute must be 0 or more, got -1"):
        RateLimiter(-1, 5)
    with pytest.raises(ConfigError, match="rate_limit_burst must be 1 or more, got 0"):
        RateLimiter(10, 0)


def test_check_rate_raises_429_with_whole_seconds_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(6, 1, clock=clock)  # a token every 10 s
    check_rate(limiter, "k1")
    clock.now = 0.5
    with pytest.raises(ProblemError) as caught:
        check_rate(limiter, "k1")
    assert caught.value.status == 429
    assert caught.value.headers == {"Retry-After": "10"}  # 9.5 s rounded up
    assert "API key k1" in caught.value.detail
    assert "6 requests per minute (bursts of 1)" in caught.value.detail
    clock.now = 9.8
    with pytest.raises(ProblemError) as caught:
        check_rate(limiter, "k1")
    assert caught.value.headers == {"Retry-After": "1"}  # 0.2 s, never 0
    check_rate(None, "k1")  # no limiter, no limit


# -- the service --------------------------------------------------------------------------
@dataclass(frozen=True)
class Env:
    root: Path
    read: str
    other: str
    admin: str

    def settings(self, **limits: Any) -> Settings:
        return settings_of(self.root, **limits)


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, year_city_events: pd.DataFrame, year_panel: Panel
) -> Env:
    """A registry serving one cheap model (the historical mean) and three keys."""
    root = tmp_path_factory.mktemp("limits")
    publish_historical_mean(root, year_city_events, year_panel)
    store = key_store(root)
    read, other = (store.create(n, ["forecasts:read"])[1] for n in ("r1", "r2"))
    admin = store.create("a", ["models:admin"])[1]
    return Env(root, read, other, admin)


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _audit_log(env: Env) -> Path:
    return env.root / "state" / "audit.jsonl"


def _key_id(env: Env, key: str) -> str:
    record = key_store(env.root).authenticate(key)
    assert record is not None
    return record.id


def test_429_after_the_burst_with_retry_after_and_an_audit_record(env: Env) -> None:
    # 2 a minute: a token every 30 s, so none comes back while the test runs
    settings = env.settings(rate_limit_per_minute=2, rate_limit_burst=3)
    with TestClient(create_app(settings)) as client:
        ok = [client.get(LATEST, headers=_auth(env.read)).status_code for _ in range(3)]
        over = client.get(LATEST, headers={**_auth(env.read), "X-Request-ID": "rate-1"})
        other = client.get(LATEST, headers=_auth(env.other))
        anonymous = client.get(LATEST)
    assert ok == [200, 200, 200]
    assert over.status_code == 429
    assert over.headers["content-type"] == "application/problem+json"
    assert 28 <= int(over.headers["retry-after"]) <= 30
    body = over.json()
    key_id = _key_id(env, env.read)
    assert body["status"] == 429 and body["request_id"] == over.headers["x-request-id"]
    assert f"API key {key_id} is over its rate limit of 2 requests per minute" in body["detail"]
    assert other.status_code == 200  # another key has its own bucket
    assert anonymous.status_code == 401  # no key: refused before any bucket
    [record] = [r for r in audit.read(_audit_log(env)) if r.client_request_id == "rate-1"]
    assert record.request_id == body["request_id"]
    assert (record.status, record.key_id, record.route) == (429, key_id, LATEST)


def test_refused_requests_count_and_the_rate_comes_before_the_scope(env: Env) -> None:
    settings = env.settings(rate_limit_per_minute=2, rate_limit_burst=2)
    with TestClient(create_app(settings)) as client:
        codes = [client.get(LATEST, headers=_auth(env.admin)).status_code for _ in range(3)]
    assert codes == [403, 403, 429]


def test_rate_limit_zero_never_refuses(env: Env) -> None:
    with TestClient(create_app(env.settings(rate_limit_per_minute=0))) as client:
        codes = {client.get("/v1/models", headers=_auth(env.read)).status_code for _ in range(80)}
    assert codes == {200}


def test_openapi_documents_429_on_authenticated_routes(env: Env) -> None:
    with TestClient(create_app(env.settings())) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert "application/problem+json" in paths[LATEST]["get"]["responses"]["429"]["content"]
    assert "429" in paths["/v1/models/{name}/{version}/promote"]["post"]["responses"]
    assert "429" not in paths["/healthz"]["get"]["responses"]


# -- the body limit over HTTP -------------------------------------------------------------
def _with_echo(app: FastAPI, calls: list[int]) -> FastAPI:
    """Add ``POST /echo`` (reads the raw body) and ``POST /echo-json`` (a JSON body)."""

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        calls.append(1)
        return {"n": len(await request.body())}

    @app.post("/echo-json")
    def echo_json(doc: dict[str, str]) -> dict[str, int]:
        calls.append(1)
        return {"n": len(doc)}

    return app


def _chunks(total: int, size: int = 300) -> Iterator[bytes]:
    while total > 0:
        yield b"x" * min(size, total)
        total -= size


def test_413_by_content_length_before_the_app_runs(env: Env) -> None:
    calls: list[int] = []
    app = _with_echo(create_app(env.settings(max_upload_bytes=1000)), calls)
    with TestClient(app) as client:
        fits = client.post("/echo", content=b"x" * 1000)
        over = client.post("/echo", content=b"x" * 1001, headers={"X-Request-ID": "big-1"})
        promote = client.post(PROMOTE, content=b"x" * 5000, headers=_auth(env.admin))
    assert fits.status_code == 200 and fits.json() == {"n": 1000}
    assert calls == [1]  # the oversized request never reached the route
    assert over.status_code == 413
    assert over.headers["content-type"] == "application/problem+json"
    body = over.json()
    assert body["detail"] == (
        "the request body is over the upload limit of 1000 bytes: Content-Length is 1001 bytes"
    )
    assert (body["status"], body["instance"]) == (413, "/echo")
    assert body["request_id"] == over.headers["x-request-id"]
    assert promote.status_code == 413  # refused before auth and before the promote runs
    [record] = [r for r in audit.read(_audit_log(env)) if r.client_request_id == "big-1"]
    assert record.request_id == body["request_id"]
    assert (record.status, record.route) == (413, "(no route)")


@pytest.mark.parametrize("route", ["/echo", "/echo-json"])
def test_413_for_a_chunked_body_without_content_length(env: Env, route: str) -> None:
    calls: list[int] = []
    app = _with_echo(create_app(env.settings(max_upload_bytes=1000)), calls)
    small = json.dumps({"a": "b"}).encode()
    with TestClient(app) as client:
        fits = client.post(route, content=iter([small]), headers=JSON)
        over = client.post(route, content=_chunks(1200), headers=JSON)
    assert "content-length" not in fits.request.headers
    assert fits.status_code == 200
    assert fits.json() == {"n": len(small) if route == "/echo" else 1}
    assert over.status_code == 413  # not the 400 FastAPI gives a body it could not read
    assert over.headers["content-type"] == "application/problem+json"
    detail = over.json()["detail"]
    assert detail.startswith("the request body is over the upload limit of 1000 bytes")
    assert detail.endswith("at least 1200 bytes were sent")


def test_create_app_uses_the_settings_default_of_32_mib(env: Env) -> None:
    with TestClient(create_app(env.settings())) as client:
        r = client.post("/v1/events", headers={"Content-Length": str(32 * 1024 * 1024 + 1)})
    assert r.status_code == 413
    assert "upload limit of 33554432 bytes (32 MiB)" in r.json()["detail"]


# -- the body limit as ASGI -----------------------------------------------------------------
class ReadingApp:
    """An ASGI app that reads the whole body (recording it) and answers 200, or ``status``
    after trying to read once more when reading fails."""

    def __init__(self, *, started_first: bool = False) -> None:
        self.seen = b""
        self.errors = 0
        self.started_first = started_first

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.started_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            more = True
            while more:
                message = await receive()
                self.seen += message.get("body", b"")
                more = message.get("more_body", False)
        except Exception:
            self.errors += 1
            try:  # a careless app reading on after the error must get nothing more
                message = await receive()
                self.seen += message.get("body", b"")
            except Exception:
                self.errors += 1
            if not self.started_first:
                await send({"type": "http.response.start", "status": 400, "headers": []})
            await send({"type": "http.response.body", "body": b"bad body"})
            return
        if not self.started_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _run(app: Any, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> list[Any]:
    """Call ``app`` with a POST of ``chunks``; the messages it sent and receive's calls."""
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[Any] = []

    async def receive() -> Any:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/up", "headers": headers}
    asyncio.run(app(scope, receive, send))
    return sent


def test_lying_content_length_is_caught_while_reading() -> None:
    inner = ReadingApp()
    sent = _run(BodyLimitMiddleware(inner, 1000), [b"a" * 400] * 4, [(b"content-length", b"10")])
    assert inner.seen == b"a" * 800  # the chunk that crossed the limit never reached it
    assert inner.errors == 2  # and reading on raised again
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 413  # the app's 400 was replaced
    body = json.loads(sent[1]["body"])
    assert body["detail"].endswith("at least 1200 bytes were sent")
    assert body["instance"] == "/up"


def test_body_at_the_limit_passes_and_zero_is_no_limit() -> None:
    inner = ReadingApp()
    sent = _run(BodyLimitMiddleware(inner, 1000), [b"a" * 500] * 2, [])
    assert (inner.seen, inner.errors, sent[0]["status"]) == (b"a" * 1000, 0, 200)
    inner = ReadingApp()
    sent = _run(BodyLimitMiddleware(inner, 0), [b"a" * 5000] * 3, [(b"content-length", b"15000")])
    assert (len(inner.seen), sent[0]["status"]) == (15000, 200)
    with pytest.raises(ConfigError, match="max_upload_bytes must be 0 or more, got -1"):
        BodyLimitMiddleware(inner, -1)


def test_an_answer_already_started_is_not_followed_by_a_413() -> None:
    inner = ReadingApp(started_first=True)
    sent = _run(BodyLimitMiddleware(inner, 100), [b"a" * 80] * 3, [])
    assert inner.seen == b"a" * 80
    assert [m.get("status") for m in sent] == [200, None]  # one start only: the app's own
    assert sent[1]["body"] == b"bad body"
