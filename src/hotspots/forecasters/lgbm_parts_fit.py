"""LightGBM trained across Dask workers on the row parts each worker already holds.

``DaskLGBMRegressor`` joins a worker's parts into one array before LightGBM bins it, so
each worker briefly holds its rows twice (at 500k cells ~2.8 GB more per worker). Here each
worker hands LightGBM the list of its parts' arrays (``lgb.Dataset`` bins a list of arrays
as it bins one array: the same sampled rows, the same bins) and otherwise trains exactly as
``lightgbm.dask`` does: one LightGBM machine per worker (data parallel), the workers in the
order their first part comes, ports found the way ``lightgbm.dask`` finds them, the
parameters the scikit-learn wrapper passes to ``lgb.train``. Tests compare the trees with
``DaskLGBMRegressor``'s on the same parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

if TYPE_CHECKING:
    import lightgbm as lgb
    from distributed import Client, Future

Part = tuple[Any, Any, Any]
"""One part's rows on a worker: features (rows x k, float32), target and weight (or None)."""


def train_on_workers(
    client: Client,
    parts: Sequence[tuple[Future, str]],
    params: dict[str, Any],
    spawned: list[Future] | None = None,
) -> lgb.Booster:
    """A booster trained with ``params`` (``LGBMRegressor``'s, ``n_estimators`` and
    ``time_out`` among them) on the parts' rows (each a future of a ``Part`` held by the
    named worker), where they are; its tasks are added to ``spawned``."""
    from lightgbm.basic import _ConfigAliases
    from lightgbm.dask import _assign_open_ports_to_workers  # lightgbm.dask's own port search

    params = {k: v for k, v in params.items() if k not in _ConfigAliases.get("num_machines")}
    params = {k: v for k, v in params.items() if k not in _ConfigAliases.get("num_threads")}
    if not _ConfigAliases.get("tree_learner") & params.keys():
        params["tree_learner"] = "data"
    by_worker: dict[str, list[Future]] = {}
    for future, worker in parts:
        by_worker.setdefault(worker, []).append(future)
    workers = list(by_worker)
    sockets, ports = _assign_open_ports_to_workers(client=client, workers=workers)
    machines = ",".join(f"{urlparse(w).hostname}:{ports[w]}" for w in workers)
    cores = client.ncores()
    network = {"machines": machines, "num_machines": len(workers)}
    futures = [
        client.submit(
            _train_here,
            by_worker[w],
            {**params, **network, "local_listen_port": ports[w], "num_threads": cores[w]},
            sockets[w],
            w == workers[0],
            workers=[w],
            allow_other_workers=False,
            pure=False,
        )
        for w in workers
    ]
    if spawned is not None:
        spawned += futures
    boosters = [b for b in client.gather(futures) if b is not None]
    return boosters[0]


def _train_here(
    parts: list[Part], params: dict[str, Any], remote_socket: Any, main: bool
) -> lgb.Booster | None:
    """This worker's LightGBM machine: its parts binned as one list of arrays, then trained
    with the others' (as ``LGBMRegressor.fit`` trains); the first worker's booster is the
    model."""
    import lightgbm as lgb

    model = lgb.LGBMRegressor(**params)
    fit_params = model._process_params(stage="fit")
    metric = fit_params["metric"]
    metric = [metric] if isinstance(metric, str | None) else metric
    fit_params["metric"] = [m for m in metric if m is not None]
    label = np.concatenate([p[1] for p in parts])
    weight = None if parts[0][2] is None else np.concatenate([p[2] for p in parts])
    remote_socket.release()  # the port is LightGBM's from here on
    dataset = lgb.Dataset([p[0] for p in parts], label=label, weight=weight, params=fit_params)
    booster = lgb.train(fit_params, dataset, num_boost_round=model.n_estimators)
    booster.free_network()
    return booster if main else None
