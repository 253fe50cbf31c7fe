"""A worker lost mid-run on a ``tcp://`` scheduler (which has no no-workers-timeout of its
own) ends the run within ``--no-workers-timeout``: one error line, exit 2, nothing written
to the registry; never a hang."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hotspots import cluster
from hotspots.synthetic import COLUMN_MAP, TIMEZONE, generate_city, write_city

pytest.importorskip("distributed")

RunCli = Any
Chooser = Callable[[dict[str, list[str]]], list[str]]
"""The workers to kill, given what each worker is processing (nothing yet: [])."""

SPEC = """
name = "{name}"
[data]
events = "{events}"
map = "{map}"
timezone = "{tz}"
[target]
categories = ["burglary"]
[grid]
resolution = 8
period = "W"
[model]
kind = "{kind}"
baselines = ["last_period"]
{params}
[backtest]
folds = 2
coverages = [0.05]
select_coverage = 0.05
"""
SPREAD = '[model.params]\nn_estimators = 5\nengine = "dask"\nfit_timeout = 300'


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    city = generate_city(seed=5, start="2023-01-02", days=119, target_events=2_000)
    out = tmp_path_factory.mktemp("lost_city")
    write_city(city, out)
    return out / "events.csv.gz"


def _spec(folder: Path, events: Path, name: str, kind: str, params: str = "") -> Path:
    path = folder / f"{name}.toml"
    text = SPEC.format(name=name, events=events, map=COLUMN_MAP, tz=TIMEZONE, kind=kind,
                       params=params)  # fmt: skip
    path.write_text(text)
    return path


def _killer(address: str, pids: dict[str, int], choose: Chooser, killed: dict[str, Any]) -> Any:
    """A thread that kills the workers ``choose`` picks, once it picks any (and says when)."""
    from distributed import Client

    def run() -> None:
        # not the default client: it ends in this thread while the CLI's client lives on
        with Client(address, timeout="30s", set_as_default=False) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                processing = {w: list(map(str, k)) for w, k in client.processing().items()}
                if victims := choose(processing):
                    for worker in victims:
                        os.kill(pids[worker], signal.SIGKILL)
                    killed.update(workers=victims, at=time.monotonic())
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _kept(connect: Any, killed: dict[str, Any]) -> Any:
    """``cluster.connect`` keeping the CLI's client in ``killed["client"]``."""

    @contextmanager
    def kept(*args: Any, **kw: Any) -> Iterator[Any]:
        with connect(*args, **kw) as client:
            killed["client"] = client
            yield client

    return kept


def _unhang(killed: dict[str, Any], ended: threading.Event) -> None:
    """Should the run still wait a minute after the kill (the bound broken), its client is
    closed: its tasks are cancelled and the run fails, rather than the suite hang."""
    while not ended.wait(1):
        if "at" in killed and time.monotonic() - killed["at"] > 60:
            killed["client"].close()
            return


def _registry(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _lost_run(
    run_cli: RunCli, spare: Any, spec: Path, root: Path, choose: Chooser
) -> tuple[str, list[str], float]:
    """``hotspots train SPEC --cluster SPARE --no-workers-timeout 1`` with 2 fresh workers,
    the chosen ones killed mid-run: it must end with exit 2, one error line and nothing in
    the registry. That line, the workers killed and the seconds from the kill to the end."""
    pids = spare.start(2)
    killed: dict[str, Any] = {}
    thread = _killer(spare.address, pids, choose, killed)
    ended = threading.Event()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cluster, "connect", _kept(cluster.connect, killed))
        threading.Thread(target=_unhang, args=(killed, ended), daemon=True).start()
        try:
            args = ["--models-dir", root, "--cluster", spare.address, "--no-workers-timeout", "1"]
            done = run_cli("train", spec, *args)
            end = time.monotonic()
        finally:
            ended.set()
            thread.join(timeout=5)
            spare.kill_all()
    assert killed, done.err  # the run did not end before a worker was lost
    took = end - killed["at"]
    assert done.code == 2, done.err
    [error] = [line for line in done.err.splitlines() if line.startswith("error:")]
    assert "Traceback" not in done.err and "published" not in done.err
    assert _registry(root) == []
    return error, killed["workers"], took


def test_the_worker_holding_a_specs_panel_lost_mid_task_ends_the_run_with_one_line(
    run_cli: RunCli, spare_cluster: Any, events: Path, tmp_path: Path
) -> None:
    """A LightGBM spec with ``engine = "dask"`` holds its tasks to the worker that prepared
    its panel: that worker killed while it runs one of them strands them."""

    def holding_a_block(processing: dict[str, list[str]]) -> list[str]:
        return [w for w, keys in processing.items() if any(" fit " in k for k in keys)][:1]

    spec = _spec(tmp_path, events, "spread", "lightgbm", SPREAD)
    root = tmp_path / "models"
    error, [lost], took = _lost_run(run_cli, spare_cluster, spec, root, holding_a_block)
    assert f"runs only on worker {lost} (it holds the spec's prepared panel)" in error
    assert error.endswith("for 1 s (--no-workers-timeout); nothing written for 'spread'")
    assert 1 <= took < 20  # the timeout, a look every second and the client's closing


def test_all_workers_vanishing_mid_run_ends_it_with_one_line(
    run_cli: RunCli, spare_cluster: Any, events: Path, tmp_path: Path
) -> None:
    def both_once_busy(processing: dict[str, list[str]]) -> list[str]:
        return list(processing) if any(processing.values()) else []

    spec = _spec(tmp_path, events, "plain", "historical_mean")
    root = tmp_path / "models"
    error, _, took = _lost_run(run_cli, spare_cluster, spec, root, both_once_busy)
    assert f"the Dask cluster at {spare_cluster.address} has no workers left to run" in error
    assert error.endswith("for 1 s (--no-workers-timeout); nothing written for 'plain'")
    assert 1 <= took < 20


def test_the_other_worker_lost_mid_lightgbm_fit_ends_the_run_naming_5920(
    run_cli: RunCli, spare_cluster: Any, events: Path, tmp_path: Path
) -> None:
    """The worker without the panel killed while it builds or trains its part of a
    ``lightgbm.dask`` fit: the fit (which would wait for it, LightGBM #5920, up to its
    fit_timeout of 300 s) is given up at once."""

    def the_other_mid_fit(processing: dict[str, list[str]]) -> list[str]:
        home = [w for w, keys in processing.items() if any(" fit lightgbm" in k for k in keys)]
        parts = ("lightgbm-part", "_train_here")
        busy = any(k.startswith(parts) for keys in processing.values() for k in keys)
        return [w for w in processing if w not in home][:1] if home and busy else []

    spec = _spec(tmp_path, events, "spread", "lightgbm", SPREAD)
    root = tmp_path / "models"
    error, [lost], took = _lost_run(run_cli, spare_cluster, spec, root, the_other_mid_fit)
    assert f"Dask worker {lost} left the cluster during the lightgbm.dask fit" in error
    assert "LightGBM issue #5920" in error
    assert took < 20
