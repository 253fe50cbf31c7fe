"""The real ``hotspots serve`` in a child process, on 127.0.0.1 only (the tests that need a
process to kill, or a schedule that runs in the server as deployed)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    root: Path,
    port: int,
    *args: str,
    log_level: str = "error",
    stderr: IO[bytes] | None = None,
    ready_within: float = 90,
) -> subprocess.Popen[bytes]:
    """``hotspots serve`` on ``root``'s models, state and events.parquet (the layout of
    ``served_env.settings_of``) with ``args`` added; returns once /readyz answers 200.

    Its JSON log lines go to ``stderr`` (discarded when None)."""
    hotspots = shutil.which("hotspots", path=str(Path(sys.executable).parent))
    assert hotspots is not None, "the hotspots command is not installed beside this python"
    cmd = [hotspots, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", log_level]
    env = {
        **os.environ,
        "HOTSPOTS_MODELS_DIR": str(root / "models"),
        "HOTSPOTS_STATE_DIR": str(root / "state"),
        "HOTSPOTS_EVENTS_PATH": str(root / "events.parquet"),
    }
    err = stderr if stderr is not None else subprocess.DEVNULL
    proc = subprocess.Popen([*cmd, *args], env=env, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + ready_within
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode} before it was ready")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"the server was not ready within {ready_within:.0f} s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Kill the server if it still runs and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


@contextmanager
def served_root(root: Path, **env: str) -> Iterator[tuple[str, str]]:
    """``hotspots serve`` on ``root`` (as ``start_server``) with ``env`` set, and a new read
    key: (base URL, key) while it runs; stopped after."""
    from served_env import key_store

    key = key_store(root).create("officer", ["forecasts:read"])[1]
    port = free_port()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        server = start_server(root, port)
    try:
        yield f"http://127.0.0.1:{port}", key
    finally:
        stop_server(server)
