"""The real server against an abusive upload: a gzip bomb is refused fast while reads go on,
and a client that never finishes its body does not keep the server from exiting on SIGTERM.

Only 127.0.0.1, one server process, bounded waits.
"""

from __future__ import annotations

import gzip
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from live_server import free_port, start_server
from served_env import key_store, publish_historical_mean
from test_events_crash import HEADER

from hotspots.features import Panel

pytestmark = pytest.mark.slow


def test_a_bomb_and_a_stalled_body_neither_starve_reads_nor_block_sigterm(
    tmp_path: Path, year_city_events: pd.DataFrame, year_panel: Panel
) -> None:
    publish_historical_mean(tmp_path, year_city_events, year_panel)
    store = key_store(tmp_path)
    write = store.create("w", ["events:write"])[1]
    lat, lng = float(np.median(year_city_events["lat"])), float(np.median(year_city_events["lng"]))
    row = f"B-1,2024-01-03 10:00:00,{lat},{lng},Burglary,call\n".encode()
    bomb = gzip.compress(HEADER.encode() + b"\n" + row * 4_000_000, 9)  # ~180 MB inflated
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    headers = {
        "Authorization": f"Bearer {write}",
        "Content-Type": "text/csv",
        "Content-Encoding": "gzip",
    }
    server = start_server(tmp_path, port)
    try:
        waits: list[float] = []
        answers: list[int] = []

        def post_bomb() -> None:
            with httpx.Client(timeout=30) as client:
                answers.append(
                    client.post(f"{base}/v1/events", content=bomb, headers=headers).status_code
                )

        probe = httpx.get(f"{base}/healthz", timeout=5)
        assert "server" not in probe.headers  # uvicorn's "server: uvicorn" is off
        assert probe.headers["x-content-type-options"] == "nosniff"
        poster = threading.Thread(target=post_bomb)
        poster.start()
        with httpx.Client(timeout=10) as client:
            while poster.is_alive():
                started = time.perf_counter()
                assert client.get(f"{base}/healthz").status_code == 200
                waits.append(time.perf_counter() - started)
                time.sleep(0.02)
        poster.join()
        assert answers == [413]
        print(f"{len(waits)} reads during the bomb, slowest {max(waits) * 1000:.0f} ms")
        assert max(waits) < 1.0, f"a read waited {max(waits):.2f} s behind the upload"

        # a body announced and never finished, then SIGTERM: the server exits anyway
        stalled = socket.create_connection(("127.0.0.1", port))
        stalled.sendall(
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
            b"Authorization: Bearer "
            + write.encode()
            + b"\r\nContent-Length: 100000\r\n\r\n"
            + HEADER.encode()
        )
        time.sleep(0.5)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        print(f"exited {time.monotonic() - started:.1f} s after SIGTERM")
        assert time.monotonic() - started < 20  # --shutdown-seconds is 10 by default
        stalled.close()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
