"""The one contract every registered forecaster follows, checked on the year city.

Parametrised over every kind registered at collection time, each built with its default
hyper-parameters, so a new forecaster is held to the contract as soon as it is registered.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import hotspots.forecasters.baselines  # noqa: F401  (registers the baselines)
from hotspots.errors import DataValidationError, NotFittedError, UnknownCategoryError
from hotspots.features import Panel
from hotspots.features.event_table import EventTable
from hotspots.forecasters.base import (
    PREDICTION_COLUMNS,
    Forecaster,
    ForecasterState,
    forecaster_from_state,
    forecaster_kinds,
    make_forecaster,
)
from hotspots.grid import grid_disk_cells

# the package's own kinds: test doubles elsewhere in the suite register kinds too
KINDS = sorted(k for k, c in forecaster_kinds().items() if c.__module__.startswith("hotspots."))
TARGET = ("Burglary Residential", "Theft from Vehicle")
FIT_UNTIL = "2023-10-02"  # a Monday: the year panel's period 39
CUT = 39  # the first period a forecast made in the week of FIT_UNTIL may not read
MONDAY, MIDWEEK = "2023-10-02", "2023-10-04 15:30"

SPIKE_RAISES = {"historical_mean", "kde", "last_period", "prospective", "rolling_mean"}
"""Kinds whose forecast for a cell must rise with that cell's count in the last period."""


@pytest.fixture(scope="module", params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def fitted(kind: str, year_panel: Panel) -> Forecaster:
    """A default model of ``kind`` fitted on the first 39 weeks (treat as read-only)."""
    return make_forecaster(kind, target=TARGET).fit(year_panel, until=FIT_UNTIL)


def events_from_counts(counts: np.ndarray, periods: pd.DatetimeIndex) -> EventTable:
    """Events that give ``counts``: the ``c`` events of a category, period and cell spread
    evenly over the period, so equal counts always give equal events."""
    cat, per, cell = np.nonzero(counts)
    c = counts[cat, per, cell].astype(np.int64)
    start = periods.asi8[per]
    length = (periods.asi8[1] - periods.asi8[0]) if len(periods) > 1 else 7 * 86_400 * 10**9
    j = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)  # 0..c-1 within each group
    times = np.repeat(start, c) + ((j + 0.5) / np.repeat(c, c) * length).astype(np.int64)
    points = np.zeros(times.size)
    return EventTable.from_arrays(times, np.repeat(cell, c), np.repeat(cat, c), points, points)


def with_counts(panel: Panel, counts: np.ndarray, periods: pd.DatetimeIndex | None = None) -> Panel:
    """``panel`` with other counts (and periods), and events that give those counts."""
    periods = panel.periods if periods is None else periods
    return Panel(
        counts,
        panel.cells,
        periods,
        panel.categories,
        panel.freq,
        panel.resolution,
        events=events_from_counts(counts, periods),
    )


def test_clone_is_an_unfitted_copy_with_equal_params(fitted: Forecaster, year_panel: Panel) -> None:
    copy = clone(fitted)
    assert type(copy) is type(fitted) and copy is not fitted
    assert copy.get_params() == fitted.get_params()
    assert copy.get_params()["target"] == TARGET
    assert not hasattr(copy, "cells_")
    with pytest.raises(NotFittedError):
        copy.predict(year_panel, MONDAY)


def test_predict_before_fit_raises_not_fitted(kind: str, year_panel: Panel) -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        make_forecaster(kind).predict(year_panel, MONDAY)


@pytest.mark.parametrize(
    ("as_of", "first"),
    [(MONDAY, "2023-10-02"), (MIDWEEK, "2023-10-09"), ("2024-01-01", "2024-01-01")],
)
def test_output_shape_order_dtypes_and_periods(
    fitted: Forecaster, year_panel: Panel, as_of: str, first: str
) -> None:
    frame = fitted.predict(year_panel, as_of, horizon=3)
    assert list(frame.columns) == list(PREDICTION_COLUMNS)
    assert [str(t) for t in frame.dtypes] == ["datetime64[ns]", "uint64", "float64"]
    n = year_panel.cells.size
    assert len(frame) == 3 * n
    starts = pd.date_range(first, periods=3, freq="7D").values
    np.testing.assert_array_equal(frame["period_start"].to_numpy(), np.repeat(starts, n))
    np.testing.assert_array_equal(frame["cell"].to_numpy(), np.tile(year_panel.cells, 3))
    values = frame["expected_count"].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all() and values.sum() > 0


def test_a_period_is_forecast_alike_however_many_are_asked_for(
    fitted: Forecaster, year_panel: Panel
) -> None:
    """The forecast of a period does not depend on how many periods were asked for, so one
    call can serve every horizon (``evaluation.blocks.forecast_blocks_ahead``)."""
    n = year_panel.cells.size
    every = fitted.predict(year_panel, MONDAY, horizon=4)["expected_count"].to_numpy()
    for horizon in (1, 2, 3):
        alone = fitted.predict(year_panel, MONDAY, horizon=horizon)["expected_count"].to_numpy()
        np.testing.assert_array_equal(every[: horizon * n], alone)


@pytest.mark.parametrize("as_of", [MONDAY, MIDWEEK])
def test_no_leakage_from_the_as_of_period_or_later(
    kind: str, fitted: Forecaster, year_panel: Panel, as_of: str
) -> None:
    rng = np.random.default_rng(0)
    counts = np.concatenate([year_panel.counts, np.zeros_like(year_panel.counts[:, :6])], axis=1)
    counts[:, CUT:] = rng.integers(0, 500, size=counts[:, CUT:].shape)
    periods = pd.date_range(year_panel.periods[0], periods=counts.shape[1], freq="W-MON")
    future = with_counts(year_panel, counts, periods)
    base = with_counts(year_panel, year_panel.counts)
    model = make_forecaster(kind, target=TARGET)
    assert model.fit(future, until=FIT_UNTIL) is model
    want = make_forecaster(kind, target=TARGET).fit(base, until=FIT_UNTIL)
    pd.testing.assert_frame_equal(
        model.predict(future, as_of, horizon=4), want.predict(base, as_of, horizon=4)
    )


def test_history_before_as_of_changes_the_forecast(
    kind: str, fitted: Forecaster, year_panel: Panel
) -> None:
    before = fitted.predict(year_panel, MONDAY)["expected_count"].to_numpy()
    counts = year_panel.counts.copy()
    perm = np.random.default_rng(1).permutation(year_panel.cells.size)
    counts[:, :CUT] = counts[:, :CUT][:, :, perm]  # the same events, in other cells
    moved = with_counts(year_panel, counts)
    refit = make_forecaster(kind, target=TARGET).fit(moved, until=FIT_UNTIL)
    assert not np.allclose(refit.predict(moved, MONDAY)["expected_count"].to_numpy(), before)
    if kind in SPIKE_RAISES:
        cell = int(np.argmin(before))
        spiked = year_panel.counts.copy()
        spiked[year_panel.categories.index(TARGET[0]), CUT - 1, cell] += 50
        after = fitted.predict(with_counts(year_panel, spiked), MONDAY)["expected_count"]
        assert after.to_numpy()[cell] > before[cell]


def test_state_round_trip_predicts_identically(fitted: Forecaster, year_panel: Panel) -> None:
    state = fitted.get_state()
    want = fitted.predict(year_panel, MIDWEEK, horizon=2)
    pd.testing.assert_frame_equal(
        forecaster_from_state(state).predict(year_panel, MIDWEEK, 2), want
    )
    buffer = io.BytesIO()  # arrays as a plain .npz and the rest as JSON: nothing pickled
    np.savez(buffer, **state.arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    plain = ForecasterState(
        state.kind,
        json.loads(json.dumps(state.params)),
        json.loads(json.dumps(state.meta)),
        arrays,
        json.loads(json.dumps(state.texts)),
    )
    restored = forecaster_from_state(plain)
    assert type(restored) is type(fitted)
    assert restored.get_params() == fitted.get_params()
    pd.testing.assert_frame_equal(restored.predict(year_panel, MIDWEEK, horizon=2), want)


def test_missing_cells_and_categories_count_as_zero(fitted: Forecaster, year_panel: Panel) -> None:
    n = year_panel.cells.size
    keep_cells = np.arange(n) % 3 != 0
    dropped = ("Assault", TARGET[1])
    keep_cats = [c for c in year_panel.categories if c not in dropped]
    zeroed = year_panel.counts.copy()
    zeroed[:, :, ~keep_cells] = 0
    zeroed[[year_panel.categories.index(c) for c in dropped]] = 0
    want = fitted.predict(with_counts(year_panel, zeroed), MONDAY, horizon=2)
    # a few cells the model never saw, with counts, must be ignored
    extra = np.setdiff1d(grid_disk_cells(year_panel.cells, 1), year_panel.cells)[:5]
    cells = np.concatenate([year_panel.cells[keep_cells], extra])
    order = np.argsort(cells)
    sub = year_panel.counts[[year_panel.categories.index(c) for c in keep_cats]][:, :, keep_cells]
    sub = np.concatenate([sub, np.full(sub.shape[:2] + (extra.size,), 9, np.int32)], axis=2)
    sub = sub[:, :, order]
    events = events_from_counts(sub, year_panel.periods)
    partial = Panel(sub, cells[order], year_panel.periods, tuple(keep_cats), "W", 8, events=events)
    pd.testing.assert_frame_equal(fitted.predict(partial, MONDAY, horizon=2), want)


def test_unknown_target_category_is_refused(kind: str, year_panel: Panel) -> None:
    with pytest.raises(UnknownCategoryError, match="Arson"):
        make_forecaster(kind, target=("Arson", TARGET[0])).fit(year_panel)


def test_too_short_history_is_refused(kind: str, fitted: Forecaster, year_panel: Panel) -> None:
    first_allowed = year_panel.periods[fitted.min_history]
    too_early = year_panel.periods[fitted.min_history - 1]
    with pytest.raises(DataValidationError, match="needs at least"):
        make_forecaster(kind, target=TARGET).fit(year_panel, until=too_early)
    with pytest.raises(DataValidationError, match="needs at least"):
        fitted.predict(year_panel, too_early)
    assert len(fitted.predict(year_panel, first_allowed)) == year_panel.cells.size
