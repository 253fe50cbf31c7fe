"""The runaway loop on the synthetic city: patrols sent to the flagged cells record 30% more
there, the model refits on it every week; the monitor must flag it within
``WITHIN`` weeks, and stay quiet on the same city and draws without the feedback."""

from __future__ import annotations

import pytest

from hotspots.feedback.simulation import simulate_loop
from hotspots.forecasters import make_forecaster
from hotspots.synthetic import City, generate_city

WITHIN = 10
"""Weeks of feedback before the monitor must flag (16 seeds: 2 to 15, median 5)."""


@pytest.fixture(scope="module")
def loop_city() -> City:
    """42 weeks of Synthetica at resolution 8 (739 cells, ~60,000 events)."""
    return generate_city(
        seed=3, start="2023-01-02", days=7 * 42, target_events=60_000, resolution=8
    )


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_runaway_loop_is_flagged_and_the_same_city_without_it_is_not(
    loop_city: City, seed: int
) -> None:
    model = make_forecaster("rolling_mean", target=None)
    loop = simulate_loop(loop_city, model, discovery=0.3, seed=seed)
    quiet = simulate_loop(loop_city, model, discovery=0.0, seed=seed)
    first = loop.first_flag()
    assert first is not None and first <= WITHIN, loop.monitor.periods.to_string()
    assert "concentration" in {f["figure"] for f in loop.monitor.flags}
    assert quiet.monitor.flags == [], quiet.monitor.flags
    # the reference is the same (the periods before patrols acted share every draw)
    assert loop.monitor.reference == quiet.monitor.reference
    after = slice(loop.start, None)
    rise = loop.monitor.periods["pooled_concentration"][after].max()
    calm = quiet.monitor.periods["pooled_concentration"][after].max()
    assert rise > 1.15 * loop.monitor.reference.concentration > calm
