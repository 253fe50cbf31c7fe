"""LightGBM trained by ``lightgbm.dask`` across a Dask cluster's workers, for a training set
that one worker's memory cannot hold (``[model.params] engine = "dask"``).

Known hangs are guarded: several distributed fits at once on one cluster can hang
(LightGBM issue #4942), so fits hold a cluster-wide lock and run one at a time; a worker
that restarts or pauses mid-fit leaves the others waiting for it (#5920), so paused workers
are refused before the fit, LightGBM's own socket timeout is set, and the fit is given up
after ``fit_timeout`` seconds with ``DistributedFitError`` saying what to do.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from hotspots.errors import ConfigError, HotspotsError

if TYPE_CHECKING:
    import lightgbm as lgb
    from distributed import Client

logger = logging.getLogger(__name__)

LOCK_NAME = "hotspots-lightgbm-dask"
ENGINES = ("local", "dask")


class DistributedFitError(HotspotsError, TimeoutError):
    """A ``lightgbm.dask`` fit did not finish, or could not start safely."""


def train_on_cluster(
    params: dict[str, Any],
    X: npt.NDArray[np.float32],
    y: npt.NDArray[Any],
    weight: npt.NDArray[Any] | None,
    n_estimators: int,
    fit_timeout: float,
) -> lgb.Booster:
    """A booster trained by ``DaskLGBMRegressor`` on the current Dask cluster, the rows split
    evenly over its workers; one such fit at a time per cluster."""
    with _client() as client:
        workers = _running_workers(client)
        from distributed import Lock

        lock = Lock(LOCK_NAME)  # the client in use is the default one here
        if not lock.acquire(timeout=fit_timeout):
            raise DistributedFitError(
                f"another lightgbm.dask fit held the cluster for {fit_timeout:g} s "
                "(fit_timeout); fits run one at a time (LightGBM issue #4942)"
            )
        try:
            return _fit(client, workers, params, X, y, weight, n_estimators, fit_timeout)
        finally:
            lock.release()


@contextmanager
def _client() -> Iterator[Client]:
    """The cluster's client: inside a task, one that leaves the worker's thread free while
    it waits (a fit waiting on its own worker would never finish)."""
    try:
        from distributed import get_client, get_worker, worker_client
    except ImportError as err:
        raise ConfigError("engine = 'dask' needs Dask: pip install 'hotspots[dask]'") from err
    try:
        get_worker()
    except ValueError:
        try:
            yield get_client()
        except ValueError as err:
            raise ConfigError(
                "engine = 'dask' trains LightGBM on a Dask cluster, and none is connected: "
                "run hotspots train with --cluster (or HOTSPOTS_DASK_SCHEDULER)"
            ) from err
        return
    with worker_client() as client:
        yield client


def _running_workers(client: Client) -> list[str]:
    """Every worker's address; DistributedFitError if one is paused or closing (#5920)."""
    info = client.scheduler_info(n_workers=-1)["workers"]
    if not info:
        raise DistributedFitError("the Dask cluster has no workers to train LightGBM on")
    stuck = {a: w.get("status") for a, w in info.items() if w.get("status", "running") != "running"}
    if stuck:
        raise DistributedFitError(
            f"Dask workers are not running: {stuck}; a lightgbm.dask fit would wait for them "
            "forever (LightGBM issue #5920): free their memory or restart them first"
        )
    return sorted(info)


def _fit(
    client: Client,
    workers: list[str],
    params: dict[str, Any],
    X: npt.NDArray[np.float32],
    y: npt.NDArray[Any],
    weight: npt.NDArray[Any] | None,
    n_estimators: int,
    fit_timeout: float,
) -> lgb.Booster:
    import dask.array as da
    from lightgbm import DaskLGBMRegressor

    rows = max(1, math.ceil(len(y) / len(workers)))  # one block of rows per worker
    parts = [da.from_array(a, chunks=(rows, *a.shape[1:])) for a in (X, y)]
    w = None if weight is None else da.from_array(weight, chunks=rows)
    wanted = {k: v for k, v in params.items() if k not in ("num_threads", "verbosity")}
    model = DaskLGBMRegressor(
        client=client,
        n_estimators=n_estimators,
        time_out=max(1, math.ceil(fit_timeout / 60)),  # LightGBM's socket timeout, minutes
        verbosity=-1,
        **wanted,
    )
    done: dict[str, Any] = {}

    def run() -> None:
        try:
            done["model"] = model.fit(parts[0], parts[1], sample_weight=w)
        except BaseException as err:  # handed to the caller's thread
            done["error"] = err

    thread = threading.Thread(target=run, name="lightgbm-dask-fit", daemon=True)
    thread.start()
    thread.join(fit_timeout)
    if thread.is_alive():
        raise DistributedFitError(
            f"the lightgbm.dask fit did not finish in {fit_timeout:g} s (fit_timeout) on "
            f"{len(workers)} workers: a known LightGBM hang (issues #4942, #5920). Restart the "
            "Dask workers (client.restart()), check none is short of memory, and run again"
        )
    if "error" in done:
        raise DistributedFitError(f"the lightgbm.dask fit failed: {done['error']}") from done[
            "error"
        ]
    booster: lgb.Booster = done["model"].booster_
    logger.info("lightgbm.dask trained %d trees on %d workers", booster.num_trees(), len(workers))
    return booster
