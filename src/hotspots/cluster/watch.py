"""A run on a cluster that cannot go on says so within a bounded time, never hangs.

A task held to a worker (a spec's tasks held where its panel is, ``specs._Run._home``) waits
for ever once that worker is lost, and every task waits for ever once no worker is left,
unless the scheduler has a ``distributed.scheduler.no-workers-timeout``: local clusters get
one (``connect``), a remote scheduler has its own configuration, which the client cannot set
(Dask's default is none). So the client applies the same rule itself: a task whose only
worker is gone, or any task when no worker is left, for ``timeout`` seconds ends the run.
Dask's own failures (that timeout on the scheduler, a task that killed every worker that ran
it) become the same ``ClusterError`` with the task named.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from hotspots.errors import ClusterError, ConfigError

if TYPE_CHECKING:
    from distributed import Client

NO_WORKERS_TIMEOUT = 300.0
"""Seconds a task may wait for a worker that has left (or for any, when none is left) before
the run ends (``HOTSPOTS_DASK_NO_WORKERS_TIMEOUT``, ``--no-workers-timeout``)."""
POLL = 1.0
"""Seconds between two looks at the cluster's workers while no task ends."""

Waiting = tuple[str, "list[str] | None"]
"""A task not yet ended: its label and the workers it is held to (None: any)."""


def check_timeout(timeout: float) -> float:
    """``timeout`` if it is a positive number of seconds, else ConfigError naming it."""
    if not timeout > 0:
        raise ConfigError(
            f"--no-workers-timeout (HOTSPOTS_DASK_NO_WORKERS_TIMEOUT) must be more than 0 "
            f"seconds, got {timeout!r}"
        )
    return float(timeout)


class Watch:
    """Looks at the cluster's workers (at most every ``POLL`` s) while tasks wait."""

    def __init__(self, client: Client, timeout: float) -> None:
        self.client, self.timeout = client, check_timeout(timeout)
        self.since: float | None = None  # when the tasks began to wait in vain
        self.last = -POLL

    def stuck(self, waiting: Iterable[Waiting]) -> str | None:
        """Why the waiting tasks cannot run, once that has lasted ``timeout`` s; else None."""
        now = time.monotonic()
        if now - self.last < POLL:
            return None
        self.last = now
        why = self._why(list(waiting))
        if why is None:
            self.since = None
            return None
        if self.since is None:
            self.since = now
        if now - self.since < self.timeout:
            return None
        return f"{why}, for {self.timeout:g} s (--no-workers-timeout)"

    def _why(self, waiting: list[Waiting]) -> str | None:
        where = self.client.scheduler.address if self.client.scheduler else "?"
        try:
            workers = set(self.client.nthreads())
        except (OSError, TimeoutError) as err:
            return f"the Dask scheduler at {where} does not answer ({err})"
        if not waiting:
            return None
        if not workers:
            return f"the Dask cluster at {where} has no workers left to run {len(waiting)} tasks"
        for label, held in waiting:
            if held and not workers.intersection(held):
                return (
                    f"task {label!r} runs only on worker {', '.join(held)} (it holds the "
                    f"spec's prepared panel), which has left the Dask cluster at {where}"
                )
        return None


def dask_failure(err: BaseException, label: str) -> ClusterError | None:
    """Dask's own failure of the task ``label`` as one line, or None for the task's own error
    (which the caller re-raises as it is)."""
    from distributed import CancelledError
    from distributed.scheduler import KilledWorker, NoValidWorkerError, NoWorkerError

    if isinstance(err, KilledWorker):
        last = getattr(err.last_worker, "address", err.last_worker)
        return ClusterError(
            f"task {label!r} was running on {err.allowed_failures + 1} Dask workers that all "
            f"died (the last: {last}; Dask's distributed.scheduler.allowed-failures is "
            f"{err.allowed_failures}): most often it needs more memory than a worker has"
        )
    if isinstance(err, NoValidWorkerError):
        held = ", ".join(sorted(map(str, err.worker_restrictions))) or "?"
        return ClusterError(
            f"task {label!r} runs only on worker {held}, which has left the Dask cluster, for "
            f"{err.timeout:g} s (the scheduler's no-workers-timeout)"
        )
    if isinstance(err, NoWorkerError):
        return ClusterError(
            f"the Dask cluster had no workers left to run task {label!r}, for {err.timeout:g} s "
            "(the scheduler's no-workers-timeout)"
        )
    if isinstance(err, CancelledError):
        return ClusterError(
            f"task {label!r} was cancelled by the Dask scheduler (was it restarted or stopped?)"
        )
    return None
