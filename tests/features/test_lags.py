"""Look-back blocks: window sums and means, decay, periods since, rings and parents."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from hotspots.errors import ConfigError
from hotspots.features.lags import (
    cumulative,
    decayed,
    neighbours_of,
    periods_since_last,
    plan_for,
    window_mean,
    window_sum,
)

CENTRE = h3.latlng_to_cell(41.88, -87.63, 9)


def ints(cells: list[str]) -> np.ndarray:
    return np.array(sorted(h3.str_to_int(c) for c in cells), dtype=np.uint64)


# one cell, periods 0..3 hold 1, 0, 2, 3 events
SERIES = np.array([[1], [0], [2], [3]], dtype=np.int32)


def test_cumulative_has_a_leading_zero_row() -> None:
    np.testing.assert_array_equal(cumulative(SERIES)[:, 0], [0, 1, 1, 3, 6])


def test_window_sum_reads_only_periods_before_the_origin() -> None:
    cum = cumulative(SERIES)
    origins = np.array([1, 2, 3, 4])
    np.testing.assert_array_equal(window_sum(cum, origins, 2)[:, 0], [1, 1, 2, 5])
    np.testing.assert_array_equal(window_sum(cum, origins, 1)[:, 0], [1, 0, 2, 3])
    # a window longer than the history sums what exists
    np.testing.assert_array_equal(window_sum(cum, origins, 52)[:, 0], [1, 1, 3, 6])


def test_window_mean_divides_by_the_periods_that_exist() -> None:
    cum = cumulative(SERIES)
    origins = np.array([1, 2, 3, 4])
    np.testing.assert_allclose(window_mean(cum, origins, 2)[:, 0], [1.0, 0.5, 1.0, 2.5])
    np.testing.assert_allclose(window_mean(cum, origins, 52)[:, 0], [1.0, 0.5, 1.0, 1.5])


def test_decayed_weighs_the_last_period_one_and_halves_per_half_life() -> None:
    out = decayed(SERIES, 1)[:, 0]
    # origin 3: 1 * 0.25 + 0 * 0.5 + 2 * 1
    np.testing.assert_allclose(out, [0.0, 1.0, 0.5, 2.25, 4.125], rtol=1e-6)
    slow = decayed(SERIES, 2)[:, 0]
    np.testing.assert_allclose(slow[3], 1 * 0.5 + 0 + 2, rtol=1e-6)


def test_periods_since_last_counts_from_the_last_event_and_caps() -> None:
    series = np.array([[0, 0], [1, 0], [0, 0], [0, 0]], dtype=np.int32)
    out = periods_since_last(series, cap=5)
    np.testing.assert_array_equal(out[:, 0], [5, 5, 1, 2, 3])
    np.testing.assert_array_equal(out[:, 1], [5, 5, 5, 5, 5])  # never: the cap
    np.testing.assert_array_equal(periods_since_last(series, cap=2)[:, 0], [2, 2, 1, 2, 2])


def test_unknown_frequency_is_refused() -> None:
    with pytest.raises(ConfigError, match="'Q'"):
        plan_for("Q")
    assert plan_for("W").sums == (1, 2, 4, 8) and plan_for("W").means == (13, 26, 52)


@pytest.fixture(scope="module")
def holey_disk() -> tuple[np.ndarray, str, str]:
    """grid_disk(centre, 2) without one ring-1 and one ring-2 cell (19 - 2 = 17 cells)."""
    ring1 = sorted(set(h3.grid_ring(CENTRE, 1)))
    ring2 = sorted(set(h3.grid_ring(CENTRE, 2)))
    gone1, gone2 = ring1[0], ring2[0]
    cells = [c for c in h3.grid_disk(CENTRE, 2) if c not in (gone1, gone2)]
    return ints(cells), gone1, gone2


def test_ring_sizes_leave_out_the_cell_and_cells_outside_the_study(holey_disk) -> None:
    cells, _, _ = holey_disk
    nb = neighbours_of(cells, 9)
    centre = int(np.searchsorted(cells, h3.str_to_int(CENTRE)))
    assert nb.n_ring1[centre] == 5  # 6 neighbours, one outside the study area
    assert nb.n_ring2[centre] == 11  # 12 at distance two, one outside
    assert nb.ring1[centre, centre] == 0


def test_ring_sums_match_h3_grid_distance(holey_disk) -> None:
    cells, _, _ = holey_disk
    nb = neighbours_of(cells, 9)
    rng = np.random.default_rng(3)
    series = rng.integers(0, 5, size=(3, cells.size)).astype(np.int32)
    names = [h3.int_to_str(int(c)) for c in cells]
    dist = np.array([[h3.grid_distance(a, b) for b in names] for a in names])
    for ring in (1, 2):
        want = series @ (dist == ring).T.astype(np.int32)
        np.testing.assert_array_equal(nb.ring_sum(series, ring), want)


def test_ring_sum_of_a_single_event_reaches_exactly_its_neighbours(holey_disk) -> None:
    cells, _, _ = holey_disk
    nb = neighbours_of(cells, 9)
    centre = int(np.searchsorted(cells, h3.str_to_int(CENTRE)))
    one = np.zeros((1, cells.size), dtype=np.int32)
    one[0, centre] = 4
    ring1 = nb.ring_sum(one, 1)[0]
    assert ring1[centre] == 0 and ring1.sum() == 4 * 5 and set(ring1) == {0, 4}
    assert nb.ring_sum(one, 2)[0].sum() == 4 * 11


def test_parent_sum_covers_the_in_study_children_of_the_grandparent() -> None:
    parent_a = h3.latlng_to_cell(41.88, -87.63, 7)
    parent_b = h3.grid_ring(parent_a, 1)[0]
    kids_a = sorted(h3.cell_to_children(parent_a, 9))[:10]
    kids_b = sorted(h3.cell_to_children(parent_b, 9))[:3]
    cells = ints(kids_a + kids_b)
    nb = neighbours_of(cells, 9)
    assert nb.parent_resolution == 7 and nb.n_parents == 2
    in_a = np.isin(cells, ints(kids_a))
    np.testing.assert_array_equal(nb.parent_size, np.where(in_a, 10, 3))
    series = np.arange(2 * cells.size, dtype=np.int32).reshape(2, -1)
    want = np.where(
        in_a, series[:, in_a].sum(axis=1)[:, None], series[:, ~in_a].sum(axis=1)[:, None]
    )
    np.testing.assert_array_equal(nb.parent_sum(series), want)
