"""The client spreads a spec's learning fits over the workers: fewest outstanding fits per
thread first, ties to a worker holding the spec's panel."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fake_dask import FakeClient

from hotspots.cluster.spread import MAX_CELL_PERIODS, Spread, spreads


def _panel(key: str) -> Any:
    return SimpleNamespace(key=key)


def test_a_specs_two_blocks_go_to_two_workers_and_a_final_to_the_less_busy() -> None:
    spread = Spread(
        FakeClient({"tcp://a": 1, "tcp://b": 1}, {"p0": ["tcp://b"], "p1": ["tcp://a"]})
    )
    p0, p1 = _panel("p0"), _panel("p1")
    assert spread.choose("s0", p0) == "tcp://b"  # a tie: where its panel is
    assert spread.choose("r0", p0) == "tcp://a"  # b has one fit outstanding
    assert spread.choose("s1", p1) == "tcp://a"  # a tie again: its panel is on a
    assert spread.choose("r1", p1) == "tcp://b"
    spread.ended("s0")
    spread.ended("r0")
    spread.ended("s1")
    assert spread.choose("f0", p0) == "tcp://a"  # b still fits r1, though p0 is on b
    spread.ended("r1")
    spread.ended("f0")
    spread.ended("unknown")  # a task sent elsewhere (a baseline's block): nothing to undo
    assert spread.load == {"tcp://a": 0, "tcp://b": 0}


def test_fits_are_counted_per_thread_and_no_worker_leaves_the_choice_to_dask() -> None:
    spread = Spread(FakeClient({"tcp://a": 2, "tcp://b": 1}, {}))
    got = [spread.choose(f"f{i}", _panel("p")) for i in range(3)]
    assert sorted(got) == ["tcp://a", "tcp://a", "tcp://b"]
    assert Spread(FakeClient({}, {})).choose("f", _panel("p")) is None


def test_only_panels_a_copy_of_which_is_cheap_are_spread() -> None:
    batch = SimpleNamespace(cells=4_956, periods=156)  # the 8-spec batch's: 26 MB
    national = SimpleNamespace(cells=500_000, periods=156)  # 3.4 GiB
    assert spreads(batch) and not spreads(national)
    assert spreads(SimpleNamespace(cells=MAX_CELL_PERIODS // 100, periods=100))
