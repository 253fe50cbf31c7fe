"""The origin oracle: expected counts given only what was known when each period began."""

from __future__ import annotations

import numpy as np
import pytest

from hotspots.synthetic import City, generate_city
from hotspots.synthetic.oracle import origin_truth


@pytest.fixture(scope="module")
def city() -> City:
    """90 days, ~20,000 events: enough near repeats inside each week to matter."""
    return generate_city(seed=3, start="2023-01-02", days=91, target_events=20_000)


def test_a_one_day_period_is_the_compensator_itself(city: City) -> None:
    # a forecast made at the start of a day knows everything the day's intensity depends on
    daily, starts = origin_truth(city, "D")
    truth, truth_starts = city.truth_array("D")
    assert daily.shape == truth.shape and starts.equals(truth_starts)
    np.testing.assert_allclose(daily, truth, rtol=1e-4, atol=1e-6)


def test_weekly_oracle_keeps_the_total_but_not_the_weeks_own_near_repeats(city: City) -> None:
    weekly, starts = origin_truth(city, "W")
    truth, truth_starts = city.truth_array("W")
    assert weekly.shape == truth.shape and starts.equals(truth_starts)
    assert abs(weekly.sum() / truth.sum() - 1) < 0.01  # the same expected total
    # where a week's own events excited their neighbourhood, the compensator knew and the
    # origin oracle could not: per category, cell-weeks with events have the compensator
    # higher, those without the origin oracle higher, on average
    counts = _weekly_counts(city, len(starts))
    burglary = 0  # the category with the strongest near repeats
    hit = counts[burglary] > 0
    gap = truth[burglary] - weekly[burglary]
    assert gap[hit].mean() > 0 > gap[~hit].mean()


def test_unknown_frequency_is_refused(city: City) -> None:
    with pytest.raises(Exception, match="frequency"):
        origin_truth(city, "Q")


def _weekly_counts(city: City, n_weeks: int) -> np.ndarray:
    """Clean events per category, week (Monday start, as truth_array) and cell."""
    from hotspots.synthetic import CATEGORIES

    when = np.asarray(city.events["occurred"], dtype="datetime64[D]")
    day = (when - np.datetime64(city.start.date(), "D")).astype(np.int64)
    week = (day + city.start.day_of_week) // 7
    cat = np.array([CATEGORIES.index(c) for c in city.events["offence"]])
    cell = np.searchsorted(city.cells, city.event_cells)
    out = np.zeros((len(CATEGORIES), n_weeks, city.cells.size))
    np.add.at(out, (cat, week, cell), 1)
    return out
