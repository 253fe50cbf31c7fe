"""When the client submits a spec's final fit: as soon as the folds that choose the model are
done, not after the reported folds too (``cluster.specs._Run._react``). The tasks' values are
stand-ins; what is asserted is which tasks are submitted after each event, and on which folds
the model was chosen."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fake_dask import FakeClient

from hotspots.cluster import specs as cluster_specs
from hotspots.forecasters import HistoricalMean


class _Recording(cluster_specs._Run):
    """The loop with ``submit`` recording what each call would send to the cluster."""

    def __init__(self) -> None:
        client: Any = FakeClient({"w1": 1, "w2": 1}, {})
        super().__init__(client, True, None, None, None)  # type: ignore[arg-type]
        self.sent: list[tuple[str, Any]] = []

    def submit(self, i: int, what: str, func: Any, *args: Any, **kw: Any) -> Any:
        self.sent.append((what, args))
        return SimpleNamespace(key=f"{what}-{i}")


@pytest.fixture
def chosen_on(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The (basis, result) of every choice, the historical mean chosen each time."""
    calls: list[tuple[str, str]] = []

    def select(result: Any, spec: Any, basis: str) -> Any:
        calls.append((basis, result.label))
        return SimpleNamespace(name="historical_mean")

    monkeypatch.setattr(cluster_specs, "select_model", select)
    return calls


def _run(*backtests: str) -> _Recording:
    """A loop holding one outlined spec waiting for ``backtests``."""
    run = _Recording()
    spec = cluster_specs._Spec(SimpleNamespace(name="s"), SimpleNamespace(key="p"), 1)
    spec.outline = SimpleNamespace(models={"historical_mean": HistoricalMean()})
    spec.waiting = set(backtests)
    run.specs[0] = spec
    return run


def _result(label: str) -> Any:
    return SimpleNamespace(label=label, fitted={"historical_mean": HistoricalMean(window=4)})


def test_the_final_fit_goes_with_the_selection_folds_before_the_reported_ones_end(
    chosen_on: list[tuple[str, str]],
) -> None:
    run = _run("selection", "reported")
    run._react(0, "selection", _result("inner"))
    assert [what for what, _ in run.sent] == ["final"]
    assert chosen_on == [("selection", "inner")]
    model = run.sent[0][1][1]
    assert isinstance(model, HistoricalMean) and model.window == 4  # the selection's, unfitted
    assert not hasattr(model, "cells_")
    run._react(0, "reported", _result("outer"))
    assert [what for what, _ in run.sent] == ["final", "summaries", "report"]
    assert chosen_on == [("selection", "inner")]  # not chosen again
    assert run.specs[0].waiting == {"final", "summaries", "report"}


def test_reported_folds_ending_first_wait_for_the_selection(
    chosen_on: list[tuple[str, str]],
) -> None:
    run = _run("selection", "reported")
    run._react(0, "reported", _result("outer"))
    assert run.sent == [] and chosen_on == []
    run._react(0, "selection", _result("inner"))
    assert [what for what, _ in run.sent] == ["final", "summaries", "report"]
    assert chosen_on == [("selection", "inner")]


def test_without_selection_folds_the_reported_ones_choose(
    chosen_on: list[tuple[str, str]],
) -> None:
    run = _run("reported")
    run._react(0, "reported", _result("outer"))
    assert [what for what, _ in run.sent] == ["final", "summaries", "report"]
    assert chosen_on == [("reported", "outer")]
