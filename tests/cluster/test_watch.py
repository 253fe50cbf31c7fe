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


class _EndedThenLost:
    """A task's future that as_completed handed back as ended, whose value was then lost with
    its worker: ``result(timeout)`` times out (the clock moves on by ``timeout``) while the
    task waits to run again, ``waits`` times, then gives ``value``; ``error``: it ends in
    that error instead."""

    def __init__(
        self, clock: _Clock, waits: int, value: Any = None, error: Exception | None = None
    ) -> None:
        self.clock, self.waits, self.value, self.error = clock, waits, value, error
        self.status = "lost"
        self.asked = 0

    def result(self, timeout: float | None = None) -> Any:
        assert timeout is not None and timeout > 0, "an unbounded wait can hang the run"
        self.asked += 1
        if self.error is not None and self.asked > self.waits:
            self.status = "error"
            raise self.error
        if self.asked > self.waits:
            self.status = "finished"
            return self.value
        self.clock.now += timeout
        raise TimeoutError


def _run(workers: dict[str, int], timeout: float) -> Any:
    from hotspots.cluster.specs import _Run

    client = _client(workers)
    run = _Run(client, True, None, SimpleNamespace(futures=[]), Watch(client, timeout))
    run.specs[0] = SimpleNamespace(spec=SimpleNamespace(name="a"))  # type: ignore[assignment]
    return run


def test_an_ended_task_lost_with_its_held_worker_ends_the_run_after_the_timeout(
    clock: _Clock,
) -> None:
    """CI once hung here: a fit block had ended on the spec's home worker, which was killed
    before the client fetched the value; the unbounded ``result()`` then waited for ever for
    a task that could only run again on that worker."""
    from hotspots.errors import ClusterError

    run = _run({"tcp://10.0.0.2:4000": 1}, timeout=5)
    lost = _EndedThenLost(clock, waits=10**6)
    with pytest.raises(ClusterError) as err:
        run._result(lost, ("a: reported fit last_period to 2023-04-17", [HOME]), keep=False)
    assert str(err.value) == (
        f"task 'a: reported fit last_period to 2023-04-17' runs only on worker {HOME} (it "
        "holds the spec's prepared panel), which has left the Dask cluster at tcp://s:8786, "
        "for 5 s (--no-workers-timeout); nothing written for 'a'"
    )
    assert 6 <= lost.asked <= 8  # a look a second, from the first look on


def test_an_ended_task_lost_while_its_worker_is_there_is_waited_for_until_it_runs_again(
    clock: _Clock,
) -> None:
    run = _run({HOME: 1}, timeout=1)
    lost = _EndedThenLost(clock, waits=50, value="the block's scores")
    assert run._result(lost, ("a: final", [HOME]), keep=False) == "the block's scores"
    assert lost.asked == 51


def test_a_tasks_own_timeout_error_passes_through_as_it_is(clock: _Clock) -> None:
    run = _run({HOME: 1}, timeout=1)
    own = TimeoutError("the fit's own timeout")
    lost = _EndedThenLost(clock, waits=2, error=own)
    with pytest.raises(TimeoutError) as err:
        run._result(lost, ("a: final", None), keep=False)
    assert err.value is own
