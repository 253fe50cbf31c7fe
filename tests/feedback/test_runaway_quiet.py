"""Quiet without feedback where the bar was a fixed 1.15x: a model of a force with few events
(the demo city's residential burglary, ~250 a week over 5,170 cells, as ``training/demo.toml``)
trained with a 6-fold reference and served afterwards. The monitor reads the weeks served
alone, as the service does; the reference is the 6 weeks before. A 1.15x bar flagged these
runs with no feedback at all in their 4th week (``benchmarks/feedback_quiet.py --city demo
--served``: 2 of 10 seeds with 6 folds, 6 of 10 with 12); the bar that also asks for 3
standard errors of the ratio does not, and still flags a loop in which patrols double what
is recorded where they go."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hotspots.feedback.monitor_reference import Thresholds
from hotspots.feedback.simulation import LoopRun, loop_monitor, simulate_loop
from hotspots.forecasters import make_forecaster
from hotspots.synthetic import generate_city

WITHIN = 6
"""Weeks served before the monitor must flag the doubling loop (seeds 5, 8: week 4, the
first with a pooled figure)."""


def _served(run: LoopRun, cells: object, th: Thresholds) -> list[dict[str, object]]:
    found = loop_monitor(cells, run.periods, run.flagged, run.recorded, run.start, th, served=True)  # type: ignore[arg-type]
    return found.flags


@pytest.mark.parametrize("seed", [5, 8])
def test_a_short_reference_on_few_events_stays_quiet_and_a_loop_is_flagged(seed: int) -> None:
    city = generate_city(seed=seed, days=730, target_events=150_000, resolution=9)
    model = make_forecaster("rolling_mean", target=None)
    kw = {"history": 84, "reference_periods": 6, "stationary": False,
          "category": "Burglary Residential"}  # fmt: skip
    quiet = simulate_loop(city, model, discovery=0.0, **kw)  # type: ignore[arg-type]
    loop = simulate_loop(city, model, discovery=1.0, **kw)  # type: ignore[arg-type]
    th = Thresholds()
    assert _served(quiet, city.cells, th) == []
    # the rule before: the reference x 1.15 alone, which fired on these draws
    old = _served(quiet, city.cells, replace(th, concentration_z=0.0))
    assert old and old[0]["figure"] == "concentration"
    flags = [f for f in _served(loop, city.cells, th) if f["figure"] == "concentration"]
    assert flags, "the doubling loop went unflagged"
    first = loop.periods.get_loc(str(flags[0]["period"])) - loop.start + 1
    assert 1 <= first <= WITHIN
    assert flags[0]["threshold"] > 1.15 * quiet.monitor.reference.concentration  # type: ignore[union-attr]
