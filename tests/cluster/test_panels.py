"""Specs sharing a panel on a cluster: the first prepares it, the others take it on the
worker holding the fewest specs' panels, ties to the one holding it (``cluster.panels``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fake_dask import FakeClient

from hotspots.cluster.panels import Panels
from hotspots.jobs.spec import spec_from_dict


def _spec(name: str, target: str, kind: str = "lightgbm", events: str = "e.parquet") -> Any:
    return spec_from_dict(
        {
            "name": name,
            "data": {"events": events},
            "target": {"categories": [target]},
            "model": {"kind": kind},
        }
    )


def test_the_first_spec_of_a_panel_prepares_it_and_the_others_take_it_spread() -> None:
    panels = Panels(
        FakeClient({"tcp://a": 1, "tcp://b": 1}, {"p0": ["tcp://a"], "p3": ["tcp://b"]})
    )
    started = [
        panels.start(0, _spec("s0", "burglary")),
        panels.start(1, _spec("s1", "robbery", "historical_mean")),
        panels.start(2, _spec("s2", "assault")),
        panels.start(3, _spec("s3", "burglary", events="other.parquet")),
        panels.start(4, _spec("s4", "theft")),
    ]
    assert started == [None, 0, 0, None, 0]  # s3 reads other events: its own panel
    taking = panels.outlined(0, SimpleNamespace(key="p0"), spread=True)
    # a holds p0 (1): b takes one, then a tie goes to a (it holds p0), then b again
    assert taking == [(1, "tcp://b"), (2, "tcp://a"), (4, "tcp://b")]
    assert panels.outlined(3, SimpleNamespace(key="p3"), spread=True) == []  # none wait
    assert panels.held == {"tcp://a": 2, "tcp://b": 3}


def test_a_panel_too_large_to_copy_is_taken_where_it_was_prepared() -> None:
    panels = Panels(FakeClient({"tcp://a": 1, "tcp://b": 1}, {"p0": ["tcp://b"]}))
    for i, target in enumerate(("burglary", "robbery", "assault")):
        panels.start(i, _spec(f"s{i}", target))
    taking = panels.outlined(0, SimpleNamespace(key="p0"), spread=False)
    assert taking == [(1, "tcp://b"), (2, "tcp://b")]
    lost = Panels(FakeClient({}, {}))  # its worker left: Dask chooses
    lost.start(0, _spec("s0", "burglary"))
    lost.start(1, _spec("s1", "robbery"))
    assert lost.outlined(0, SimpleNamespace(key="p0"), spread=True) == [(1, None)]
