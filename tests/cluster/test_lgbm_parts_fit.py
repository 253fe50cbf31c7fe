"""LightGBM trained on each worker's list of parts (``lgbm_parts_fit``) grows the trees it
grows from the same parts joined into one array per worker (as ``DaskLGBMRegressor`` joins
them), and a list of arrays bins as one array."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from hotspots.features import Panel
from hotspots.forecasters import LightGBMForecaster, lgbm_dask
from hotspots.forecasters.lgbm_parts_fit import train_on_workers

pytest.importorskip("distributed")
from lightgbm import LGBMRegressor

AS_OF = "2023-12-25"


@pytest.fixture
def client(scheduler: str) -> Iterator[Any]:
    from distributed import Client

    with Client(scheduler, timeout="30s") as c:
        yield c


def _joined_fit(client: Any, built: list[Any], params: dict[str, Any]) -> Any:
    """``train_on_workers`` of one joined part per worker (what ``DaskLGBMRegressor``
    trains each worker on), the workers in the same order."""
    from distributed import Future

    def on(w: str, func: Any, *args: Any) -> Future:
        return client.submit(func, *args, workers=[w], allow_other_workers=False, pure=False)

    joined = []
    for w in dict.fromkeys(w for _, w, _ in built):
        mine = [f for f, v, _ in built if v == w]
        pieces = [on(w, operator.itemgetter(i), f) for i in range(3) for f in mine]
        n = len(mine)
        arrays = [on(w, np.concatenate, pieces[i * n : (i + 1) * n]) for i in range(3)]
        joined.append((on(w, tuple, arrays), w))
    return train_on_workers(client, joined, params)


def test_the_parts_fit_grows_the_joined_fits_trees(
    client: Any, year_panel: Panel, monkeypatch: pytest.MonkeyPatch
) -> None:
    both: dict[str, Any] = {}
    parts_fit = lgbm_dask._fit

    def fit_both(
        client: Any, built: list[Any], params: dict[str, Any], n: int, timeout: float, *more: Any
    ) -> Any:
        assert len({w for _, w, _ in built}) == 2 and len(built) >= 4  # both workers' parts
        booster, rows = parts_fit(client, built, params, n, timeout, *more)
        seen = {k: v for k, v in params.items() if k not in ("num_threads", "verbosity")}
        want = LGBMRegressor(n_estimators=n, time_out=5, verbosity=-1, **seen).get_params()
        both["joined"], both["parts"] = _joined_fit(client, built, want), booster
        return booster, rows

    monkeypatch.setattr(lgbm_dask, "_fit", fit_both)
    model = LightGBMForecaster(
        target="Burglary Residential",
        n_estimators=15,
        n_jobs=1,
        engine="dask",
        fit_timeout=300,
        zero_row_fraction=0.5,
    ).fit(year_panel, until=AS_OF)
    joined, parts = both["joined"].dump_model(), both["parts"].dump_model()
    assert parts["tree_info"] == joined["tree_info"] and len(parts["tree_info"]) == 15
    assert parts["feature_names"] == joined["feature_names"]
    assert model.booster_ is both["parts"]
    rng = np.random.default_rng(0)
    X = rng.poisson(1.0, (500, len(model.feature_names_))).astype(np.float32)
    np.testing.assert_array_equal(both["parts"].predict(X), both["joined"].predict(X))


def test_a_list_of_arrays_is_binned_and_trained_as_the_joined_array() -> None:
    import lightgbm as lgb

    rng = np.random.default_rng(1)
    X = rng.gamma(1.0, 2.0, (30_000, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.6] = 0  # mostly zeros, as the quiet cells' features are
    y = rng.poisson(X[:, 0] * 0.3 + 0.1).astype(np.float32)
    w = np.where(y == 0, 2.0, 1.0).astype(np.float32)
    params = {"objective": "poisson", "max_bin": 63, "bin_construct_sample_cnt": 5_000,
              "num_leaves": 15, "verbosity": -1, "num_threads": 1}  # fmt: skip
    cuts = [0, 7_000, 7_001, 19_000, 30_000]
    parts = [X[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    trees = [
        lgb.train(params, lgb.Dataset(data, label=y, weight=w, params=params), 10).dump_model()
        for data in (X, parts)
    ]
    assert trees[0]["tree_info"] == trees[1]["tree_info"]
    assert trees[0]["feature_infos"] == trees[1]["feature_infos"]
