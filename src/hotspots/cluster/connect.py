"""Where the tasks run: a LocalCluster of worker processes on this machine, or a scheduler."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hotspots.cluster.watch import NO_WORKERS_TIMEOUT
from hotspots.errors import ConfigError

if TYPE_CHECKING:
    from distributed import Client

logger = logging.getLogger(__name__)

_LOCAL = re.compile(r"local(?::(\d+))?")
DEFAULT_LOCAL_WORKERS = 2
PRELOAD = ("distributed", "hotspots.cluster.specs", "lightgbm", "hotspots.evaluation.plots")
"""What local workers run, imported once by the fork server they are forked from."""


@dataclass(frozen=True)
class Address:
    """A parsed ``--cluster``: ``workers`` local worker processes, or a scheduler ``url``."""

    workers: int | None = None
    url: str | None = None

    def __str__(self) -> str:
        return self.url if self.url is not None else f"local:{self.workers}"


def parse_address(text: str) -> Address:
    """``local`` (2 workers), ``local:N`` or ``tcp://HOST:PORT`` (also ``tls://``)."""
    value = text.strip()
    if m := _LOCAL.fullmatch(value):
        n = int(m.group(1)) if m.group(1) else DEFAULT_LOCAL_WORKERS
        if n < 1:
            raise ConfigError(f"--cluster {text!r}: local:N needs at least 1 worker")
        return Address(workers=n)
    if re.fullmatch(r"(tcp|tls)://[^\s/:]+(:\d+)?", value):
        return Address(url=value)
    raise ConfigError(
        f"--cluster {text!r} is not 'local', 'local:N' or a scheduler address such as "
        "'tcp://HOST:8786'"
    )


def _import_distributed() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError as err:
        raise ConfigError(
            "--cluster needs Dask: pip install 'hotspots[dask]' (dask and distributed)"
        ) from err


@contextmanager
def connect(
    address: Address | str, no_workers_timeout: float = NO_WORKERS_TIMEOUT
) -> Iterator[Client]:
    """A Dask client for ``address``; a local cluster is started and stopped with it.

    Local workers are processes with one thread each: a task is the unit of work, and the
    GIL-bound parts of a fit (pandas, the baselines) run side by side, not in turn. A local
    scheduler fails a task that cannot run (its worker lost, or none left) after
    ``no_workers_timeout`` seconds; a remote one has its own setting (``watch``).
    """
    _import_distributed()
    from distributed import Client, LocalCluster

    # Dask sets "distributed" to INFO on import, under the CLI's root handler: ~40 lines of
    # scheduler and nanny chatter a run. It follows the process's level (--verbose) instead.
    logging.getLogger("distributed").setLevel(logging.NOTSET)

    where = parse_address(address) if isinstance(address, str) else address
    if where.url is not None:
        try:
            client = Client(where.url, timeout="20s")
        except OSError as err:
            raise ConfigError(f"no Dask scheduler answered at {where.url}: {err}") from err
        with client:
            logger.info("connected to %s (%d workers)", where.url, _n_workers(client))
            yield client
        return
    import dask

    # Dask's own monitoring, for a dashboard this cluster does not start: the workers'
    # statistical profiler samples every thread's stack each 10 ms (holding the GIL): off.
    # The event loops' health tick (20 ms), the system monitor (0.5 s) and the workers'
    # memory monitor (0.1 s) kept an idle 2-worker cluster at 7.5% of a core, 1.8% so
    # (as the Dask tests' clusters, tests/cluster/conftest.py)
    settings = {
        "distributed.worker.profile.enabled": False,
        "distributed.admin.tick.interval": "1s",
        "distributed.admin.system-monitor.interval": "2s",
        "distributed.worker.memory.monitor-interval": "500ms",
        "distributed.scheduler.no-workers-timeout": f"{no_workers_timeout}s",
        **_FORKED,
    }
    with dask.config.set(settings):
        _start_fork_server()  # at once, unless start_early has
        with (
            LocalCluster(
                n_workers=where.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.WARNING,
            ) as cluster,
            Client(cluster) as client,
        ):
            logger.info("started a local cluster of %d worker processes", where.workers)
            yield client


def start_early(address: str) -> None:
    """Start a local cluster's fork server now, as the command begins, so that it imports
    ``PRELOAD`` on the other core while the command reads and checks its specs (~1 s);
    ``connect`` then finds it running. Nothing for a scheduler's address, for one that
    ``connect`` will refuse (it says why, after the specs' own errors) or without Dask."""
    try:
        where = parse_address(address)
        import dask
        import distributed  # noqa: F401  (its settings, before dask.config.set adds to them)
    except (ConfigError, ImportError):
        return
    if where.workers is not None:
        with dask.config.set(_FORKED):
            _start_fork_server()


_FORKED = {"distributed.worker.multiprocessing-method": "forkserver"}


def _start_fork_server() -> None:
    """Local workers forked from one server process that has imported ``PRELOAD``.

    Spawned, each worker started a fresh interpreter and imported Dask, then pandas,
    scikit-learn, LightGBM and the library on unpickling its first task (2-3 s of CPU each,
    before any task ran), and ran the interpreter's whole teardown when it stopped (~1.5 s
    with those modules). The fork server (one per process, started here on first use, while
    the scheduler starts) imports them once; its workers end with ``os._exit``. It starts
    with Dask's pre-spawn environment (one OpenMP / BLAS thread, the hash seed), which a
    spawned worker gets from its nanny but a forked one only from its server.
    """
    from multiprocessing import forkserver

    import dask
    from distributed.utils import get_mp_context

    get_mp_context().set_forkserver_preload(["__main__", *PRELOAD])  # after Dask's own list
    env = {k: str(v) for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()}
    if env.get("PYTHONHASHSEED") in (None, "0"):  # as the nanny sets it (distributed #8400)
        env["PYTHONHASHSEED"] = "6640"
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        forkserver.ensure_running()  # the server imports PRELOAD in its own process
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _n_workers(client: Client) -> int:
    return len(client.scheduler_info().get("workers", {}))
