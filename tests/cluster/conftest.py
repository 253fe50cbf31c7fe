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
QUIET = {
    # Dask's own monitoring, for dashboards these clusters do not start: the event loop's
    # health tick (every 20 ms), the workers' statistical profiler (10 ms; off as on local
    # clusters, hotspots.cluster.connect), the system monitor (0.5 s) and the memory monitor
    # (0.1 s). At those defaults an idle scheduler, nanny and worker take ~8% of a core
    # between them (the suite's clusters ~15 s of CPU), ~1% so.
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "1s",
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "2s",
    "DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL": "500ms",
}
SHORT_LEASES = {
    # a Dask Lock held by a worker that is killed (the lightgbm.dask fit's, lgbm_dask.LOCK_NAME)
    # is freed once its lease times out: 30-40 s by default, which the next test's fit on the
    # same scheduler would wait; its holder renews it every lease-timeout / 5
    "DASK_DISTRIBUTED__SCHEDULER__LOCKS__LEASE_TIMEOUT": "3s",
    "DASK_DISTRIBUTED__SCHEDULER__LOCKS__LEASE_VALIDATION_INTERVAL": "500ms",
}


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """The services of docker-compose.yml."""
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


@pytest.fixture(scope="session")
def city_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a year of Synthetica, about 4,000 events: enough for two backtests of 4 weeks."""
    from hotspots.synthetic import generate_city, write_city

    city = generate_city(seed=5, start="2023-01-02", days=182, target_events=4_000)
    out = tmp_path_factory.mktemp("cluster_city")
    write_city(city, out)
    return out / "events.csv.gz"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def scheduler(compose: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """compose's scheduler and two workers as plain processes on 127.0.0.1, shared by every
    test of the folder (their output goes to dask.log in the session's temporary folder).

    The scheduler and each worker import what the specs' tasks run (the scheduler too: it
    unpickles their arguments) with a first task that is not awaited: while the first test
    prepares its data rather than once its first tasks are sent."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    args = compose["scheduler"]["command"]
    args = [a for a in args if a not in ("--dashboard-address", ":8787")]
    args[args.index("--host") + 1], args[args.index("--port") + 1] = "127.0.0.1", str(port)
    log = (tmp_path_factory.mktemp("dask") / "dask.log").open("wb")
    worker = [address if a == "tcp://scheduler:8786" else a for a in compose["worker"]["command"]]
    worker = [*worker, "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "2GiB"]
    # its HTTP routes (health, metrics) serve even without a dashboard: on 127.0.0.1 and a
    # free port, not every interface's 8787, which a local cluster of a test then wanted
    http = ["--dashboard-address", f"127.0.0.1:{_free_port()}"]
    procs = [_start(["scheduler", *args, *http, "--no-dashboard"], log)]
    from distributed import Client, fire_and_forget

    from hotspots.cluster.specs import run_specs

    try:
        with Client(address, timeout="60s") as client:
            procs += [_start(["worker", *worker], log) for _ in range(2)]
            client.wait_for_workers(2, timeout=90)
            # unpickling run_specs imports hotspots.cluster.specs (and with it pandas,
            # scikit-learn, LightGBM) on the scheduler and on the worker that runs the task
            warm = [
                client.submit(callable, run_specs, workers=[w], pure=False)
                for w in client.nthreads()
            ]
            fire_and_forget(warm)
        yield address
    finally:
        # the scheduler closes its workers at once (SIGTERM alone keeps each for seconds);
        # each worker's process then waits 2 s for its nanny's stop-queue thread: one still
        # up 0.5 s later has nothing left to do and is killed
        with contextlib.suppress(OSError), Client(address, timeout="10s") as client:
            client.shutdown()
        for p in reversed(procs):
            p.terminate()
        deadline = time.monotonic() + 0.5
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
        log.close()


def _start(
    args: list[str], log: IO[bytes], config: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``dask ARGS`` in a process group of its own (its nanny's worker process included), with
    ``QUIET`` and ``config`` in its environment."""
    env = {**os.environ, **QUIET, **(config or {})}
    return subprocess.Popen(
        [BIN / "dask", *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env=env,
    )  # fmt: skip


class SpareCluster:
    """A scheduler of its own whose workers a test may kill: as a remote scheduler by
    default, it has no no-workers-timeout. ``start(n)`` starts n workers without a nanny
    (killing one's process is losing that worker) and returns their pids by address. The
    scheduler and the workers are forked by ``spare_cluster.py`` from one process that has
    imported what they run (its output goes to ``log``)."""

    def __init__(self, port: int, log: IO[bytes]) -> None:
        self.address = f"tcp://127.0.0.1:{port}"
        self.forks = subprocess.Popen(
            [sys.executable, Path(__file__).with_name("spare_cluster.py"), str(port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            env={**os.environ, **QUIET, **SHORT_LEASES}, start_new_session=True,
        )  # fmt: skip

    def _ask(self, lines: list[str]) -> list[str]:
        """Each line's answer from ``spare_cluster.py``."""
        assert self.forks.stdin is not None and self.forks.stdout is not None
        self.forks.stdin.writelines(f"{line}\n" for line in lines)
        self.forks.stdin.flush()
        return [self.forks.stdout.readline().strip() for _ in lines]

    def start(self, n: int) -> dict[str, int]:
        from distributed import Client

        # the scheduler is up once the forking process has imported what it runs
        with Client(self.address, timeout="90s", set_as_default=False) as client:
            started = {int(pid) for pid in self._ask(["start"] * n)}
            deadline = time.monotonic() + 90
            while len(pids := _pids(client, started)) < n and time.monotonic() < deadline:
                time.sleep(0.05)
        assert len(pids) == n, f"{len(pids)} of {n} spare workers joined in 90 s"
        return pids

    def kill_all(self) -> None:
        [answer] = self._ask(["kill"])
        assert answer.startswith("killed "), answer

    def close(self) -> None:
        """The workers and the scheduler killed, the forking process ends (all reaped)."""
        assert self.forks.stdin is not None
        self.forks.stdin.close()
        try:
            self.forks.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.forks.pid, signal.SIGKILL)
            self.forks.wait(timeout=30)


def _pids(client: Any, wanted: set[int]) -> dict[str, int]:
    """The workers of ``client``'s scheduler whose process is one of ``wanted``, by address."""
    workers = list(client.nthreads())
    pids = client.run(os.getpid, workers=workers, on_error="return") if workers else {}
    return {a: p for a, p in pids.items() if p in wanted}


@pytest.fixture(scope="module")
def spare_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpareCluster]:
    """A ``SpareCluster`` for the module; each test starts the workers it kills."""
    with (tmp_path_factory.mktemp("spare") / "dask.log").open("wb") as log:
        spare = SpareCluster(_free_port(), log)
        try:
            yield spare
        finally:
            spare.close()
