"""Crash safety of POST /v1/patrols against the real server, as test_events_crash.py does for
events: posts stream in, the server is killed (SIGKILL) mid-stream, every acknowledged batch
is on disk, whole, after it; a restarted server recognises them all when a client retries.

Only 127.0.0.1, one server process, at most ~60 posts, bounded waits.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import h3
import httpx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from live_server import free_port, start_server
from served_env import key_store, publish_historical_mean

from hotspots.features import Panel
from hotspots.feedback.patrol_store import PatrolStore
from hotspots.grid import points_to_cells

pytestmark = pytest.mark.slow

HEADER = "id,cells,start,end,unit"
MAX_POSTS = 60
ROWS = 25


def batch_body(k: int, cell: str) -> tuple[list[str], bytes]:
    ids = [f"K{k}-{i}" for i in range(ROWS)]
    lines = [
        f"{x},{cell},2023-12-05 10:{i % 60:02d},2023-12-05 11:{i % 60:02d},U{k}"
        for i, x in enumerate(ids)
    ]
    return ids, "\n".join([HEADER, *lines, ""]).encode()


def test_every_acknowledged_patrol_batch_survives_a_kill(
    tmp_path: Path, year_city_events: pd.DataFrame, year_panel: Panel
) -> None:
    root = tmp_path
    publish_historical_mean(root, year_city_events, year_panel)
    key = key_store(root).create("p", ["patrols:write"])[1]
    lat, lng = float(np.median(year_city_events["lat"])), float(np.median(year_city_events["lng"]))
    cell = h3.int_to_str(int(points_to_cells([lat], [lng], 8)[0]))
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/patrols"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}

    acked: dict[int, list[str]] = {}
    sent: dict[int, list[str]] = {}
    stop = threading.Event()

    def post_until_stopped() -> None:
        with httpx.Client(timeout=10) as client:
            for k in range(MAX_POSTS):
                if stop.is_set():
                    return
                ids, body = batch_body(k, cell)
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

    store = PatrolStore(root / "state" / "patrols")
    per_batch = [set(_ids(p)) for p in store.batches()]  # every batch readable
    posted = {k: set(ids) for k, ids in sent.items()}
    assert all(b in posted.values() for b in per_batch), "a batch on disk is not a whole post"
    on_disk = set().union(*per_batch)
    missing = [k for k, ids in acked.items() if not set(ids) <= on_disk]
    assert missing == [], f"acknowledged posts lost in the crash: {missing}"

    server = start_server(root, port)
    try:
        with httpx.Client(timeout=10) as client:
            for k in sorted(sent):
                answer = client.post(url, content=batch_body(k, cell)[1], headers=headers)
                assert answer.status_code == 200, answer.text
                expect = (0, ROWS) if posted[k] <= on_disk else (ROWS, 0)
                got = answer.json()
                assert (got["stored"], got["already_stored"]) == expect, k
    finally:
        server.kill()
        server.wait(timeout=10)


def _ids(path: Path) -> list[str]:
    return [str(x) for x in pq.read_table(path, columns=["patrol_id"]).column(0).to_pylist()]
