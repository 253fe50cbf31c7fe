"""LightGBM trained by ``lightgbm.dask`` across a Dask cluster's workers, for a training set
that one worker's memory cannot hold (``[model.params] engine = "dask"``).

The training rows are built where they are trained: the panel's cells go in parts of whole
parent groups (``features.cell_parts``), each part's slice of the panel (with its halo of
neighbour cells) is sent to one worker, which builds that part's rows
(``features.part_training``: the whole build's rows, value for value) and keeps them for the
fit. No process holds the whole feature matrix; each worker holds its parts' rows and
LightGBM's bins of them (``lgbm_parts_fit``: a worker's parts are binned as a list, not
joined into one array first as ``DaskLGBMRegressor`` joins them).

Known hangs are guarded: several distributed fits at once on one cluster can hang
(LightGBM issue #4942), so fits hold a cluster-wide lock and run one at a time; a worker
that restarts or pauses mid-fit leaves the others waiting for it (#5920), so paused workers
are refused before the fit, LightGBM's own socket timeout is set, and the fit is given up
as soon as one of its workers leaves the cluster, or after ``fit_timeout`` seconds, with
``DistributedFitError`` saying what to do. A fit given up keeps the lock until it ends (or
its worker restarts), so the next one waits rather than run beside it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError, HotspotsError
from hotspots.features.cell_parts import cell_parts
from hotspots.features.event_table import EventTable
from hotspots.features.matrix import FeatureBuilder
from hotspots.features.part_training import PartInputs, part_inputs, part_training_set

if TYPE_CHECKING:
    import lightgbm as lgb
    from distributed import Client, Future

logger = logging.getLogger(__name__)

LOCK_NAME = "hotspots-lightgbm-dask"
ENGINES = ("local", "dask")
PART_ROWS = 2_000_000
"""Training rows (before quiet rows are dropped) a part aims at: ~280 MB of features."""
MIN_PARTS = 4  # a small panel is still spread over the workers
AHEAD = 2
"""Part slices sent to a worker and not yet built into rows, at most: one building, one
waiting (the whole panel's slices at once would be another copy of it on the workers)."""
WATCH = 1.0
"""Seconds between two looks at the fit's workers while it runs."""


def train_on_cluster(
    params: dict[str, Any],
    builder: FeatureBuilder,
    counts: npt.NDArray[Any],
    target: npt.NDArray[Any],
    periods: pd.DatetimeIndex,
    events: EventTable | None,
    options: dict[str, Any],
    n_estimators: int,
    fit_timeout: float,
) -> tuple[lgb.Booster, int]:
    """``train_on_parts`` of ``builder.training_set(counts, target, periods, events=events,
    **options)`` split into parts of about ``PART_ROWS`` rows (at least ``MIN_PARTS``)."""
    per_cell = max(1, len(periods) * int(options.get("max_horizon", 1)))
    n_cells = int(builder.cells.size)
    max_cells = max(1, min(PART_ROWS // per_cell, math.ceil(n_cells / MIN_PARTS)))
    parts = cell_parts(builder.cells, builder.resolution, max_cells)
    inputs = (part_inputs(builder, counts, target, periods, events, p) for p in parts)
    return train_on_parts(params, inputs, options, n_estimators, fit_timeout)


class DistributedFitError(HotspotsError, TimeoutError):
    """A ``lightgbm.dask`` fit did not finish, or could not start safely."""


def train_on_parts(
    params: dict[str, Any],
    parts: Iterable[PartInputs],
    options: dict[str, Any],
    n_estimators: int,
    fit_timeout: float,
) -> tuple[lgb.Booster, int]:
    """A booster trained by ``DaskLGBMRegressor`` on the current Dask cluster, and its number
    of training rows: each part's rows (``part_training_set(part, **options)``) are built on
    the worker with the fewest cells so far and trained there; one such fit at a time per
    cluster (the rows of a fit waiting for the lock are not built yet)."""
    with _client() as client:
        workers = _running_workers(client)
        from distributed import Lock

        lock = Lock(LOCK_NAME)  # the client in use is the default one here
        if not lock.acquire(timeout=fit_timeout):
            raise DistributedFitError(
                f"another lightgbm.dask fit held the cluster for {fit_timeout:g} s "
                "(fit_timeout); fits run one at a time (LightGBM issue #4942)"
            )
        spawned: list[Future] = []  # the fit's tasks: cancelled should it be given up

        def build_and_fit() -> tuple[lgb.Booster, int]:
            try:
                built = _build(client, workers, parts, options, spawned)
                return _fit(client, built, params, n_estimators, fit_timeout, spawned)
            finally:  # as the fit ends, even one given up: never two at once (#4942)
                lock.release()

        return _in_time(build_and_fit, fit_timeout, client, workers, spawned)


@contextmanager
def _client() -> Iterator[Client]:
    """The cluster's client: inside a task, one that leaves the worker's thread free while
    it waits (a fit waiting on its own worker would never finish).

    The task takes a thread again only when the fit ends well (``rejoin``). A fit given up
    (a worker lost: ``_in_time``) leaves at once: rejoining waits for the worker's thread,
    which its own part of LightGBM's training may hold until LightGBM's socket ``time_out``
    (minutes), waiting for the lost machine; ``worker_client`` rejoined on errors too, and
    the run's error then waited for it (``test_lost_workers``, ~1 run in 5)."""
    try:
        from distributed import get_client, get_worker, rejoin, secede
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
    client = get_client()
    secede()  # as worker_client does: the worker may run the fit's tasks in this thread
    yield client  # an error leaves here, without rejoin()
    rejoin()


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


def _build(
    client: Client,
    workers: list[str],
    parts: Iterable[PartInputs],
    options: dict[str, Any],
    spawned: list[Future],
) -> list[tuple[Future, str, tuple[int, int, bool]]]:
    """Each part's rows built on one worker (kept there), that worker and the rows' shape
    (rows, features, weighted); empty parts left out. A part's slice goes straight to its
    worker, once fewer than ``AHEAD`` of that worker's slices wait to be built (the worker
    is chosen by cells alone, so when they go never changes where)."""
    from distributed import wait

    cells = dict.fromkeys(workers, 0)
    queued: dict[str, deque[Future]] = {w: deque() for w in workers}
    built: list[tuple[Future, str]] = []
    start = time.monotonic()
    for i, inputs in enumerate(parts):
        worker = min(workers, key=cells.__getitem__)
        cells[worker] += int(inputs.rows.own.size)
        while len(queued[worker]) >= AHEAD:
            wait([queued[worker].popleft()])
        [sent] = client.scatter([inputs], workers=[worker], direct=True, hash=False)
        rows = client.submit(
            _part_arrays, sent, options, key=f"lightgbm-part-{i}-{time.time_ns()}",
            workers=[worker], allow_other_workers=False, pure=False,
        )  # fmt: skip
        built.append((rows, worker))
        spawned.append(rows)
        queued[worker].append(rows)
        del sent, inputs  # the slice leaves the worker once its rows are built
    shaped = [client.submit(_shape, f, workers=[w], pure=False) for f, w in built]
    spawned += shaped
    shapes = client.gather(shaped)
    logger.info(
        "lightgbm.dask: %d rows built in %d parts on %d workers (cells per worker %s) in %.1f s",
        sum(n for n, _, _ in shapes), len(built), len(workers), sorted(cells.values()),
        time.monotonic() - start,
    )  # fmt: skip
    return [(f, w, shape) for (f, w), shape in zip(built, shapes, strict=True) if shape[0]]


def _part_arrays(inputs: PartInputs, options: dict[str, Any]) -> tuple[Any, Any, Any]:
    train = part_training_set(inputs, **options)
    return train.X, train.y, train.weight


def _shape(arrays: tuple[Any, Any, Any]) -> tuple[int, int, bool]:
    return int(arrays[0].shape[0]), int(arrays[0].shape[1]), arrays[2] is not None


def _in_time(
    run: Callable[[], Any],
    fit_timeout: float,
    client: Client,
    workers: list[str],
    spawned: list[Future],
) -> Any:
    """``run()`` in a thread, given up after ``fit_timeout`` seconds, or as soon as one of the
    fit's ``workers`` has left the cluster (LightGBM's other machines would wait for it).
    Given up, its ``spawned`` tasks are cancelled: the thread then ends as soon as it waits
    for one (and releases the lock), except while LightGBM trains, which ends at its socket
    ``time_out``."""
    done: dict[str, Any] = {}

    def target() -> None:
        try:
            done["value"] = run()
        except BaseException as err:  # handed to the caller's thread
            done["error"] = err

    thread = threading.Thread(target=target, name="lightgbm-dask-fit", daemon=True)
    thread.start()
    deadline = time.monotonic() + fit_timeout
    while thread.is_alive() and (left := deadline - time.monotonic()) > 0:
        thread.join(min(WATCH, left))
        if thread.is_alive() and (gone := _gone(client, workers)):
            _cancel(client, spawned)
            raise _left(gone, len(workers))
    if thread.is_alive():
        _cancel(client, spawned)
        raise DistributedFitError(
            f"the lightgbm.dask fit did not finish in {fit_timeout:g} s (fit_timeout) on "
            f"{len(workers)} workers: a known LightGBM hang (issues #4942, #5920). Restart the "
            "Dask workers (client.restart()), check none is short of memory, and run again"
        )
    if "error" in done:
        err = done["error"]
        gone = _gone(client, workers)
        if not gone and isinstance(err, OSError):  # a connection to a worker closed
            time.sleep(WATCH)  # the scheduler's view may lag behind it
            gone = _gone(client, workers)
        if gone:
            raise _left(gone, len(workers)) from err
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DistributedFitError(f"the lightgbm.dask fit failed: {first}") from err
    return done["value"]


def _left(gone: list[str], n_workers: int) -> DistributedFitError:
    return DistributedFitError(
        f"Dask worker {', '.join(gone)} left the cluster during the lightgbm.dask fit on "
        f"{n_workers} workers, whose other machines would wait for it (LightGBM issue "
        "#5920): run again once the cluster has its workers"
    )


def _cancel(client: Client, spawned: list[Future]) -> None:
    try:
        client.cancel(list(spawned))
    except (OSError, TimeoutError):  # the scheduler is gone: so are the tasks
        logger.warning("could not cancel the lightgbm.dask fit's %d tasks", len(spawned))


def _gone(client: Client, workers: list[str]) -> list[str]:
    """The fit's workers no longer in the cluster (none when the scheduler cannot say)."""
    try:
        present = set(client.nthreads())
    except (OSError, TimeoutError):
        return []
    return [w for w in workers if w not in present]


def _fit(
    client: Client,
    built: list[tuple[Future, str, tuple[int, int, bool]]],
    params: dict[str, Any],
    n_estimators: int,
    fit_timeout: float,
    spawned: list[Future],
) -> tuple[lgb.Booster, int]:
    """LightGBM trained as ``DaskLGBMRegressor`` trains, on each worker's list of parts
    (``lgbm_parts_fit``: no worker joins its parts into one array first)."""
    from lightgbm import LGBMRegressor

    from hotspots.forecasters.lgbm_parts_fit import train_on_workers

    if not built:
        raise DistributedFitError("the lightgbm.dask fit has no training rows")
    wanted = {k: v for k, v in params.items() if k not in ("num_threads", "verbosity")}
    model = LGBMRegressor(
        n_estimators=n_estimators,
        time_out=max(1, math.ceil(fit_timeout / 60)),  # LightGBM's socket timeout, minutes
        verbosity=-1,
        **wanted,
    )
    parts = [(f, w) for f, w, _ in built]
    booster = train_on_workers(client, parts, model.get_params(), spawned)
    logger.info("lightgbm.dask trained %d trees on %d parts", booster.num_trees(), len(built))
    return booster, sum(n for _, _, (n, _, _) in built)
