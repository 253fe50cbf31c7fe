"""The self-exciting (Hawkes) forecaster: it finds near repeats where they are and only there."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.features import Panel, events_to_panel
from hotspots.forecasters.hawkes import SelfExcitingForecaster
from hotspots.grid import cells_to_latlng, grid_disk_cells, points_to_cells

START = pd.Timestamp("2023-01-02")  # a Monday
DAYS = 364
CELLS = np.sort(grid_disk_cells(points_to_cells([41.88], [-87.63], 9), 6))  # 127 cells


def events(bursts: bool, seed: int = 0) -> pd.DataFrame:
    """A year of events at ~0.05 a day per cell; with ``bursts`` each event is followed
    (with probability 0.5) by another in the same cell within two days."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(0.05 * DAYS * CELLS.size)
    cell = rng.integers(0, CELLS.size, n)
    t = rng.uniform(0, DAYS - 3, n)
    if bursts:
        follow = rng.random(n) < 0.5
        cell = np.concatenate([cell, cell[follow]])
        t = np.concatenate([t, t[follow] + rng.uniform(0, 2, follow.sum())])
    lat, lng = cells_to_latlng(CELLS[cell])
    return pd.DataFrame(
        {
            "occurred_at": START + pd.to_timedelta(t, unit="D"),
            "lat": lat,
            "lng": lng,
            "category": "Burglary",
        }
    )


def panel_of(frame: pd.DataFrame, freq: str = "W") -> Panel:
    return events_to_panel(frame, 9, freq, start=START, end=START + pd.Timedelta(days=DAYS))


@pytest.fixture(scope="module")
def bursty() -> tuple[Panel, SelfExcitingForecaster]:
    panel = panel_of(events(bursts=True))
    return panel, SelfExcitingForecaster().fit(panel)


def test_near_repeats_are_found_where_they_are_and_not_elsewhere(
    bursty: tuple[Panel, SelfExcitingForecaster],
) -> None:
    _, model = bursty
    # a third of the events are follow-ups, kept in their own cell, within about a day
    assert 0.2 < model.theta_ < 0.5
    assert model.own_share_ == 1.0 and model.decay_ <= 0.75
    # without bursts, what excitation is left only smooths the noisy background estimate
    calm = SelfExcitingForecaster().fit(panel_of(events(bursts=False)))
    assert calm.theta_ < model.theta_ / 2
    reasons = model.fitted_in_words()
    assert reasons["near_repeat_share"] == model.theta_
    assert reasons["excitation_half_life_days"] == pytest.approx(np.log(0.5) / np.log(model.decay_))


def test_a_fresh_event_raises_its_cell_for_the_next_week_only(
    bursty: tuple[Panel, SelfExcitingForecaster],
) -> None:
    panel, model = bursty
    frame = events(bursts=True)
    quiet = np.setdiff1d(
        np.arange(CELLS.size),
        np.searchsorted(CELLS, panel.cells[panel.counts[0, -8:].sum(axis=0) > 0]),
    )
    cell = int(quiet[0])  # no event in its last eight weeks
    lat, lng = cells_to_latlng(CELLS[[cell]])
    late = pd.DataFrame(
        {"occurred_at": [START + pd.Timedelta(days=DAYS - 0.5)], "lat": lat, "lng": lng,
         "category": ["Burglary"]}
    )  # fmt: skip
    again = panel_of(pd.concat([frame, late], ignore_index=True))
    end = START + pd.Timedelta(days=DAYS)
    before = model.predict(panel, end, horizon=3)["expected_count"].to_numpy().reshape(3, -1)
    after = model.predict(again, end, horizon=3)["expected_count"].to_numpy().reshape(3, -1)
    lift = after[:, cell] - before[:, cell]
    assert lift[0] > 0.1 and lift[0] > 10 * lift[1] > 0 and lift[2] < lift[1]
    others = np.delete(np.arange(CELLS.size), cell)
    np.testing.assert_allclose(after[:, others], before[:, others])  # own cell only


def test_it_needs_the_events_days(bursty: tuple[Panel, SelfExcitingForecaster]) -> None:
    panel, model = bursty
    counts_only = Panel(panel.counts, panel.cells, panel.periods, panel.categories, "W", 9)
    with pytest.raises(ConfigError, match="counts only"):
        SelfExcitingForecaster().fit(counts_only)
    with pytest.raises(ConfigError, match="counts only"):
        model.predict(counts_only, panel.periods[-1])
    monthly = events_to_panel(events(bursts=True), 9, "M")
    with pytest.raises(ConfigError, match="daily or weekly"):
        SelfExcitingForecaster().fit(monthly)


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"decays": (1.0,)}, "decays"),
        ({"own_shares": ()}, "own_shares"),
        ({"fit_days": 3}, "fit_days"),
    ],
)
def test_bad_parameters_are_named(params: dict[str, object], word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        SelfExcitingForecaster(**params).fit(panel_of(events(bursts=False)))  # type: ignore[arg-type]
