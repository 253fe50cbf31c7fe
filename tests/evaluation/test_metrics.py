"""Hotspot metrics on tiny hand-computed arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hotspots.errors import ConfigError, DataValidationError
from hotspots.evaluation import (
    Cutoff,
    bootstrap_ci,
    calibration_table,
    flagged_count,
    hit_rate,
    pai,
    pei,
    poisson_deviance,
    rank_cells,
    score_ranking,
)

# expected and actual counts of five cells; cells 3 and 4 tie at 0.5
MU = np.array([0.9, 0.1, 0.5, 0.5, 0.0])
Y = np.array([2, 3, 0, 1, 4])
CELLS = np.array([1, 2, 3, 4, 5], dtype=np.uint64)


def test_rank_breaks_ties_by_cell_id_ascending_whatever_the_input_order() -> None:
    expected = np.array([1.0, 2.0, 2.0, 0.0])
    cells = np.array([40, 30, 10, 20], dtype=np.uint64)
    assert rank_cells(expected, cells).tolist() == [2, 1, 0, 3]
    flip = np.array([2, 1, 0, 3])
    assert cells[flip][rank_cells(expected[flip], cells[flip])].tolist() == [10, 30, 40, 20]


def test_rank_refuses_nan_forecasts() -> None:
    with pytest.raises(DataValidationError, match="1 expected counts"):
        rank_cells([1.0, np.nan], np.array([1, 2], dtype=np.uint64))


@pytest.mark.parametrize(
    ("n_cells", "coverage", "k"),
    [
        (700, 0.01, 7),
        (350, 0.01, 4),  # 3.5 rounds up to 4
        (250, 0.01, 3),  # 2.5 rounds up to 3 (Python's round would give 2)
        (100, 0.145, 15),  # 14.499999999999998 in floating point, still a half
        (10, 0.01, 1),  # 0.1 would flag nothing: at least one cell
        (7, 0.5, 4),
        (7, 1.0, 7),
        (702, 0.05, 35),
    ],
)
def test_flagged_count_rounds_halves_up_and_flags_at_least_one(
    n_cells: int, coverage: float, k: int
) -> None:
    assert flagged_count(n_cells, coverage) == k
    assert Cutoff.coverage(coverage).k(n_cells) == k


def test_cutoff_labels_parse_back_and_bad_values_are_refused() -> None:
    assert Cutoff.coverage(0.01).label == "1%"
    assert Cutoff.coverage(0.005).label == "0.5%"
    assert Cutoff.coverage(0.1).label == "10%"
    assert Cutoff.budget(50).label == "k=50"
    for label in ("1%", "0.5%", "12.5%", "k=50"):
        assert Cutoff.parse(label).label == label
    assert Cutoff.parse("k=3").k(10) == 3
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ConfigError, match="coverage"):
            Cutoff.coverage(bad)
    for bad_k in (0, True, 2.5):
        with pytest.raises(ConfigError, match="budget"):
            Cutoff.budget(bad_k)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'top-5'"):
        Cutoff.parse("top-5")
    with pytest.raises(ConfigError, match="k=8 exceeds the 7 study cells"):
        Cutoff.budget(8).k(7)


def test_scores_at_several_cutoffs_from_one_ranking() -> None:
    # ranking: cell 1 (0.9), cell 3 and cell 4 (0.5, by id), cell 2 (0.1), cell 5 (0.0)
    # actual in that order 2, 0, 1, 3, 4; total 10; the best k cells hold 4, 7, 9 events
    s = score_ranking(MU, Y, CELLS, [1, 2, 3])
    assert s.n_events == 10
    assert s.flagged.tolist() == [1, 2, 3]
    assert s.hits.tolist() == [2, 2, 3]  # cell 4 before cell 3 would make k=2 catch 3
    np.testing.assert_allclose(s.hit_rate, [0.2, 0.2, 0.3])
    np.testing.assert_allclose(s.pai, [0.2 / (1 / 5), 0.2 / (2 / 5), 0.3 / (3 / 5)])
    np.testing.assert_allclose(s.pei, [2 / 4, 2 / 7, 3 / 9])
    assert hit_rate(MU, Y, CELLS, 3) == pytest.approx(0.3)
    assert pai(MU, Y, CELLS, 1) == pytest.approx(1.0)
    assert pei(MU, Y, CELLS, 2) == pytest.approx(2 / 7)


def test_all_cells_flagged_catch_everything_at_pai_one() -> None:
    s = score_ranking(MU, Y, CELLS, [5])
    assert (s.hit_rate[0], s.pai[0], s.pei[0]) == (1.0, 1.0, 1.0)


def test_the_oracle_ranking_has_pei_one_at_every_cutoff() -> None:
    s = score_ranking(Y.astype(float), Y, CELLS, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(s.pei, np.ones(5))
    assert s.hits.tolist() == [4, 7, 9, 10, 10]


def test_a_period_without_events_scores_nan() -> None:
    s = score_ranking(MU, np.zeros(5, dtype=int), CELLS, [1, 3])
    assert s.n_events == 0
    assert s.hits.tolist() == [0, 0]
    for values in (s.hit_rate, s.pai, s.pei):
        assert np.isnan(values).all()


def test_flagged_counts_outside_the_cells_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"1\.\.5"):
        score_ranking(MU, Y, CELLS, [6])
    with pytest.raises(ConfigError, match=r"1\.\.5"):
        score_ranking(MU, Y, CELLS, [0])


def test_poisson_deviance_values() -> None:
    assert poisson_deviance([1.0, 2.0, 5.0], [1, 2, 5]) == 0.0
    # y = 0, mu = 1: 2 * (0 - (0 - 1)) = 2; y = 2, mu = 1: 2 * (2 ln 2 - 1); mean = 2 ln 2
    assert poisson_deviance([1.0, 1.0], [0, 2]) == pytest.approx(2 * math.log(2))
    # mu = 0 is floored at 1e-9: zero cells add 2e-9, occupied cells stay finite
    assert poisson_deviance([0.0, 3.0], [0, 3]) == pytest.approx(1e-9, abs=1e-15)
    floored = poisson_deviance([0.0], [1])
    assert floored == pytest.approx(2 * (math.log(1 / 1e-9) - (1 - 1e-9)))


def test_calibration_bins_are_deciles_of_the_prediction() -> None:
    mu = np.arange(20.0)[::-1]
    cal = calibration_table(mu, 2 * mu)
    t = cal.table
    assert t["bin"].tolist() == list(range(1, 11))
    assert t["n"].tolist() == [2] * 10
    np.testing.assert_allclose(t["mean_predicted"], np.arange(10) * 2 + 0.5)
    np.testing.assert_allclose(t["mean_observed"], (np.arange(10) * 2 + 0.5) * 2)
    assert t["predicted_min"].tolist()[:2] == [0.0, 2.0]
    assert t["predicted_max"].tolist()[-1] == 19.0
    assert (cal.total_predicted, cal.total_observed) == (190.0, 380.0)


def test_calibration_splits_ties_by_position_and_drops_empty_bins() -> None:
    cal = calibration_table(np.zeros(20), np.arange(20.0))
    np.testing.assert_allclose(cal.table["mean_observed"], np.arange(10) * 2 + 0.5)
    few = calibration_table(np.array([5.0, 1.0, 3.0, 2.0, 4.0]), np.array([1, 0, 0, 0, 1]))
    assert few.table["bin"].tolist() == [1, 3, 5, 7, 9]
    assert few.table["mean_predicted"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_bootstrap_interval_holds_the_mean_and_repeats_with_the_seed() -> None:
    values = np.array([0.11, 0.42, 0.23, 0.37, 0.52, 0.26, 0.19, 0.61, 0.08, 0.33])
    low, high = bootstrap_ci(values, seed=1)
    assert low < values.mean() < high
    assert (low, high) == bootstrap_ci(values, seed=1)
    assert (low, high) != bootstrap_ci(values, seed=2)
    assert values.min() <= low and high <= values.max()


def test_bootstrap_interval_width_matches_the_normal_approximation() -> None:
    values = np.random.default_rng(0).normal(10.0, 2.0, size=400)
    low, high = bootstrap_ci(values, seed=0)
    width = 2 * 1.96 * values.std() / math.sqrt(values.size)  # a 90% interval is 16% narrower
    assert high - low == pytest.approx(width, rel=0.08)
    assert (low + high) / 2 == pytest.approx(values.mean(), abs=0.05 * width)


def test_bootstrap_interval_is_degenerate_for_equal_folds_and_skips_nan() -> None:
    assert bootstrap_ci([0.1] * 5) == (0.1, 0.1)
    assert bootstrap_ci([0.7, np.nan, 0.7]) == (0.7, 0.7)
    assert all(math.isnan(v) for v in bootstrap_ci([np.nan, np.nan]))


def test_paired_win_share_resamples_folds_together() -> None:
    from hotspots.evaluation import paired_win_share

    a = np.array([3.0, 2.0, 5.0, np.nan])
    assert paired_win_share(a, a - 0.1) == 1.0  # ahead in every fold
    assert paired_win_share(a, a) == 0.5  # ties count half
    assert paired_win_share(a - 0.1, a) == 0.0
    mixed = paired_win_share([2.0, 2.0, 2.0, 0.0], [1.0, 1.0, 1.0, 2.0], seed=3)
    assert 0.6 < mixed < 0.95  # mean +0.25, but one fold against
    assert paired_win_share([2.0, 2.0, 2.0, 0.0], [1.0, 1.0, 1.0, 2.0], seed=3) == mixed
    assert np.isnan(paired_win_share([np.nan], [1.0]))


def test_mean_ratio_win_share_weighs_the_cutoffs_together() -> None:
    from hotspots.evaluation import mean_ratio_win_share, paired_win_share, ratio_or_bound

    a, b = [2.0, 2.0, 2.0, 0.0], [1.0, 1.0, 1.0, 2.0]
    # one pair: the same draws and answer as paired_win_share
    assert mean_ratio_win_share([(a, b)], seed=3) == paired_win_share(a, b, seed=3)
    # ahead at one cutoff by 20%, behind at the other by 10% in every fold: mean 1.05x
    at1, at5 = ([1.2, 1.2, 1.2], [1.0, 1.0, 1.0]), ([0.9, 0.9, 0.9], [1.0, 1.0, 1.0])
    assert mean_ratio_win_share([at1, at5]) == 1.0
    assert mean_ratio_win_share([at5, ([0.95] * 3, [1.0] * 3)]) == 0.0
    # a fold with NaN at any cutoff is left out of both
    assert mean_ratio_win_share([([1.2, np.nan], [1.0, 1.0]), ([0.9, 0.1], [1.0, 1.0])]) == 1.0
    assert np.isnan(mean_ratio_win_share([([np.nan], [1.0])]))
    assert ratio_or_bound([2.0, 0.0, 1.0], [0.0, 0.0, 4.0]).tolist() == [np.inf, 1.0, 0.25]


def test_paired_ratio_ci_resamples_folds_together() -> None:
    from hotspots.evaluation import paired_ratio_ci

    ratio, lo, hi = paired_ratio_ci([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    assert (ratio, lo, hi) == pytest.approx((2.0, 2.0, 2.0))  # the same ratio in every fold
    ratio, lo, hi = paired_ratio_ci([2.0, 1.0, np.nan, 3.0], [1.0, 1.0, 5.0, 2.0], seed=1)
    assert ratio == pytest.approx(6.0 / 4.0) and 1.0 <= lo < ratio < hi <= 2.0
    assert all(np.isnan(v) for v in paired_ratio_ci([np.nan], [1.0]))


def test_paired_ratio_ci_has_no_upper_bound_when_the_baseline_can_catch_nothing() -> None:
    from hotspots.evaluation import paired_ratio_ci

    # b scores in one fold of three: a resample without that fold has no ratio. It was
    # divided by 1e-300, so the upper bound read 1e300 and more
    a, b = [3.0, 3.0, 0.0], [0.0, 0.0, 3.0]
    ratio, lo, hi = paired_ratio_ci(a, b, seed=0)
    assert ratio == pytest.approx(2.0) and lo == 0.0 and hi == np.inf
    # both 0 in a resample: nothing to tell, a ratio of 1 (as the selection counts it)
    ratio, lo, hi = paired_ratio_ci([0.0, 0.0, 4.0], [0.0, 0.0, 2.0], seed=0)
    assert ratio == pytest.approx(2.0) and lo == 1.0 and hi == pytest.approx(2.0)
