"""Crash safety of POST /v1/events against the real server: posts stream in, the server is
killed (SIGKILL) mid-stream, and every acknowledged batch is on disk, whole, after it; a
restarted server recognises them all when a client retries.

Only 127.0.0.1, one server process, at most ~60 posts, bounded waits.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from live_server import free_port, start_server
from served_env import TARGET, key_store, publish_historical_mean

from hotspots.features import Panel
from hotspots.ingest import read_events
from hotspots.ingest.event_store import EventStore

pytestmark = pytest.mark.slow

HEADER = "incident_id,occurred,latitude,longitude,offence,origin"
MAX_POSTS = 60
ROWS = 25


def batch_body(k: int, lat: float, lng: float) -> tuple[list[str], bytes]:
    ids = [f"K{k}-{i}" for i in range(ROWS)]
    lines = [
        f"{x},2024-01-03 10:{i % 60:02d}:00,{lat},{lng},{TARGET},call" for i, x in enumerate(ids)
    ]
    return ids, "\n".join([HEADER, *lines, ""]).encode()


def test_every_acknowledged_batch_survives_a_kill(
    tmp_path: Path, year_city_events: pd.DataFrame, year_panel: Panel
) -> None:
    root = tmp_path
    publish_historical_mean(root, year_city_events, year_panel)
    key = key_store(root).create("w", ["events:write"])[1]
    lat, lng = float(np.median(year_city_events["lat"])), float(np.median(year_city_events["lng"]))
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/events"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}

    acked: dict[int, list[str]] = {}
    sent: dict[int, list[str]] = {}
    stop = threading.Event()

    def post_until_stopped() -> None:
        with httpx.Client(timeout=10) as client:
            for k in range(MAX_POSTS):
                if stop.is_set():
                    return
                ids, body = batch_body(k, lat, lng)
                sent[k] = ids
                try:
                    answer = client.post(url, content=body, headers=headers)
                except httpx.TransportError:
                    return  # the server is gone: this post was never acknowledged
                if answer.status_code == 200 and answer.json()["stored"] == ROWS:
                    acked[k] = ids

    server = start_server(root, port)
    try:
        poster = threading.Thread(target=post_until_stopped)
        poster.start()
        deadline = time.monotonic() + 60
        while len(acked) < 8 and poster.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)  # mid-stream: a post is usually in flight
        server.wait(timeout=10)
        stop.set()
        poster.join(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert len(acked) >= 8, f"only {len(acked)} posts were acknowledged before the deadline"

    store = EventStore(root / "state" / "events")
    per_batch = [set(read_events(p)[0]["event_id"]) for p in store.batches()]  # all readable
    posted = {k: set(ids) for k, ids in sent.items()}
    assert all(b in posted.values() for b in per_batch), "a batch on disk is not a whole post"
    on_disk = set().union(*per_batch)
    print(f"posted {len(sent)}, acknowledged {len(acked)}, whole batches on disk {len(per_batch)}")
    missing = [k for k, ids in acked.items() if not set(ids) <= on_disk]
    assert missing == [], f"acknowledged posts lost in the crash: {missing}"

    # a restarted server recognises every stored row when the client retries everything
    server = start_server(root, port)
    try:
        with httpx.Client(timeout=10) as client:
            for k in sorted(sent):
                answer = client.post(url, content=batch_body(k, lat, lng)[1], headers=headers)
                assert answer.status_code == 200, answer.text
                stored_before = posted[k] <= on_disk
                expect = (0, ROWS) if stored_before else (ROWS, 0)
                got = answer.json()
                assert (got["stored"], got["already_stored"]) == expect, k
    finally:
        server.kill()
        server.wait(timeout=10)
