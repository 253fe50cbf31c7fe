"""The runaway loop on the synthetic city: patrols sent to the flagged cells record 30% more
there, the model refits on it every week; the monitor must flag it within
``WITHIN`` weeks, and stay quiet on the same city and draws without the feedback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hotspots.feedback.effectiveness import realised_effectiveness
from hotspots.feedback.monitor_served import ModelMonitor
from hotspots.feedback.report import write_effectiveness_report
from hotspots.feedback.simulation import simulate_loop
from hotspots.forecasters import make_forecaster
from hotspots.ingest.schema import empty_events
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


def test_the_effectiveness_report_warns_of_the_loop_and_not_of_the_quiet_run(
    loop_city: City, tmp_path: Path
) -> None:
    model = make_forecaster("rolling_mean", target=None)
    runs = {
        "loop": simulate_loop(loop_city, model, discovery=0.3, seed=0),
        "quiet": simulate_loop(loop_city, model, discovery=0.0, seed=0),
    }
    monitors = {
        name: ModelMonitor(
            name, "v1", run.periods[-1] + pd.Timedelta(days=7), len(run.periods), run.monitor
        )
        for name, run in runs.items()
    }
    nothing = realised_effectiveness([], empty_events(), freq="W", baselines=())
    write_effectiveness_report(nothing, tmp_path, title="loop", monitors=monitors)
    page = (tmp_path / "effectiveness.html").read_text(encoding="utf-8")
    last = runs["loop"].periods[-1].date().isoformat()
    warning = f'<p class="warning">Feedback-loop warning for loop in the period from {last}: '
    assert page.count(warning) == 2  # at the top of the page and in its section
    assert "new events come from previously flagged or patrolled cells at" in page
    assert "flagging the same cells again (a runaway loop)." in page
    assert "Feedback-loop warning for quiet" not in page
    assert f"No feedback loop flagged for quiet in the period from {last}" in page
    flags = pd.read_csv(tmp_path / "monitor_flags.csv")
    assert set(flags["model"]) == {"loop"}
    mine = runs["loop"].monitor.flags
    assert flags.drop(columns=["model", "version"]).to_dict("records") == mine
    summary = pd.read_csv(tmp_path / "monitor_summary.csv").set_index("model")
    assert summary["flagged"].to_dict() == {"loop": True, "quiet": False}
    periods = pd.read_csv(tmp_path / "monitor_periods.csv")
    loop_rows = periods.loc[periods["model"] == "loop"]
    assert loop_rows["pooled_concentration"].tolist() == pytest.approx(
        runs["loop"].monitor.periods["pooled_concentration"].tolist(), nan_ok=True
    )
