"""The runaway loop through the served state, end to end: weekly forecasts published into the
snapshot store from the events recorded so far, patrols imported to the cells they flagged,
then ``hotspots report effectiveness`` reads those records. With patrols recording 30% more
where they go, the monitor flags the loop; on the same draws without it, it stays quiet."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.feedback.simulation import simulate_loop
from hotspots.forecasters import make_forecaster
from hotspots.synthetic import City, generate_city

from .served_loop import NAME, ServedLoop, serve_loop

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

WITHIN = 10
"""Weeks of feedback before the monitor must flag (as ``test_runaway_loop``)."""


@pytest.fixture(scope="module")
def loop_city() -> City:
    """42 weeks of Synthetica at resolution 8 (739 cells), as ``test_runaway_loop``'s."""
    return generate_city(
        seed=3, start="2023-01-02", days=7 * 42, target_events=60_000, resolution=8
    )


def _run(
    city: City, root: Path, run_cli: Any, discovery: float, periods: int | None = None
) -> tuple[ServedLoop, Path]:
    """Serve the loop and report on it, reading every week served (``periods``: that many
    past weeks, as ``--monitor-periods`` and ``/v1/monitor`` do)."""

    def import_patrols(log: Path, where: Path) -> None:
        dirs = ("--state-dir", where / "state", "--models-dir", where / "models")
        res = run_cli("patrols", "import", log, *dirs)
        assert res.code == 0, res.err

    served = serve_loop(city, root, import_patrols, discovery=discovery)
    out = root / "report"
    res = run_cli(
        "report", "effectiveness", "--out", out, "--state-dir", root / "state",
        "--models-dir", root / "models", "--events", root / "events.parquet",
        "--monitor-periods", str(periods or len(served.weeks)),
    )  # fmt: skip
    assert res.code == 0, res.err
    warned = f"feedback loop flagged: Feedback-loop warning for {NAME}" in res.err
    assert warned == (discovery > 0), res.err
    return served, out


def _api_monitor(root: Path, periods: int) -> dict[str, Any]:
    """``GET /v1/monitor`` of a service over the loop's registry, state and export, reading
    ``periods`` past weeks as the report did."""
    from hotspots.access.keys import KEYS_FILE, KeyStore
    from hotspots.service.app import create_app
    from served_state import settings_of

    settings = settings_of(root).model_copy(update={"monitor_periods": periods})
    key = KeyStore(settings.state_dir / KEYS_FILE).create("monitor", ["forecasts:read"])[1]
    with TestClient(create_app(settings)) as client:
        got = client.get("/v1/monitor", headers={"X-API-Key": key})
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def test_the_served_loop_is_flagged_and_the_same_service_without_it_is_not(
    loop_city: City, tmp_path: Path, run_cli: Any
) -> None:
    loop, loop_out = _run(loop_city, tmp_path / "loop", run_cli, 0.3)
    quiet, quiet_out = _run(loop_city, tmp_path / "quiet", run_cli, 0.0)
    summaries = {
        label: pd.read_csv(out / "monitor_summary.csv").set_index("model").loc[NAME]
        for label, out in (("loop", loop_out), ("quiet", quiet_out))
    }
    for summary in summaries.values():
        assert summary["periods_served"] == len(loop.weeks) == 32
    # both take the series' own first 12 weeks (before patrols acted) as the reference
    ref = summaries["loop"]["reference_concentration"]
    assert ref == summaries["quiet"]["reference_concentration"]
    assert summaries["loop"]["flagged"] and not summaries["quiet"]["flagged"]
    flags = pd.read_csv(loop_out / "monitor_flags.csv")
    first = pd.Timestamp(flags.loc[flags["figure"] == "concentration", "period"].min())
    assert loop.patrols_from <= first <= loop.patrols_from + pd.Timedelta(weeks=WITHIN - 1)
    assert len(pd.read_csv(quiet_out / "monitor_flags.csv")) == 0
    periods = {
        label: pd.read_csv(out / "monitor_periods.csv").set_index("period")
        for label, out in (("loop", loop_out), ("quiet", quiet_out))
    }
    after = loop.patrols_from.date().isoformat()
    rise = periods["loop"].loc[after:, "pooled_concentration"].max()
    calm = periods["quiet"].loc[after:, "pooled_concentration"].max()
    assert rise > 1.15 * ref > calm
    # the patrol log is the dosage: two hours in each flagged cell, all in flagged cells
    minutes = periods["loop"]["patrol_minutes"]
    assert (minutes == 120.0 * loop.flagged.shape[1]).all()
    assert (periods["loop"]["dosage_in_flagged_share"] == 1.0).all()
    # the served weeks flagged what the simulation's arrays flag, week for week
    sim = simulate_loop(loop_city, make_forecaster("rolling_mean", target=None), discovery=0.3)
    cells = np.asarray(loop_city.cells, dtype=np.uint64)
    served = [set(week.tolist()) for week in loop.flagged]
    assert served == [set(cells[row].tolist()) for row in sim.flagged]
    # /v1/monitor on the same records raises the same flags as the report, value for value
    # (tests/service/test_monitor_api.py compares the rest; its 12 quiet weeks raise none)
    api = _api_monitor(tmp_path / "loop", len(loop.weeks))
    assert (api["model"], api["version"]) == (NAME, "v1")
    assert api["flags"] == flags.drop(columns=["model", "version"]).to_dict("records")
    page = (loop_out / "effectiveness.html").read_text(encoding="utf-8")
    assert f'<p class="warning">Feedback-loop warning for {NAME}' in page
    quiet_page = (quiet_out / "effectiveness.html").read_text(encoding="utf-8")
    assert f"No feedback loop flagged for {NAME}" in quiet_page


def test_the_loop_is_flagged_when_the_weeks_shown_begin_inside_it(
    loop_city: City, tmp_path: Path, run_cli: Any
) -> None:
    """The monitor reads the last 26 weeks by default (``HOTSPOTS_MONITOR_PERIODS``): here
    weeks 7-32 of the 32 served, whose first full window already holds 5 weeks of the loop.
    The reference stays the first full window of everything served (weeks 1-12, before
    patrols acted), so the loop is flagged as with every week read; taken from the weeks
    shown, it was 11.93 against 9.64 and the loop went unflagged."""
    whole, whole_out = _run(loop_city, tmp_path / "whole", run_cli, 0.3)
    shown, shown_out = _run(loop_city, tmp_path / "shown", run_cli, 0.3, periods=26)
    summaries = [pd.read_csv(out / "monitor_summary.csv").iloc[0] for out in (whole_out, shown_out)]
    assert summaries[1]["periods_served"] == 26
    # the first weeks shown look back on the weeks served before them, as with every week
    # read: their figures are those of the same weeks read whole (they counted back 0 to 5)
    figures = ["lookback", "prior_events", "pooled_concentration", "repeat_share"]
    outs = (whole_out, shown_out)
    read = [pd.read_csv(out / "monitor_periods.csv").set_index("period") for out in outs]
    assert read[1]["lookback"].iloc[0] == 6  # week 7, served weeks 1-6 before it
    pd.testing.assert_frame_equal(read[1][figures], read[0].loc[read[1].index, figures])
    assert summaries[1]["reference_concentration"] == summaries[0]["reference_concentration"]
    assert summaries[1]["reference_source"] == summaries[0]["reference_source"]
    assert bool(summaries[1]["flagged"])
    flags = pd.read_csv(shown_out / "monitor_flags.csv")
    first = pd.Timestamp(flags.loc[flags["figure"] == "concentration", "period"].min())
    assert first <= shown.patrols_from + pd.Timedelta(weeks=WITHIN - 1)
    quiet, quiet_out = _run(loop_city, tmp_path / "quiet", run_cli, 0.0, periods=26)
    assert len(pd.read_csv(quiet_out / "monitor_flags.csv")) == 0
