"""Where the tasks run: a LocalCluster of worker processes on this machine, or a scheduler."""

from __future__ import annotations

import logging
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

    # the workers' statistical profiler samples every thread's stack each 10 ms (holding the
    # GIL) for a dashboard this cluster does not start: off, it costs the fits nothing
    settings = {
        "distributed.worker.profile.enabled": False,
        "distributed.scheduler.no-workers-timeout": f"{no_workers_timeout}s",
    }
    with (
        dask.config.set(settings),
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


def _n_workers(client: Client) -> int:
    return len(client.scheduler_info().get("workers", {}))
