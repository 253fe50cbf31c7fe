"""The training set built part by part (cells split by parent, each with its halo) is the
whole panel's training set: the same rows with the same values, targets and weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hotspots.errors import DataValidationError
from hotspots.features import Panel
from hotspots.features.cell_parts import RowPart, cell_parts, quiet_draws
from hotspots.features.matrix import FeatureBuilder, FeatureOptions, TrainingSet
from hotspots.features.part_training import part_inputs, part_training_set
from hotspots.grid import cells_to_parents, grid_disk_table

TARGET = ("Burglary Residential",)


def _builder(panel: Panel, **options: Any) -> FeatureBuilder:
    """Every optional feature group, and the cell's position as a covariate (a row key)."""
    key = np.arange(panel.cells.size, dtype=np.float32)[:, None]
    return FeatureBuilder(
        panel.cells,
        panel.resolution,
        panel.freq,
        panel.categories,
        TARGET,
        FeatureOptions(holidays="US", lead=True, event_times=True, **options),
        static=key,
        static_names=["cov_key"],
    )


def _by_cell(train: TrainingSet) -> tuple[np.ndarray, ...]:
    """Rows sorted by cell (stable: within a cell they stay in block order)."""
    order = np.argsort(train.X[:, -1], kind="stable")
    weight = None if train.weight is None else train.weight[order]
    return train.X[order], train.y[order], weight


def _whole_and_parts(panel: Panel, max_cells: int, **kw: Any) -> tuple[Any, Any, int]:
    builder = _builder(panel)
    cats = [panel.categories.index(c) for c in TARGET]
    target = panel.counts[cats].sum(axis=0, dtype=np.int32)
    events = panel.events.of_categories(cats)  # type: ignore[union-attr]
    args = (panel.counts, target, panel.periods)
    whole = builder.training_set(*args, events=events, **kw)
    parts = cell_parts(panel.cells, panel.resolution, max_cells)
    built = [part_training_set(part_inputs(builder, *args, events, p), **kw) for p in parts]
    joined = TrainingSet(
        np.concatenate([t.X for t in built]),
        np.concatenate([t.y for t in built]),
        None if built[0].weight is None else np.concatenate([t.weight for t in built]),
        built[0].names,
        sum(t.n_candidates for t in built),
    )
    assert joined.names == whole.names and joined.n_candidates == whole.n_candidates
    return _by_cell(whole), _by_cell(joined), len(parts)


@pytest.mark.parametrize("fraction", [1.0, 0.3])
def test_the_parts_rows_are_the_whole_panels_rows(year_panel: Panel, fraction: float) -> None:
    kw = {"min_history": 4, "max_horizon": 2, "zero_row_fraction": fraction, "seed": 5}
    whole, joined, n_parts = _whole_and_parts(year_panel, 60, **kw)
    assert n_parts >= 4
    assert whole[0].shape == joined[0].shape and whole[0].shape[0] > 1000
    np.testing.assert_array_equal(joined[0], whole[0])  # every feature, bit for bit
    np.testing.assert_array_equal(joined[1], whole[1])
    if fraction == 1.0:
        assert whole[2] is None and joined[2] is None
    else:
        np.testing.assert_array_equal(joined[2], whole[2])
        assert set(np.unique(whole[2])) == {1.0, np.float32(1 / 0.3)}


def test_each_cell_is_in_one_part_with_its_parent_group_and_two_rings(year_panel: Panel) -> None:
    cells = year_panel.cells
    parts = cell_parts(cells, year_panel.resolution, 60)
    owned = np.concatenate([np.arange(p.first, p.stop) for p in parts])
    np.testing.assert_array_equal(owned, np.arange(cells.size))
    parents = cells_to_parents(cells, year_panel.resolution - 2)
    for p in parts:
        mine = parents[p.first : p.stop]
        assert not np.isin(np.delete(parents, np.arange(p.first, p.stop)), mine).any()
        _, near = grid_disk_table(cells[p.first : p.stop], 2)
        assert set(near[np.isin(near, cells)]) <= set(cells[p.cells])
        np.testing.assert_array_equal(p.cells[p.rows.own], np.arange(p.first, p.stop))
    sizes = [p.stop - p.first for p in parts]
    assert max(sizes) <= 60 or len(set(parents)) == len(parts)


def test_a_parts_draws_are_the_whole_panels_draws_at_its_cells() -> None:
    whole = quiet_draws(3, (5, 40), None)
    part = RowPart(np.arange(9), first=17, n_cells=40)  # the cells 17..25 of 40
    np.testing.assert_array_equal(quiet_draws(3, (5, 9), part), whole[:, 17:26])


def test_unsorted_cells_are_refused(year_panel: Panel) -> None:
    with pytest.raises(DataValidationError, match="sorted"):
        cell_parts(year_panel.cells[::-1], year_panel.resolution, 60)
