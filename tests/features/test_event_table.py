"""The events behind a panel: kept by events_to_panel, cut and re-coded for a forecaster,
and the event-time look-backs (decay by age in days, days since the last event)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import DataValidationError
from hotspots.features import Panel, events_to_panel
from hotspots.features.event_table import EventTable, precision_codes
from hotspots.features.lags import days_since_event, event_decay

DAY = 86_400 * 10**9


def test_events_to_panel_keeps_exactly_the_counted_events(year_city_events: pd.DataFrame) -> None:
    panel = events_to_panel(year_city_events, 8, "W", end="2023-10-02")
    ev = panel.events
    assert ev is not None and len(ev) == int(panel.counts.sum())
    assert np.all(np.diff(ev.time_ns) >= 0)
    # counting the kept events per category, period and cell gives the panel's counts back
    period = np.searchsorted(panel.periods.asi8, ev.time_ns, side="right") - 1
    flat = (ev.category.astype(np.int64) * len(panel.periods) + period) * panel.cells.size
    again = np.bincount(flat + ev.cell, minlength=panel.counts.size).reshape(panel.counts.shape)
    np.testing.assert_array_equal(again, panel.counts)
    assert ev.time_ns.max() < pd.Timestamp("2023-10-02").value
    assert ev.has_day_times


def test_realign_cuts_at_the_origin_and_recodes_cells_and_categories() -> None:
    cells = np.array([10, 20, 30], dtype=np.uint64)
    table = EventTable.from_arrays(
        time_ns=[5 * DAY, 1 * DAY, 3 * DAY, 9 * DAY],
        cell=[2, 0, 1, 0],
        category=[1, 0, 1, 0],
        lat=[1.0, 2.0, 3.0, 4.0],
        lng=[0.0, 0.0, 0.0, 0.0],
    )
    np.testing.assert_array_equal(table.time_ns // DAY, [1, 3, 5, 9])  # sorted on the way in
    out = table.realign(
        cells, ("a", "b"), np.array([20, 30, 40], dtype=np.uint64), ("b", "c"), before_ns=6 * DAY
    )
    # cell 10 is not in the new cells and category "a" not in the new categories: dropped;
    # the event on day 9 is after the cut
    np.testing.assert_array_equal(out.time_ns // DAY, [3, 5])
    np.testing.assert_array_equal(out.cell, [0, 1])  # cells 20 and 30 in the new order
    np.testing.assert_array_equal(out.category, [0, 0])  # "b" is first now
    np.testing.assert_array_equal(out.lat, [3.0, 1.0])


def test_tables_refuse_ragged_or_unsorted_arrays_and_panels_refuse_foreign_codes() -> None:
    with pytest.raises(DataValidationError, match="one length"):
        EventTable(np.zeros(2, np.int64), np.zeros(3, np.int64), *(np.zeros(2),) * 4)  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="sorted"):
        EventTable.from_arrays([0, 1], [0, 0], [0, 0], [0, 0], [0, 0]).__class__(
            np.array([2, 1]), np.zeros(2, np.int64), np.zeros(2, np.int16),
            np.zeros(2), np.zeros(2), np.zeros(2, np.int8),
        )  # fmt: skip
    table = EventTable.from_arrays([0], [5], [0], [0.0], [0.0])
    periods = pd.DatetimeIndex(["2023-01-02"])
    with pytest.raises(DataValidationError, match="cells or categories"):
        Panel(np.zeros((1, 1, 2), np.int32), np.array([1, 2], np.uint64), periods, ("a",), "W", 9,
              events=table)  # fmt: skip


def test_precision_codes() -> None:
    np.testing.assert_array_equal(
        precision_codes(np.array(["minute", "day", "month", "minute"]), 4), [0, 1, 2, 0]
    )
    np.testing.assert_array_equal(precision_codes(None, 2), [0, 0])
    table = EventTable.from_arrays([0, 1], [0, 0], [0, 0], [0, 0], [0, 0], [0, 2])
    assert not table.has_day_times


def test_event_decay_weighs_each_event_by_its_age_in_days_at_each_origin() -> None:
    bounds = np.array([0, 7, 14, 21]) * DAY  # three weekly periods
    # cell 0: events on day 1 and day 6.5; cell 1: one on day 13
    t, cell = np.array([1 * DAY, 13 * DAY, int(6.5 * DAY)]), np.array([0, 1, 0])
    out = event_decay(t, cell, bounds, 2, half_life=2.0)
    assert out.shape == (4, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], [0, 0])
    np.testing.assert_allclose(out[1], [0.5 ** (6 / 2) + 0.5 ** (0.5 / 2), 0], rtol=1e-6)
    np.testing.assert_allclose(
        out[2], [0.5 ** (13 / 2) + 0.5 ** (7.5 / 2), 0.5 ** (1 / 2)], rtol=1e-6
    )
    np.testing.assert_allclose(out[3], out[2] * 0.5 ** (7 / 2), rtol=1e-6)
    # an event at or after the last bound is not history of any origin
    late = event_decay(np.array([21 * DAY]), np.array([0]), bounds, 2, half_life=2.0)
    assert not late.any()


def test_days_since_event_is_capped_and_reads_only_the_past() -> None:
    bounds = np.array([0, 7, 14, 21]) * DAY
    t, cell = np.array([1 * DAY, int(12.5 * DAY)]), np.array([0, 0])
    out = days_since_event(t, cell, bounds, 2, cap=10)
    np.testing.assert_allclose(out[:, 0], [10, 6, 1.5, 8.5])
    np.testing.assert_allclose(out[:, 1], [10, 10, 10, 10])
