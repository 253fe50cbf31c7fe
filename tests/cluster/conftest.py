"""The Dask tests' cluster: docker-compose.yml's scheduler and two workers, started with the
compose file's own commands as plain processes on 127.0.0.1, once for the session."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

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
def scheduler(compose: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """compose's scheduler and two workers as plain processes on 127.0.0.1, shared by every
    test of the folder (their output goes to dask.log in the session's temporary folder)."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    args = compose["scheduler"]["command"]
    args = [a for a in args if a not in ("--dashboard-address", ":8787")]
    args[args.index("--host") + 1], args[args.index("--port") + 1] = "127.0.0.1", str(port)
    log = (tmp_path_factory.mktemp("dask") / "dask.log").open("wb")
    procs = [_start(["scheduler", *args, "--no-dashboard"], log)]
    worker = [address if a == "tcp://scheduler:8786" else a for a in compose["worker"]["command"]]
    worker = [*worker, "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "2GiB"]
    from distributed import Client

    try:
        with Client(address, timeout="60s") as client:
            procs += [_start(["worker", *worker], log) for _ in range(2)]
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        # the scheduler closes its workers at once (SIGTERM alone keeps each for seconds);
        # a worker process still up 2 s later (its nanny would wait 8 s) is killed
        with contextlib.suppress(OSError), Client(address, timeout="10s") as client:
            client.shutdown()
        for p in reversed(procs):
            p.terminate()
        deadline = time.monotonic() + 2
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
        log.close()


def _start(args: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """``dask ARGS`` in a process group of its own (its nanny's worker process included)."""
    return subprocess.Popen(
        [BIN / "dask", *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


class SpareCluster:
    """A scheduler of its own whose workers a test may kill: as a remote scheduler by
    default, it has no no-workers-timeout. ``start(n)`` starts n workers without a nanny
    (killing one's process is losing that worker) and returns their pids by address."""

    def __init__(self, address: str, log: IO[bytes]) -> None:
        self.address, self.log = address, log
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, n: int) -> dict[str, int]:
        from distributed import Client

        args = ["worker", self.address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1"]
        args += ["--no-dashboard", "--memory-limit", "2GiB"]
        with Client(self.address, timeout="30s", set_as_default=False) as client:
            before = set(client.nthreads())
            self.procs += [_start(args, self.log) for _ in range(n)]
            client.wait_for_workers(len(before) + n, timeout=90)
            pids = client.run(os.getpid)
        return {a: p for a, p in pids.items() if a not in before}

    def kill_all(self) -> None:
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
        self.procs.clear()


@pytest.fixture(scope="module")
def spare_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpareCluster]:
    """A ``SpareCluster`` for the module; each test starts the workers it kills."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = (tmp_path_factory.mktemp("spare") / "dask.log").open("wb")
    args = ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    scheduler = _start(args, log)
    spare = SpareCluster(address, log)
    try:
        yield spare
    finally:
        spare.kill_all()
        os.killpg(scheduler.pid, signal.SIGKILL)
        scheduler.wait(timeout=30)
        log.close()
