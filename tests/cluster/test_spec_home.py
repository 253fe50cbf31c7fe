"""A spec whose model spreads its fit over every worker (LightGBM ``engine = "dask"``) keeps
its prepared panel on one worker: all its own tasks are held there (Dask would otherwise
copy the panel to a worker that steals a block), and the other worker gets only its parts'
slices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hotspots.forecasters import EnsembleForecaster, HistoricalMean, LightGBMForecaster
from hotspots.jobs.spec import read_spec
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

pytest.importorskip("distributed")

SPEC = """
name = "spread"
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
kind = "lightgbm"
baselines = ["last_period", "historical_mean"]
[model.params]
n_estimators = 5
engine = "dask"
fit_timeout = 300
[backtest]
folds = 2
coverages = [0.05]
select_coverage = 0.05
"""


@pytest.fixture
def client(scheduler: str) -> Iterator[Any]:
    from distributed import Client

    with Client(scheduler, timeout="30s") as c:
        yield c


def test_only_a_fit_over_every_worker_says_so() -> None:
    assert LightGBMForecaster(engine="dask").spans_workers
    assert not LightGBMForecaster().spans_workers
    assert not HistoricalMean().spans_workers
    spread = {"lightgbm": {"engine": "dask"}}
    mixed = EnsembleForecaster(members=("historical_mean", "lightgbm"), member_params=spread)
    assert mixed.spans_workers
    assert not EnsembleForecaster().spans_workers


def test_a_spanning_specs_tasks_run_where_its_panel_is(
    client: Any, city_events: Path, tmp_path: Path
) -> None:
    from distributed import get_task_stream

    from hotspots.cluster import run_specs

    path = tmp_path / "spread.toml"
    path.write_text(SPEC.format(events=city_events, map=COLUMN_MAP, tz=TIMEZONE))
    held: dict[str, Any] = {}  # each task's workers= as run_specs submits it
    submit = client.submit

    def recorded(func: Any, *args: Any, **kw: Any) -> Any:
        future = submit(func, *args, **kw)
        held[str(future.key).split("-", 1)[0]] = kw.get("workers")
        return future

    client.submit = recorded
    with get_task_stream(client) as stream:
        [outcome] = list(run_specs(client, [read_spec(path)], fit=True))
    client.submit = submit
    assert outcome.final is not None and outcome.result.fitted["lightgbm"].spans_workers
    where: dict[str, set[str]] = {}
    for task in stream.data:
        name = str(task["key"]).split("-", 1)[0]
        where.setdefault(name, set()).add(task["worker"])
    own = ("prepare", "outline", "selection", "reported", "summaries", "final")
    spec_tasks = [k for k in where if k.split(" ")[0] in own]
    assert {"prepare", "outline", "summaries", "final"} <= set(spec_tasks)
    assert any(k.startswith("reported fit last_period") for k in spec_tasks)
    [home] = set().union(*(where[k] for k in spec_tasks))  # one worker for them all
    after = [k for k in spec_tasks if k.split(" ")[0] not in ("prepare", "outline")]
    assert {k: held[k] for k in after} == dict.fromkeys(after, [home])  # held there
    assert len(where["lightgbm"]) == 2  # each worker built its parts' rows
