"""The feature matrix: names, hand-checked values, no leakage, training rows, calendar."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError, DataValidationError
from hotspots.features import Panel
from hotspots.features.calendar import calendar_features, holidays_in_periods, shift_periods
from hotspots.features.matrix import FeatureBuilder, FeatureOptions

CENTRE = h3.latlng_to_cell(41.88, -87.63, 9)
CELLS = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(CENTRE, 1)), dtype=np.uint64)
C = int(np.searchsorted(CELLS, h3.str_to_int(CENTRE)))  # the centre's column
N1 = (C + 1) % CELLS.size  # a ring-1 neighbour's column
START = "2023-01-02"  # a Monday

W_NAMES = [
    "target_sum_1",
    "target_sum_2",
    "target_sum_4",
    "target_sum_8",
    "target_mean_13",
    "target_mean_26",
    "target_mean_52",
    "target_mean_all",
    "target_decay_1",
    "target_decay_4",
    "target_decay_13",
    "periods_since_last",
    "ring1_n_cells",
    "ring1_sum_1",
    "ring1_sum_4",
    "ring1_mean_13",
    "ring1_mean_52",
    "ring1_mean_all",
    "ring2_n_cells",
    "ring2_sum_4",
    "ring2_mean_52",
    "ring2_mean_all",
    "parent_n_cells",
    "parent_sum_4",
    "parent_mean_52",
    "parent_mean_all",
    "all_sum_4",
    "all_mean_52",
    "rel_b_sum_4",
    "rel_b_mean_52",
    "near_repeat_k1_last_7d",
    "month",
    "month_sin",
    "month_cos",
    "week_of_year",
    "week_sin",
    "week_cos",
]


def tiny_panel() -> Panel:
    """Categories A (the target) and B over the 7-cell disk, 6 weeks."""
    counts = np.zeros((2, 6, CELLS.size), dtype=np.int32)
    counts[0, :, C] = [1, 0, 2, 5, 0, 0]
    counts[0, :, N1] = [0, 1, 0, 0, 0, 0]
    counts[1, :, C] = [3, 0, 0, 0, 0, 0]
    periods = pd.date_range(START, periods=6, freq="7D")
    return Panel(counts, CELLS, periods, ("A", "B"), "W", 9)


def builder_for(panel: Panel, **options: object) -> FeatureBuilder:
    opts = FeatureOptions(**options)
    return FeatureBuilder(panel.cells, panel.resolution, "W", panel.categories, ("A",), opts)


def row(builder: FeatureBuilder, X: np.ndarray, i: int) -> dict[str, float]:
    return dict(zip(builder.names, X[i].tolist(), strict=True))


def test_weekly_feature_names_are_stable() -> None:
    assert builder_for(tiny_panel()).names == W_NAMES
    with_all = builder_for(tiny_panel(), lead=True, holidays="US", near_repeat=False)
    assert with_all.names[-8:] == [
        "lead",
        "month",
        "month_sin",
        "month_cos",
        "week_of_year",
        "week_sin",
        "week_cos",
        "holidays_in_period",
    ]
    assert "near_repeat_k1_last_7d" not in with_all.names
    assert not any(n.startswith("rel_") for n in builder_for(tiny_panel(), related=False).names)


def test_values_at_one_origin_by_hand() -> None:
    panel, b = tiny_panel(), builder_for(tiny_panel())
    X = b.matrix(panel.counts, panel.counts[0], panel.periods, origins=[3], leads=[1])
    assert X.shape == (CELLS.size, len(W_NAMES)) and X.dtype == np.float32
    assert X.flags["F_CONTIGUOUS"]
    parents = [h3.cell_to_parent(h3.int_to_str(int(c)), 7) for c in CELLS]
    siblings = [p == parents[C] for p in parents]
    got = row(b, X, C)
    want = {
        "target_sum_1": 2,  # history is weeks 0..2: A = 1, 0, 2
        "target_sum_2": 2,
        "target_sum_4": 3,
        "target_sum_8": 3,
        "target_mean_13": 1.0,  # 3 events over the 3 weeks that exist
        "target_mean_52": 1.0,
        "target_decay_1": 2.25,  # 1 * 0.25 + 0 * 0.5 + 2
        "target_decay_4": 2 + 0.5**0.5,
        "periods_since_last": 1,
        "ring1_n_cells": 6,
        "ring1_sum_1": 0,
        "ring1_sum_4": 1,  # the neighbour's event in week 1
        "ring1_mean_13": 1 / 3,
        "ring2_n_cells": 0,
        "ring2_sum_4": 0,
        "parent_n_cells": sum(siblings),
        "parent_sum_4": 3 + (1 if siblings[N1] else 0),
        "all_sum_4": 6,  # A 3 + B 3
        "all_mean_52": 2.0,
        "rel_b_sum_4": 3,
        "rel_b_mean_52": 1.0,
        "near_repeat_k1_last_7d": 2,  # week 2: centre 2 + ring 1 0
        "month": 1,  # target week 2023-01-23 (Thursday 26 January)
        "week_of_year": 4,
        "week_sin": np.sin(2 * np.pi * 3 / 52),
    }
    assert {k: got[k] for k in want} == pytest.approx(want, rel=1e-6)
    neighbour = row(b, X, N1)
    assert neighbour["ring1_sum_4"] == 3 and neighbour["periods_since_last"] == 2
    assert neighbour["ring1_n_cells"] == 3  # centre + two disk cells on the edge


def test_rows_are_block_major_and_leads_move_the_calendar_only() -> None:
    panel, b = tiny_panel(), builder_for(tiny_panel(), lead=True)
    X = b.matrix(
        panel.counts, panel.counts[0], panel.periods, [3, 3, 5], [1, 6, 1], feature_leads=[1, 2, 1]
    )
    n = CELLS.size
    lead, week, total = (b.names.index(k) for k in ("lead", "week_of_year", "target_sum_4"))
    np.testing.assert_array_equal(X[:, lead], np.repeat([1, 2, 1], n))
    np.testing.assert_array_equal(X[:, week], np.repeat([4, 9, 6], n))  # week 8 starts 27 Feb
    np.testing.assert_array_equal(X[:n, total], X[n : 2 * n, total])
    assert X[2 * n + C, total] == 7  # origin 5: weeks 1..4 hold 0 + 2 + 5 + 0


def test_no_leakage_a_row_ignores_periods_from_its_origin_on() -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 4, size=(2, 12, CELLS.size)).astype(np.int32)
    periods = pd.date_range(START, periods=12, freq="7D")
    panel = Panel(counts, CELLS, periods, ("A", "B"), "W", 9)
    b = builder_for(panel, lead=True, holidays="US")
    origins, leads, n = np.array([2, 5, 9]), np.array([1, 3, 2]), CELLS.size
    base = b.matrix(counts, counts[0], periods, origins, leads)
    for k, o in enumerate(origins):
        changed = counts.copy()
        changed[:, o:] = rng.integers(0, 50, size=changed[:, o:].shape)
        X = b.matrix(changed, changed[0], periods, origins, leads)
        np.testing.assert_array_equal(X[k * n : (k + 1) * n], base[k * n : (k + 1) * n])
        before = counts.copy()
        before[0, o - 1] += 7  # the last period before the origin does count
        X = b.matrix(before, before[0], periods, origins, leads)
        assert not np.array_equal(X[k * n : (k + 1) * n], base[k * n : (k + 1) * n])


def test_training_set_rows_targets_and_leads() -> None:
    panel = tiny_panel()
    b = builder_for(panel, lead=True)
    target = panel.counts[0]
    train = b.training_set(
        target=target, counts=panel.counts, periods=panel.periods, min_history=2, max_horizon=2
    )
    n = CELLS.size
    # lead 1: origins 2..5 (targets 2..5); lead 2: origins 2..4 (targets 3..5)
    origins, leads = np.array([2, 3, 4, 5, 2, 3, 4]), np.array([1, 1, 1, 1, 2, 2, 2])
    assert train.X.shape == (7 * n, len(b.names)) and train.n_candidates == 7 * n
    np.testing.assert_array_equal(train.y, target[origins - 1 + leads].reshape(-1))
    assert train.weight is None
    np.testing.assert_array_equal(
        train.X, b.matrix(panel.counts, target, panel.periods, origins, leads)
    )
    last = b.training_set(
        panel.counts, target, panel.periods, min_history=2, max_horizon=2, train_periods=2
    )
    np.testing.assert_array_equal(last.y, target[[4, 5, 5]].reshape(-1))


def test_quiet_rows_are_thinned_and_reweighted() -> None:
    far = h3.latlng_to_cell(41.50, -87.20, 9)  # far from the disk: never any event near it
    cells = np.sort(np.concatenate([CELLS, [np.uint64(h3.str_to_int(far))]]))
    counts = np.zeros((2, 40, cells.size), dtype=np.int32)
    centre = int(np.searchsorted(cells, h3.str_to_int(CENTRE)))
    counts[0, ::3, centre] = 1
    panel = Panel(counts, cells, pd.date_range(START, periods=40, freq="7D"), ("A", "B"), "W", 9)
    b = builder_for(panel)
    full = b.training_set(panel.counts, counts[0], panel.periods, min_history=4)
    thin = b.training_set(
        panel.counts, counts[0], panel.periods, min_history=4, zero_row_fraction=0.25, seed=1
    )
    ring1 = b.names.index("ring1_sum_4")
    quiet = (
        (full.y == 0) & (full.X[:, ring1] == 0) & (full.X[:, b.names.index("target_sum_8")] == 0)
    )
    assert quiet.sum() == 36  # the far cell at each of the 36 origins
    assert thin.weight is not None and thin.n_candidates == full.y.size
    n_quiet_kept = int((thin.weight == 4.0).sum())
    assert 0 < n_quiet_kept < 36
    assert thin.y.size == (~quiet).sum() + n_quiet_kept
    assert set(np.unique(thin.weight)) == {1.0, 4.0}
    again = b.training_set(
        panel.counts, counts[0], panel.periods, min_history=4, zero_row_fraction=0.25, seed=1
    )
    np.testing.assert_array_equal(again.X, thin.X)
    with pytest.raises(ConfigError, match="zero_row_fraction"):
        b.training_set(panel.counts, counts[0], panel.periods, min_history=4, zero_row_fraction=0)


def test_bad_inputs_are_refused() -> None:
    panel, b = tiny_panel(), builder_for(tiny_panel())
    with pytest.raises(DataValidationError, match="needs at least 7 periods"):
        b.training_set(panel.counts, panel.counts[0], panel.periods, min_history=6)
    with pytest.raises(DataValidationError, match="do not match"):
        b.matrix(panel.counts[:, :, :3], panel.counts[0], panel.periods, [2], [1])
    with pytest.raises(DataValidationError, match="origins must be in 1..6"):
        b.matrix(panel.counts, panel.counts[0], panel.periods, [7], [1])
    with pytest.raises(ConfigError, match="'XX'"):
        builder_for(panel, holidays="XX").matrix(
            panel.counts, panel.counts[0], panel.periods, [2], [1]
        )


def test_static_covariates_repeat_per_block_and_related_names_stay_unique() -> None:
    panel = tiny_panel()
    static = np.arange(CELLS.size, dtype=np.float32)[:, None] * 10
    b = FeatureBuilder(CELLS, 9, "W", ("A", "B"), ("A",), static=static, static_names=["cov_x"])
    X = b.matrix(panel.counts, panel.counts[0], panel.periods, [2, 4], [1, 1])
    np.testing.assert_array_equal(X[:, -1], np.tile(static[:, 0], 2))
    odd = FeatureBuilder(CELLS, 9, "W", ("A", "Car crime", "car-crime"), ("A",))
    assert [n for n in odd.names if n.startswith("rel_")] == [
        "rel_car_crime_sum_4",
        "rel_car_crime_mean_52",
        "rel_car_crime_2_sum_4",
        "rel_car_crime_2_mean_52",
    ]
    with pytest.raises(ConfigError, match="static covariates have shape"):
        FeatureBuilder(CELLS, 9, "W", ("A",), ("A",), static=static, static_names=["a", "b"])


# -- calendar ------------------------------------------------------------------------------
def test_weekly_calendar_uses_the_weeks_thursday() -> None:
    starts = pd.DatetimeIndex(["2022-12-26", "2023-01-02", "2023-01-30"])
    cal = dict(calendar_features(starts, "W"))
    np.testing.assert_array_equal(cal["week_of_year"], [52, 1, 5])
    np.testing.assert_array_equal(cal["month"], [12, 1, 2])  # Thu 29 Dec, 5 Jan, 2 Feb
    np.testing.assert_allclose(cal["month_sin"], np.sin(2 * np.pi * np.array([11, 0, 1]) / 12))
    np.testing.assert_allclose(cal["week_cos"], np.cos(2 * np.pi * np.array([51, 0, 4]) / 52))


def test_daily_and_monthly_calendars() -> None:
    daily = dict(calendar_features(pd.DatetimeIndex(["2023-03-05", "2023-03-06"]), "D"))
    np.testing.assert_array_equal(daily["day_of_week"], [6, 0])
    np.testing.assert_array_equal(daily["week_of_year"], [9, 10])
    monthly = dict(calendar_features(pd.DatetimeIndex(["2023-07-01"]), "M", "US"))
    assert list(monthly) == ["month", "month_sin", "month_cos", "holidays_in_period"]
    assert monthly["month"][0] == 7 and monthly["holidays_in_period"][0] == 1  # 4 July


def test_holidays_per_week_known_us_and_english_dates() -> None:
    weeks = pd.DatetimeIndex(["2022-12-26", "2023-11-13", "2023-11-20"])
    # 26 Dec 2022 (Christmas observed) and 1 Jan 2023; none; Thanksgiving 23 Nov
    np.testing.assert_array_equal(holidays_in_periods(weeks, "W", "US"), [2, 0, 1])
    # England: early May bank holiday 1 May 2023, the coronation holiday 8 May
    may = pd.DatetimeIndex(["2023-05-01", "2023-05-08", "2023-05-15"])
    np.testing.assert_array_equal(holidays_in_periods(may, "W", "GB-ENG"), [1, 1, 0])


def test_holiday_feature_counts_the_target_period_not_the_origin() -> None:
    periods = pd.date_range("2023-10-23", periods=3, freq="7D")  # weeks of 23 Oct .. 6 Nov
    counts = np.zeros((2, 3, CELLS.size), dtype=np.int32)
    panel = Panel(counts, CELLS, periods, ("A", "B"), "W", 9)
    b = builder_for(panel, holidays="US")
    X = b.matrix(counts, counts[0], periods, [3, 3], [1, 2])
    col = X[:, b.names.index("holidays_in_period")]
    # lead 1: week of 13 Nov (none); lead 2: week of 20 Nov (Thanksgiving)
    np.testing.assert_array_equal(col, np.repeat([0.0, 1.0], CELLS.size))


def test_shift_periods_steps_by_calendar_month() -> None:
    got = shift_periods(pd.Timestamp("2023-11-01"), [0, 1, 2, 3], "M")
    assert [d.strftime("%Y-%m-%d") for d in got] == [
        "2023-11-01",
        "2023-12-01",
        "2024-01-01",
        "2024-02-01",
    ]


@pytest.mark.parametrize(
    ("freq", "start", "near_repeat", "long_mean"),
    [
        ("M", "2023-01-01", "near_repeat_k1_last_month", "target_mean_12"),
        ("D", "2023-01-02", "near_repeat_k1_last_1d", "target_mean_91"),
    ],
)
def test_monthly_and_daily_plans(freq: str, start: str, near_repeat: str, long_mean: str) -> None:
    periods = pd.DatetimeIndex(pd.date_range(start, periods=6, freq="MS" if freq == "M" else "D"))
    panel = Panel(tiny_panel().counts, CELLS, periods, ("A", "B"), freq, 9)
    b = FeatureBuilder(CELLS, 9, freq, ("A", "B"), ("A",))
    assert near_repeat in b.names and long_mean in b.names
    X = b.matrix(panel.counts, panel.counts[0], periods, [4], [1])
    got = row(b, X, C)
    assert got[long_mean] == 2.0  # periods 0..3 hold 1 + 0 + 2 + 5
    assert got[near_repeat] == 5
    assert got["month"] == (5 if freq == "M" else 1)


def test_mean_all_is_the_whole_history_mean(year_panel: Panel) -> None:
    p = year_panel
    b = FeatureBuilder(p.cells, p.resolution, p.freq, p.categories, p.categories[:1])
    target = p.counts[0]
    X = b.matrix(p.counts, target, p.periods, origins=[40], leads=[1])
    col = {n: X[:, j] for j, n in enumerate(b.names)}
    np.testing.assert_allclose(col["target_mean_all"], target[:40].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(col["target_mean_13"], target[27:40].mean(axis=0), rtol=1e-6)
    assert not np.allclose(col["target_mean_all"], col["target_mean_13"])
    ring1 = b.neighbours.ring_sum(target[:40], 1)
    np.testing.assert_allclose(col["ring1_mean_all"], ring1.mean(axis=0), rtol=1e-5)
