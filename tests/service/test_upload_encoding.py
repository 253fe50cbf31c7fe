"""Request bodies of POST /v1/events: only Content-Encoding says a body is compressed, the
inflated size has the same 413 as a body sent that large, and uploads are read one at a time."""

from __future__ import annotations

import asyncio
import gzip
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from served_env import TARGET, Env, settings_of

from hotspots.service.app import create_app
from hotspots.service.limits import UploadSlots, decode_body
from hotspots.service.problems import ProblemError

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

HEADER = "incident_id,occurred,latitude,longitude,offence,origin"
LIMIT = 64 * 1024


@pytest.fixture
def client(env_copy: Env) -> Iterator[TestClient]:
    with TestClient(create_app(settings_of(env_copy.root, max_upload_bytes=LIMIT))) as c:
        yield c


def csv_body(env: Env, n: int, prefix: str = "GZ") -> bytes:
    lines = [
        f"{prefix}-{i},2024-01-03 1{i % 10}:00:00,{env.lat:.6f},{env.lng:.6f},{TARGET},call"
        for i in range(n)
    ]
    return "\n".join([HEADER, *lines, ""]).encode()


def post(client: TestClient, env: Env, body: bytes, **headers: str):  # type: ignore[no-untyped-def]
    sent = {"Authorization": f"Bearer {env.write}", "Content-Type": "text/csv", **headers}
    return client.post("/v1/events", content=body, headers=sent)


def batches(env: Env) -> list[Path]:
    return sorted((env.root / "state" / "events").glob("batch-*.parquet"))


def test_a_gzip_body_is_read_when_content_encoding_says_so(
    client: TestClient, env_copy: Env
) -> None:
    answer = post(
        client, env_copy, gzip.compress(csv_body(env_copy, 30)), **{"Content-Encoding": "gzip"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == 30


@pytest.mark.parametrize(
    ("encoding", "body", "said"),
    [
        (None, "gzip", "sent without 'Content-Encoding: gzip'"),
        ("identity", "gzip", "sent without 'Content-Encoding: gzip'"),
        ("gzip", "gzip2", "compressed twice"),
        ("br", "plain", "Content-Encoding 'br' is not read here"),
        ("gzip, gzip", "gzip2", "Content-Encoding 'gzip, gzip' is not read here"),
    ],
)
def test_only_content_encoding_decides_and_other_codings_are_415(
    client: TestClient, env_copy: Env, encoding: str | None, body: str, said: str
) -> None:
    plain = csv_body(env_copy, 10)
    data = {"plain": plain, "gzip": gzip.compress(plain)}.get(body)
    data = data if data is not None else gzip.compress(gzip.compress(plain))
    headers = {} if encoding is None else {"Content-Encoding": encoding}
    answer = post(client, env_copy, data, **headers)
    assert answer.status_code == 415, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert said in answer.json()["detail"]
    assert batches(env_copy) == []


def test_a_bomb_is_413_like_a_large_body_and_stores_nothing(
    client: TestClient, env_copy: Env
) -> None:
    """Under the limit as sent (a few KiB), far over it inflated: stopped at the limit."""
    one = csv_body(env_copy, 1)
    row = one.splitlines()[1] + b"\n"
    bomb = gzip.compress(one + row * 200_000)  # ~20 MB inflated, ~50 KiB sent
    assert len(bomb) < LIMIT
    started = time.perf_counter()
    answer = post(client, env_copy, bomb, **{"Content-Encoding": "gzip"})
    elapsed = time.perf_counter() - started
    assert answer.status_code == 413, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith(f"the request body is over the upload limit of {LIMIT} bytes")
    assert "inflates (Content-Encoding: gzip) to more than that" in detail
    assert batches(env_copy) == []
    assert elapsed < 5, elapsed
    # the same body sent inflated is refused with the same status and opening words
    large = post(client, env_copy, gzip.decompress(bomb)[: 2 * LIMIT])
    assert large.status_code == 413
    assert large.json()["detail"].startswith("the request body is over the upload limit")


def test_a_cut_or_corrupt_gzip_body_is_422(client: TestClient, env_copy: Env) -> None:
    packed = gzip.compress(csv_body(env_copy, 10))
    for data, said in ((packed[:-12], "cut short"), (b"\x1f\x8b" + b"x" * 40, "not valid gzip")):
        answer = post(client, env_copy, data, **{"Content-Encoding": "gzip"})
        assert answer.status_code == 422, answer.text
        assert said in answer.json()["detail"]
    assert batches(env_copy) == []


def test_decode_body_inflates_every_member_up_to_the_limit() -> None:
    data = gzip.compress(b"a" * 100) + gzip.compress(b"b" * 100)
    assert decode_body(data, "gzip", 200) == b"a" * 100 + b"b" * 100
    assert decode_body(data, "gzip", 0) == b"a" * 100 + b"b" * 100  # 0: no limit
    with pytest.raises(ProblemError) as caught:
        decode_body(data, "gzip", 199)
    assert caught.value.status == 413
    assert decode_body(b"plain,csv\n", "identity", 5) == b"plain,csv\n"  # sent size: checked before


def test_uploads_are_read_one_at_a_time_and_a_long_wait_is_503() -> None:
    async def scenario() -> tuple[list[str], int]:
        slots = UploadSlots(slots=1, wait=0.2)
        order: list[str] = []

        async def upload(name: str, hold: float) -> None:
            async with slots:
                order.append(f"{name} in")
                await asyncio.sleep(hold)
                order.append(f"{name} out")

        await asyncio.gather(upload("a", 0.05), upload("b", 0.05))
        first = asyncio.create_task(upload("c", 0.6))
        await asyncio.sleep(0.01)
        with pytest.raises(ProblemError) as caught:
            await upload("d", 0.0)
        await first
        return order, caught.value.status

    order, status = asyncio.run(scenario())
    assert order == ["a in", "a out", "b in", "b out", "c in", "c out"]
    assert status == 503
