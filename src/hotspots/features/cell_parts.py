"""A panel's cells in parts, each with the halo of neighbour cells its features read.

A part is a run of whole parent groups (the cells sharing the parent of the ``parent``
features, ``resolution - 2``): sorted H3 cells of one resolution sort by their parents, so
each part is a contiguous range of the panel's cells. Its halo adds the cells within two
steps (ring 1 and ring 2 features), so a feature builder over the part and its halo gives
the part's cells the values the whole panel's builder gives them. The training rows of
several parts can then be built apart (e.g. on Dask workers) and are the whole build's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hotspots.errors import DataValidationError
from hotspots.grid import cells_to_parents, grid_disk_table

IntArray = npt.NDArray[np.int64]
PARENT_LEVELS = 2  # the parent features' level above the cells (lags.neighbours_of)
HALO = 2  # the farthest ring a feature reads


@dataclass(frozen=True)
class RowPart:
    """The rows of some cells only, for a builder over a part of the panel's cells: ``own``
    are their positions among the builder's cells, and they are the panel's cells
    ``first .. first + own.size - 1`` of ``n_cells`` (so quiet rows are drawn as the whole
    panel's build draws them)."""

    own: IntArray
    first: int
    n_cells: int


@dataclass(frozen=True)
class CellPart:
    """The panel's cells ``first .. stop - 1`` and their halo: ``cells`` are the positions
    (among the panel's cells, sorted) of both, ``rows`` says which of them are the part's."""

    first: int
    stop: int
    cells: IntArray
    rows: RowPart


def cell_parts(cells: npt.ArrayLike, resolution: int, max_cells: int) -> list[CellPart]:
    """Sorted unique ``cells`` in parts of whole parent groups, each of at most ``max_cells``
    cells where a group is not larger alone, with their halos."""
    arr = np.asarray(cells, dtype=np.uint64)
    if arr.size == 0:
        return []
    if max_cells < 1:
        raise DataValidationError(f"a part needs at least 1 cell, got max_cells={max_cells}")
    parents = cells_to_parents(arr, max(resolution - PARENT_LEVELS, 0))
    if np.any(np.diff(arr.astype(np.int64)) <= 0) or np.any(np.diff(parents) < 0):
        raise DataValidationError("cells must be sorted, unique and of one resolution")
    starts = np.flatnonzero(np.diff(parents) != 0) + 1
    bounds = _pack(np.concatenate([[0], starts, [arr.size]]), max_cells)
    return [_with_halo(arr, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _pack(group_bounds: IntArray, max_cells: int) -> list[int]:
    """Part boundaries: consecutive groups joined while the part stays within max_cells."""
    out, prev = [0], 0
    for end in map(int, group_bounds[1:]):
        if end - out[-1] > max_cells and prev > out[-1]:
            out.append(prev)
        prev = end
    return [*out, prev]


def _with_halo(cells: npt.NDArray[np.uint64], first: int, stop: int) -> CellPart:
    _, near = grid_disk_table(cells[first:stop], HALO)
    pos = np.minimum(np.searchsorted(cells, near), cells.size - 1)
    inside = pos[cells[pos] == near]
    union = np.union1d(np.arange(first, stop), inside).astype(np.int64)
    own = np.searchsorted(union, np.arange(first, stop)).astype(np.int64)
    return CellPart(first, stop, union, RowPart(own, first, int(cells.size)))


def quiet_draws(seed: int, shape: tuple[int, ...], part: RowPart | None) -> npt.NDArray[np.float64]:
    """Uniform draws deciding which quiet rows stay: ``default_rng(seed).random(shape)`` of
    the whole panel, or for a part the same draws at its cells' places (the generator is
    advanced past the other cells' draws: one 64-bit step per double)."""
    if part is None:
        return np.random.default_rng(seed).random(shape)
    bits = np.random.PCG64(seed)
    rng, out, at = np.random.Generator(bits), np.empty(shape), 0
    for b in range(shape[0]):
        start = b * part.n_cells + part.first
        bits.advance(start - at)
        out[b] = rng.random(shape[1])
        at = start + shape[1]
    return out
