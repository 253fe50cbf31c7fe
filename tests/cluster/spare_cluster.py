"""``python spare_cluster.py PORT``: a Dask scheduler on 127.0.0.1:PORT and the workers a
lost-worker test kills, each forked from this one process once it has imported what they
run. A fresh ``dask worker`` spends 2-3 s of CPU importing Dask, pandas, scikit-learn and
LightGBM before its first task ends (the tests start six), and a fresh scheduler as long
unpickling its first specs.

The scheduler is forked at once (as ``dask scheduler --no-dashboard``). Then, read from
stdin, a line ``start`` forks one worker as ``dask worker
--nthreads 1 --no-nanny --memory-limit 2GiB`` on 127.0.0.1 without a dashboard (no nanny:
killing its process is losing that worker) and writes its pid; ``kill`` kills the workers
forked so far, reaps them and writes ``killed N``. At the end of stdin the workers and the
scheduler are killed and reaped, and this process ends. Dask's settings come from the
environment (conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Callable

import distributed

PRELOAD = (
    "hotspots.cluster.specs",  # the specs, prepare, outline, the fit blocks, the final fits
    "hotspots.forecasters.lgbm_dask",  # the parts' rows
    "hotspots.forecasters.lgbm_parts_fit",  # the distributed LightGBM fit
    "lightgbm",
)
HOST = "127.0.0.1"


def scheduler(port: int) -> None:
    async def run() -> None:
        async with distributed.Scheduler(host=HOST, port=port, dashboard=False) as s:
            await s.finished()

    asyncio.run(run())


def worker(address: str) -> None:
    async def run() -> None:
        async with distributed.Worker(
            address, nthreads=1, host=HOST, dashboard=False, memory_limit="2GiB"
        ) as w:
            await w.finished()

    asyncio.run(run())


def fork(serve: Callable[[], None]) -> int:
    """``serve()`` in a child process (its output to stderr: stdout is for the pids)."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        sys.stdin.close()
        os.dup2(2, 1)
        serve()
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


def kill(pids: list[int]) -> int:
    """Kill and reap ``pids`` (each already dead or not); how many there were."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    n = len(pids)
    pids.clear()
    return n


def main() -> None:
    port = int(sys.argv[1])
    for name in PRELOAD:
        importlib.import_module(name)
    address = f"tcp://{HOST}:{port}"
    first = [fork(lambda: scheduler(port))]
    workers: list[int] = []
    for line in sys.stdin:
        if line.strip() == "start":
            workers.append(fork(lambda: worker(address)))
            print(workers[-1], flush=True)
        elif line.strip() == "kill":
            print(f"killed {kill(workers)}", flush=True)
    kill(workers)
    kill(first)


if __name__ == "__main__":
    main()
