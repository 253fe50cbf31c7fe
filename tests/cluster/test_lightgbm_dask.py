"""LightGBM trained by lightgbm.dask across a 2-worker LocalCluster (engine = "dask"), and
the guards against its known hangs."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from scipy.stats import spearmanr

from hotspots.errors import ConfigError
from hotspots.features import Panel
from hotspots.forecasters import LightGBMForecaster, forecaster_from_state
from hotspots.forecasters.lgbm_dask import (
    LOCK_NAME,
    DistributedFitError,
    _in_time,
    _running_workers,
)

pytest.importorskip("distributed")

AS_OF = "2023-12-25"


def _model(**kw: Any) -> LightGBMForecaster:
    return LightGBMForecaster(target="Burglary Residential", n_estimators=20, n_jobs=1, **kw)


def test_without_a_cluster_the_dask_engine_says_how_to_get_one(year_panel: Panel) -> None:
    with pytest.raises(ConfigError, match="--cluster"):
        _model(engine="dask").fit(year_panel)


def test_an_unknown_engine_is_refused(year_panel: Panel) -> None:
    with pytest.raises(ConfigError, match="engine"):
        _model(engine="spark").fit(year_panel)


def test_a_paused_worker_is_refused_before_the_fit_would_wait_for_it() -> None:
    workers = {"tcp://a:1": {"status": "running"}, "tcp://b:2": {"status": "paused"}}
    client = SimpleNamespace(scheduler_info=lambda n_workers: {"workers": workers})
    with pytest.raises(DistributedFitError, match=r"#5920.*"):
        _running_workers(client)  # type: ignore[arg-type]


def test_a_worker_leaving_mid_fit_ends_it_at_once_with_5920_named() -> None:
    """LightGBM's machines wait for one that is gone (#5920): the fit is given up as soon
    as one of its workers has left, not after fit_timeout."""
    present = {"tcp://a:1": 1, "tcp://b:2": 1}
    cancelled: list[Any] = []
    client = SimpleNamespace(nthreads=lambda: dict(present), cancel=cancelled.extend)
    spawned = ["part-0", "part-1"]  # the fit's tasks so far
    release = threading.Event()
    started = time.monotonic()
    threading.Timer(0.5, present.pop, ("tcp://b:2",)).start()
    try:
        with pytest.raises(DistributedFitError, match=r"worker tcp://b:2 left .* #5920"):
            _in_time(release.wait, 300, client, sorted(present), spawned)  # type: ignore[arg-type]
    finally:
        release.set()
    assert time.monotonic() - started < 5
    assert cancelled == spawned  # the fit's thread no longer waits for them


def test_a_failed_fit_says_why_in_one_line() -> None:
    def fails() -> None:
        raise ValueError("no valid worker for task x\n\nRestrictions: ...")

    client = SimpleNamespace(nthreads=lambda: {"tcp://a:1": 1})
    with pytest.raises(DistributedFitError) as info:
        _in_time(fails, 300, client, ["tcp://a:1"], [])  # type: ignore[arg-type]
    assert str(info.value) == "the lightgbm.dask fit failed: no valid worker for task x"


@pytest.fixture
def client(scheduler: str) -> Iterator[Any]:
    """A client of the 2-worker cluster (worker processes: LightGBM's network needs one
    process per machine)."""
    from distributed import Client

    with Client(scheduler, timeout="30s") as c:
        yield c


def test_the_dask_engine_trains_across_the_workers_and_forecasts_like_the_local_one(
    client: Any, year_panel: Panel
) -> None:
    spread = _model(engine="dask", fit_timeout=300).fit(year_panel, until=AS_OF)
    local = _model().fit(year_panel, until=AS_OF)
    assert spread.booster_.num_trees() == 20
    assert spread.feature_names_ == local.feature_names_
    got = spread.predict(year_panel, as_of=AS_OF)["expected_count"].to_numpy()
    want = local.predict(year_panel, as_of=AS_OF)["expected_count"].to_numpy()
    assert np.isfinite(got).all() and got.sum() == pytest.approx(want.sum(), rel=0.25)
    assert spearmanr(got, want).statistic > 0.8  # not the same trees, the same ranking
    again = forecaster_from_state(spread.get_state())  # saved and loaded as LightGBM is
    back = again.predict(year_panel, as_of=AS_OF)["expected_count"].to_numpy()
    np.testing.assert_array_equal(back, got)


def test_the_rows_are_built_in_parts_on_both_workers_and_are_the_local_engines_rows(
    client: Any, year_panel: Panel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hotspots.forecasters.lgbm_dask")
    kw = {"zero_row_fraction": 0.5, "max_horizon": 2}
    spread = _model(engine="dask", fit_timeout=300, **kw).fit(year_panel, until=AS_OF)
    local = _model(**kw).fit(year_panel, until=AS_OF)
    built = re.search(
        r"(\d+) rows built in (\d+) parts on 2 workers \(cells per worker \[(\d+), (\d+)\]",
        caplog.text,
    )
    assert built is not None, caplog.text
    rows, parts, fewer, more = map(int, built.groups())
    assert rows == spread.n_train_rows_ == local.n_train_rows_  # the same quiet rows kept
    assert parts >= 4 and 0 < fewer <= more and fewer + more == year_panel.cells.size
    assert spread.booster_.num_trees() == 20 and spread.feature_names_ == local.feature_names_
    got = spread.predict(year_panel, as_of=AS_OF)["expected_count"].to_numpy()
    want = local.predict(year_panel, as_of=AS_OF)["expected_count"].to_numpy()
    assert spearmanr(got, want).statistic > 0.8


def test_a_fit_past_its_timeout_is_given_up_with_the_known_hangs_named(
    client: Any, year_panel: Panel
) -> None:
    from distributed import Lock

    with pytest.raises(DistributedFitError, match=r"did not finish in 0\.01 s.*#4942, #5920"):
        _model(engine="dask", fit_timeout=0.01).fit(year_panel, until=AS_OF)
    # the fit given up goes on in the background, holding the cluster's lock until it ends
    # (no fit starts beside it: #4942); the folder's other tests share its workers
    [fit] = [t for t in threading.enumerate() if t.name == "lightgbm-dask-fit"]
    locked = Lock(LOCK_NAME).locked()
    assert locked or not fit.is_alive()  # released only once the fit has ended
    fit.join(timeout=120)
    assert not fit.is_alive() and not Lock(LOCK_NAME).locked()


def test_a_fit_waits_for_another_at_most_fit_timeout_with_4942_named(
    client: Any, year_panel: Panel
) -> None:
    from distributed import Lock

    other = Lock(LOCK_NAME)
    assert other.acquire(timeout=30)
    try:
        started = time.monotonic()
        with pytest.raises(DistributedFitError, match=r"held the cluster for 1 s .*#4942"):
            _model(engine="dask", fit_timeout=1).fit(year_panel, until=AS_OF)
        assert time.monotonic() - started < 10
    finally:
        other.release()
