"""What a fit sees of the panel (``Forecaster._history``): views of the panel's own arrays,
not copies, with the values the aligning copy gives."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hotspots.features import Panel
from hotspots.forecasters import History, make_forecaster
from hotspots.forecasters.base import _align


def _seen_history(panel: Panel, kind: str, **params: Any) -> History:
    model = make_forecaster(kind, **params)
    seen: list[History] = []
    fit = model._fit
    model._fit = lambda history: (seen.append(history), fit(history))[1]  # type: ignore[method-assign]
    model.fit(panel, until=panel.periods[40])
    return seen[0]


def test_a_fit_reads_the_panels_counts_and_events_in_place(year_panel: Panel) -> None:
    history = _seen_history(year_panel, "historical_mean", target="Burglary Residential")
    end = history.n_periods
    assert end == 40
    assert np.shares_memory(history.counts, year_panel.counts)
    assert not history.counts.flags.writeable  # a fit cannot change the panel under it
    with pytest.raises(ValueError, match="read-only"):
        history.counts[0, 0, 0] = 1
    np.testing.assert_array_equal(history.counts, year_panel.counts[:, :end])
    one = year_panel.categories.index("Burglary Residential")
    np.testing.assert_array_equal(history.target, year_panel.counts[one, :end])
    assert history.events is not None and year_panel.events is not None
    assert np.shares_memory(history.events.time_ns, year_panel.events.time_ns)
    assert history.events.time_ns.max() < history.end_ns <= year_panel.events.time_ns.max()


def test_the_views_hold_what_aligning_to_other_cells_gives(year_panel: Panel) -> None:
    end, p = 30, year_panel
    more = np.append(p.cells, p.cells.max() + np.uint64(1))  # one cell more, placed last
    copied = _align(p, more, p.categories, end)
    view = _align(p, p.cells, p.categories, end)
    assert np.shares_memory(view, p.counts) and not np.shares_memory(copied, p.counts)
    np.testing.assert_array_equal(view, copied[:, :, :-1])
    assert view.dtype == copied.dtype == np.int32
    assert p.events is not None
    cut = int(p.periods[end].value)
    fast = p.events.realign(p.cells, p.categories, p.cells, p.categories, cut)
    slow = p.events.realign(p.cells, p.categories, more, p.categories, cut)
    for name in ("time_ns", "cell", "category", "lat", "lng", "precision"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
        assert getattr(fast, name).dtype == getattr(slow, name).dtype


def test_two_target_categories_are_summed(year_panel: Panel) -> None:
    both = ("Burglary Residential", "Robbery")
    history = _seen_history(year_panel, "historical_mean", target=list(both))
    idx = [year_panel.categories.index(c) for c in both]
    want = year_panel.counts[idx, : history.n_periods].sum(axis=0)
    np.testing.assert_array_equal(history.target, want)
