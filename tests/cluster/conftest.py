"""The Dask tests' cluster: docker-compose.yml's scheduler and two workers, started with the
compose file's own commands as plain processes on 127.0.0.1, once for the session."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """The services of docker-compose.yml."""
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def scheduler(compose: dict[str, Any]) -> Iterator[str]:
    """compose's scheduler and two workers as plain processes on 127.0.0.1."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    args = compose["scheduler"]["command"]
    args = [a for a in args if a not in ("--dashboard-address", ":8787")]
    args[args.index("--host") + 1], args[args.index("--port") + 1] = "127.0.0.1", str(port)
    procs = [subprocess.Popen([BIN / "dask", "scheduler", *args, "--no-dashboard"])]
    worker = [address if a == "tcp://scheduler:8786" else a for a in compose["worker"]["command"]]
    worker = [*worker, "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "2GiB"]
    try:
        from distributed import Client

        with Client(address, timeout="60s") as client:
            procs += [subprocess.Popen([BIN / "dask", "worker", *worker]) for _ in range(2)]
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
