"""The client's rule for tasks that cannot run (``cluster.watch``), and Dask's own failures
as one line naming the task."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from hotspots.cluster import watch
from hotspots.cluster.watch import Watch, dask_failure

pytest.importorskip("distributed")

HOME = "tcp://10.0.0.1:4000"


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    clock = _Clock()
    monkeypatch.setattr(watch.time, "monotonic", clock)
    return clock


def _client(workers: dict[str, int]) -> Any:
    scheduler = SimpleNamespace(address="tcp://s:8786")
    return SimpleNamespace(nthreads=lambda: dict(workers), scheduler=scheduler)


def test_a_task_held_to_a_worker_that_left_ends_the_run_after_the_timeout(clock: _Clock) -> None:
    workers = {HOME: 1, "tcp://10.0.0.2:4000": 1}
    w = Watch(_client(workers), timeout=30)
    waiting = [("a: prepare", None), ("a: final", [HOME])]
    assert w.stuck(waiting) is None
    del workers[HOME]
    for _ in range(30):  # a look a second: not yet
        clock.now += 1
        assert w.stuck(waiting) is None
    clock.now += 1
    why = w.stuck(waiting)
    assert why == (
        f"task 'a: final' runs only on worker {HOME} (it holds the spec's prepared panel), "
        "which has left the Dask cluster at tcp://s:8786, for 30 s (--no-workers-timeout)"
    )


def test_a_worker_back_in_time_starts_the_count_again(clock: _Clock) -> None:
    workers: dict[str, int] = {}
    w = Watch(_client(workers), timeout=10)
    waiting = [("a: prepare", None)]
    assert w.stuck(waiting) is None
    clock.now += 9
    workers["tcp://10.0.0.3:4000"] = 1
    assert w.stuck(waiting) is None  # a worker came: the count restarts
    workers.clear()
    clock.now += 9
    assert w.stuck(waiting) is None
    clock.now += 10
    assert w.stuck(waiting) == (
        "the Dask cluster at tcp://s:8786 has no workers left to run 1 tasks, for 10 s "
        "(--no-workers-timeout)"
    )
    clock.now += 1
    assert w.stuck([]) is None  # nothing waiting: nothing to say


def test_a_held_task_whose_worker_is_there_waits_as_long_as_it_takes(clock: _Clock) -> None:
    w = Watch(_client({HOME: 1}), timeout=1)
    for _ in range(100):
        clock.now += 5
        assert w.stuck([("a: reported fit lightgbm to 2023-04-03", [HOME])]) is None


def test_dasks_own_failures_are_one_line_naming_the_task_and_others_pass_through() -> None:
    from distributed import CancelledError
    from distributed.scheduler import KilledWorker, NoValidWorkerError, NoWorkerError

    killed = KilledWorker("k", SimpleNamespace(address=HOME), 3)  # type: ignore[arg-type]
    assert str(dask_failure(killed, "a: final")) == (
        f"task 'a: final' was running on 4 Dask workers that all died (the last: {HOME}; "
        "Dask's distributed.scheduler.allowed-failures is 3): most often it needs more memory "
        "than a worker has"
    )
    held = NoValidWorkerError("k", set(), {HOME}, {}, 300.0)
    assert str(dask_failure(held, "a: final")) == (
        f"task 'a: final' runs only on worker {HOME}, which has left the Dask cluster, for "
        "300 s (the scheduler's no-workers-timeout)"
    )
    none = str(dask_failure(NoWorkerError("k", 300.0), "a: final"))
    assert "no workers left to run task 'a: final', for 300 s" in none
    assert "cancelled" in str(dask_failure(CancelledError("k"), "a: final"))
    assert dask_failure(ValueError("the task's own"), "a: final") is None
