"""Baseline forecasters: hand-computed values on tiny panels, and real behaviour on a city."""

from __future__ import annotations

import math
import re
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.features import Panel
from hotspots.forecasters.base import Forecaster, make_forecaster
from hotspots.forecasters.baselines import (
    HistoricalMean,
    KernelDensity,
    LastPeriod,
    ProspectiveHotspot,
    RollingMean,
    kernel_weight_matrix,
    ring_weight_matrix,
)

CENTRE = h3.latlng_to_cell(51.5, -0.12, 9)
START = "2024-01-01"  # a Monday
BASELINES = ("historical_mean", "kde", "last_period", "prospective", "rolling_mean")


def disk(k: int, centre: str = CENTRE) -> npt.NDArray[np.uint64]:
    """The sorted uint64 cells within ``k`` steps of ``centre``."""
    return np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, k)), dtype=np.uint64)


def panel_of(counts: Any, cells: npt.NDArray[np.uint64], categories: tuple[str, ...] = ("A",)):
    """A weekly resolution-9 panel from ``counts`` (categories, periods, cells)."""
    arr = np.asarray(counts, dtype=np.int32)
    periods = pd.date_range(START, periods=arr.shape[1], freq="W-MON")
    return Panel(arr, cells, periods, categories, "W", 9)


def week(i: int) -> pd.Timestamp:
    """The Monday starting period ``i`` of the tiny panels."""
    return pd.Timestamp(START) + pd.Timedelta(weeks=i)


def forecast(model: Forecaster, panel: Panel, as_of: Any, horizon: int = 1) -> np.ndarray:
    """Expected counts as a (horizon, n_cells) array."""
    frame = model.fit(panel).predict(panel, as_of, horizon)
    return frame["expected_count"].to_numpy().reshape(horizon, -1)


def pos(cells: npt.NDArray[np.uint64], cell: str) -> int:
    return int(np.searchsorted(cells, np.uint64(h3.str_to_int(cell))))


def cell_at(distance: int, centre: str = CENTRE) -> str:
    """One cell exactly ``distance`` grid steps from ``centre``."""
    return sorted(h3.grid_ring(centre, distance))[0]


# -- simple baselines ----------------------------------------------------------------------
THREE = np.array([[[1, 0, 4], [3, 2, 0], [5, 0, 1], [2, 6, 3], [0, 1, 7]]])  # 5 periods x 3 cells


def test_last_period_is_the_last_whole_period_for_every_lead() -> None:
    panel = panel_of(THREE, disk(1)[:3])
    np.testing.assert_array_equal(forecast(LastPeriod(), panel, week(5), 3), [[0, 1, 7]] * 3)
    # mid-week: the week holding as_of is not whole, so period 3 is the last one read
    np.testing.assert_array_equal(
        forecast(LastPeriod(), panel, week(4) + pd.Timedelta("2D")), [[2, 6, 3]]
    )


def test_historical_mean_over_all_history_or_a_window() -> None:
    panel = panel_of(THREE, disk(1)[:3])
    np.testing.assert_allclose(
        forecast(HistoricalMean(), panel, week(5)), [[11 / 5, 9 / 5, 15 / 5]]
    )
    np.testing.assert_allclose(forecast(HistoricalMean(), panel, week(2)), [[2, 1, 2]])
    np.testing.assert_allclose(forecast(HistoricalMean(window=2), panel, week(5)), [[1, 3.5, 5]])
    np.testing.assert_allclose(
        forecast(HistoricalMean(window=9), panel, week(3)), [[3, 2 / 3, 5 / 3]]
    )


def test_rolling_mean_uses_the_last_four_periods_or_fewer() -> None:
    panel = panel_of(THREE, disk(1)[:3])
    np.testing.assert_allclose(
        forecast(RollingMean(), panel, week(5), 2), [[10 / 4, 9 / 4, 11 / 4]] * 2
    )
    np.testing.assert_allclose(forecast(RollingMean(), panel, week(2)), [[2, 1, 2]])
    np.testing.assert_allclose(forecast(RollingMean(window=1), panel, week(4)), [[2, 6, 3]])


@pytest.mark.parametrize("kind", BASELINES)
def test_target_is_the_sum_of_its_categories(kind: str) -> None:
    cells = disk(2)
    rng = np.random.default_rng(3)
    counts = rng.poisson(1.0, size=(3, 6, cells.size))
    three = panel_of(counts, cells, ("A", "B", "C"))
    summed = panel_of(counts[[0, 2]].sum(axis=0, keepdims=True), cells, ("A",))
    got = forecast(make_forecaster(kind, target=("A", "C")), three, week(6))
    want = forecast(make_forecaster(kind), summed, week(6))
    np.testing.assert_allclose(got, want)
    assert not np.allclose(got, forecast(make_forecaster(kind, target=("A",)), three, week(6)))


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (RollingMean(window=0), "window is out of range: 0 (rolling_mean: must be greater"),
        (RollingMean(window=2.0), "window 2.0 of 'rolling_mean' is not a valid int"),
        (HistoricalMean(window=-3), "window is out of range: -3 (historical_mean: must be"),
        (ProspectiveHotspot(rings=-1), "rings is out of range: -1 (prospective: must be greater"),
        (ProspectiveHotspot(rings=21), "rings is out of range: 21 (prospective: must be less"),
        (
            ProspectiveHotspot(half_life=0),
            "half_life is out of range: 0 (prospective: must be greater than 0)",
        ),
        (ProspectiveHotspot(window=True), "window True of 'prospective' is not a valid int"),
        (
            KernelDensity(bandwidth_km=math.nan),
            "bandwidth_km is out of range: nan (kde: must be a finite number)",
        ),
        (KernelDensity(window=None), "window None of 'kde' is not a valid int"),
        (RollingMean(window=np.int64(0)), "window is out of range: 0 (rolling_mean"),
    ],
)
def test_bad_parameters_are_refused_at_fit(model: Forecaster, message: str) -> None:
    panel = panel_of(THREE, disk(1)[:3])
    with pytest.raises(ConfigError, match=re.escape(message)):
        model.fit(panel)
    assert not hasattr(model, "cells_")


def test_numpy_whole_numbers_are_whole_numbers() -> None:
    model = RollingMean(window=np.int64(2)).fit(panel_of(THREE, disk(1)[:3]))
    assert model.window == 2 and hasattr(model, "cells_")


# -- prospective hotspotting ---------------------------------------------------------------
def test_prospective_single_event_spreads_over_two_rings() -> None:
    cells = disk(3)
    counts = np.zeros((1, 1, cells.size))
    counts[0, 0, pos(cells, CENTRE)] = 1
    got = forecast(ProspectiveHotspot(), panel_of(counts, cells), week(1))[0]
    # weights 1, 1/2 (6 cells), 1/3 (12 cells): sum 8; one event per period -> divide by 8
    want = {0: 1 / 8, 1: 1 / 16, 2: 1 / 24, 3: 0.0}
    for cell, value in zip(cells, got, strict=True):
        ring = h3.grid_distance(CENTRE, h3.int_to_str(int(cell)))
        assert value == pytest.approx(want[ring]), ring


@pytest.mark.parametrize(("half_life", "old_weight"), [(1.0, 0.5), (2.0, 2**-0.5)])
def test_prospective_ages_halve_every_half_life(half_life: float, old_weight: float) -> None:
    cells = disk(5)
    far = cell_at(3)
    counts = np.zeros((1, 2, cells.size))
    counts[0, 0, pos(cells, CENTRE)] = 1  # age 1
    counts[0, 1, pos(cells, far)] = 1  # age 0, 3 rings away: out of the other's reach
    got = forecast(ProspectiveHotspot(half_life=half_life), panel_of(counts, cells), week(2))[0]
    mass = 8 * old_weight + 8 * 1.0  # each event's spatial weights sum to 8
    assert got[pos(cells, CENTRE)] == pytest.approx(old_weight / mass)
    assert got[pos(cells, far)] == pytest.approx(1.0 / mass)
    assert got.sum() == pytest.approx(1.0)  # two events over two periods


def brute_prospective(counts: np.ndarray, cells: np.ndarray, rings: int, hl: float, window: int):
    """Prospective risk by the definition, pair by pair with h3.grid_distance."""
    recent = counts[-window:]
    names = [h3.int_to_str(int(c)) for c in cells]
    risk = np.zeros(cells.size)
    for t, row in enumerate(recent):
        w_time = 0.5 ** ((len(recent) - 1 - t) / hl)
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                d = h3.grid_distance(a, b)
                if row[i] and d <= rings:
                    risk[j] += row[i] * w_time / (1 + d)
    return risk / risk.sum() * recent.sum() / len(recent)


def test_prospective_matches_the_definition_at_the_study_area_edge() -> None:
    cells = disk(2)  # events near the edge lose the neighbours outside the study area
    counts = np.random.default_rng(5).poisson(0.4, size=(1, 7, cells.size))
    counts[0, 0] += 20  # older than the window: must not count
    got = forecast(
        ProspectiveHotspot(rings=2, half_life=1.5, window=5), panel_of(counts, cells), week(7)
    )
    np.testing.assert_allclose(got[0], brute_prospective(counts[0], cells, 2, 1.5, 5))


def test_ring_weight_matrix_has_ring_distances() -> None:
    cells = disk(3)
    weights = ring_weight_matrix(cells, 2).toarray()
    names = [h3.int_to_str(int(c)) for c in cells]
    dist = np.array([[h3.grid_distance(a, b) for b in names] for a in names])
    np.testing.assert_allclose(weights, np.where(dist <= 2, 1 / (1 + dist), 0.0))


# -- kernel density ------------------------------------------------------------------------
def haversine_km(cells: npt.NDArray[np.uint64]) -> np.ndarray:
    lat, lng = np.radians([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells]).T
    dlat, dlng = lat[:, None] - lat, lng[:, None] - lng
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat) * np.sin(dlng / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


def test_kernel_weights_are_gaussian_symmetric_and_cut_at_three_bandwidths() -> None:
    cells, bandwidth = disk(4), 0.2
    dist = haversine_km(cells)
    assert np.all(np.abs(dist - 3 * bandwidth) > 0.01)  # no pair sits on the cut-off
    weights = kernel_weight_matrix(cells, bandwidth).toarray()
    np.testing.assert_array_equal(weights, weights.T)
    gauss = np.exp(-0.5 * (dist / bandwidth) ** 2)
    # the local projection moves distances by < 0.05%, the weights at 3 bandwidths by < 0.5%
    np.testing.assert_allclose(weights, np.where(dist <= 3 * bandwidth, gauss, 0.0), rtol=5e-3)
    assert (weights[dist > 3 * bandwidth] == 0).all() and (weights[dist <= 0.6] > 0).all()


def test_kde_single_event_forecast_is_the_scaled_kernel() -> None:
    cells, bandwidth = disk(4), 0.2
    counts = np.zeros((1, 3, cells.size))
    counts[0, 1, pos(cells, CENTRE)] = 3  # 3 events over 3 periods: one per period
    got = forecast(KernelDensity(bandwidth_km=bandwidth), panel_of(counts, cells), week(3))[0]
    dist = haversine_km(cells)[pos(cells, CENTRE)]
    kernel = np.where(dist <= 3 * bandwidth, np.exp(-0.5 * (dist / bandwidth) ** 2), 0.0)
    np.testing.assert_allclose(got, kernel / kernel.sum(), rtol=1e-3)
    assert got.sum() == pytest.approx(1.0)
    assert (got[dist > 0.6] == 0).all() and (got[dist <= 0.6] > 0).all()


def test_kde_is_symmetric_between_two_cells() -> None:
    cells, a, b = disk(3), pos(disk(3), CENTRE), pos(disk(3), cell_at(1))
    both = np.zeros((1, 1, cells.size))
    both[0, 0, [a, b]] = 1
    got = forecast(KernelDensity(bandwidth_km=0.3), panel_of(both, cells), week(1))[0]
    assert got[a] == pytest.approx(got[b])


@pytest.mark.parametrize("kind", ["prospective", "kde"])
def test_smoothers_sum_to_the_mean_total_over_their_window(kind: str) -> None:
    cells = disk(3)
    counts = np.random.default_rng(8).poisson(0.3, size=(1, 20, cells.size))
    window = {"prospective": 8, "kde": 12}[kind]
    got = forecast(make_forecaster(kind), panel_of(counts, cells), week(20))
    assert got.sum() == pytest.approx(counts[0, -window:].sum() / window)
    short = forecast(make_forecaster(kind), panel_of(counts, cells), week(3))
    assert short.sum() == pytest.approx(counts[0, :3].sum() / 3)


@pytest.mark.parametrize("kind", ["prospective", "kde"])
def test_smoothers_forecast_zero_after_an_empty_window(kind: str) -> None:
    cells = disk(1)
    counts = np.zeros((1, 15, cells.size))
    counts[0, 0] = 5  # outside both windows
    got = forecast(make_forecaster(kind), panel_of(counts, cells), week(15))
    np.testing.assert_array_equal(got, 0.0)


@pytest.mark.parametrize("kind", ["prospective", "kde"])
def test_cached_weights_follow_a_refit_on_other_cells(kind: str) -> None:
    rng = np.random.default_rng(2)
    small, large = disk(1), disk(2)
    model = make_forecaster(kind)
    forecast(model, panel_of(rng.poisson(1, (1, 4, small.size)), small), week(4))
    panel = panel_of(rng.poisson(1, (1, 4, large.size)), large)
    np.testing.assert_allclose(
        forecast(model, panel, week(4)), forecast(make_forecaster(kind), panel, week(4))
    )
    assert "_weights_cache" not in model.get_params()
    assert set(model.get_state().arrays) == {"cells"}


# -- real behaviour on the synthetic city --------------------------------------------------
@pytest.mark.parametrize("kind", BASELINES)
def test_baselines_find_next_weeks_hotspots_better_than_uniform(
    kind: str, year_panel: Panel
) -> None:
    """Over 10 weeks, the top 5% of cells hold more than twice their uniform share."""
    actual = year_panel.total()
    top_n = math.ceil(0.05 * year_panel.cells.size)
    model = make_forecaster(kind).fit(year_panel, until=year_panel.periods[42])
    caught = 0
    for t in range(42, 52):
        expected = model.predict(year_panel, year_panel.periods[t])["expected_count"].to_numpy()
        caught += actual[t, np.argsort(-expected, kind="stable")[:top_n]].sum()
    uniform = top_n / year_panel.cells.size * actual[42:52].sum()
    assert caught > 2 * uniform
