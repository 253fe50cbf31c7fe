"""Statistics that compare a city with real crime data: concentration, drift, near repeats.

They take plain arrays (each event's position in a sorted cell array, and its day or month
as an integer), so ``benchmarks/realism.py`` measures the real extracts and Synthetica with
the same code, and the tests hold Synthetica to the ranges measured on real data.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse

from hotspots.grid import grid_disk_table
from hotspots.grid.cells import CellArray, FloatArray
from hotspots.synthetic.simulate import IntArray

NEAR_DAYS = 7  # a near repeat follows within this many days (the Knox window)


def top_share(counts: npt.ArrayLike, frac: float) -> float:
    """Share of the events in the top ``frac`` of cells (``counts`` holds one count per cell)."""
    arr = np.asarray(counts, dtype=np.float64)
    k = max(1, int(np.ceil(frac * arr.size)))
    return float(np.sort(arr)[-k:].sum() / max(arr.sum(), 1.0))


def counts_grid(cell: IntArray, period: IntArray, n_periods: int, n_cells: int) -> FloatArray:
    """Events per (period, cell) for periods 0 .. n_periods - 1; events outside are dropped."""
    keep = (period >= 0) & (period < n_periods)
    flat = period[keep] * n_cells + cell[keep]
    counts = np.bincount(flat, minlength=n_periods * n_cells).astype(np.float64)
    return counts.reshape(n_periods, n_cells)


def hit_rate(cell: IntArray, period: IntArray, n_cells: int, n: int, history: int) -> float:
    """Mean over periods 0 .. n-1 of the share of their events in the top 1% of cells by the
    ``history`` periods before each (negative periods are that history)."""
    grid = counts_grid(cell, period + history, n + history, n_cells)
    run = np.vstack([np.zeros(n_cells), np.cumsum(grid, axis=0)])
    past = run[history : history + n] - run[:n]  # the ``history`` periods before each
    now = grid[history:]
    k = max(1, int(np.ceil(0.01 * n_cells)))
    top = np.argpartition(past, -k, axis=1)[:, -k:]
    hits, total = np.take_along_axis(now, top, axis=1).sum(axis=1), now.sum(axis=1)
    return float(np.mean(hits[total > 0] / total[total > 0])) if (total > 0).any() else np.nan


def drift_ratio(cell: IntArray, period: IntArray, n_cells: int, n: int) -> float:
    """How far the map moves in a year: 1.0 = as good a guide as the same year's own map.

    ``period`` runs 0 .. 2n - 1 over two blocks of ``n`` periods (a year each). The events of
    the second block's even periods caught by the top 1% of cells of the first block's odd
    periods, over those caught by the second block's own odd periods: as much data a year
    apart against the same year, so noise and near repeats aside only change in the places
    lowers it.
    """
    grid = counts_grid(cell, period, 2 * n, n_cells)
    k = max(1, int(np.ceil(0.01 * n_cells)))
    target = grid[n::2].sum(axis=0)

    def caught(rows: FloatArray) -> float:
        return float(target[np.argpartition(rows.sum(axis=0), -k)[-k:]].sum())

    within = caught(grid[n + 1 :: 2])
    return caught(grid[1:n:2]) / within if within > 0 else np.nan


def ring_adjacency(cells: CellArray) -> sparse.csr_matrix:
    """Sparse (n, n) 0/1 matrix: cell j is ``cells[i]`` or one of its ring-1 neighbours."""
    src, nbr = grid_disk_table(cells, 1)
    dst = np.searchsorted(cells, nbr)
    found = dst < cells.size
    found[found] = cells[dst[found]] == nbr[found]
    ones = np.ones(int(found.sum()))
    return sparse.csr_matrix((ones, (src[found], dst[found])), shape=(cells.size, cells.size))


def knox_ratio(cell: IntArray, day: IntArray, adjacency: sparse.csr_matrix,
               rng: np.random.Generator, shuffles: int = 3) -> float:  # fmt: skip
    """Near-repeat strength: pairs of events in the same or a neighbouring cell, the later
    1 to ``NEAR_DAYS`` days after the earlier, over the mean count with the days shuffled
    among the events (places and the calendar kept, their link broken). 1.0: no near repeats.

    Same-day pairs are left out, so the several rows of one incident are not a repeat.
    """
    if day.size == 0:
        return np.nan
    # each event once per cell of its ring (CSR rows gathered without a loop)
    start, stop = adjacency.indptr[cell], adjacency.indptr[cell + 1]
    width = stop - start
    offsets = np.arange(int(width.sum())) - np.repeat(np.cumsum(width) - width, width)
    near_cell = adjacency.indices[np.repeat(start, width) + offsets].astype(np.int64)
    span = int(day.max()) - int(day.min()) + 2 * NEAR_DAYS + 1  # keys of two cells never mix

    def pairs(d: IntArray) -> float:
        keys = np.sort(cell * span + (d - day.min()))
        when = np.repeat(d - day.min(), width) + near_cell * span
        earlier = np.searchsorted(keys, when, "left")
        return float((earlier - np.searchsorted(keys, when - NEAR_DAYS, "left")).sum())

    expected = float(np.mean([pairs(rng.permutation(day)) for _ in range(shuffles)]))
    return pairs(day) / expected if expected > 0 else np.nan


def seasonal_amplitude(time: IntArray, lo: int, hi: int, monthly: bool = False) -> float:
    """(max - min) / (2 mean) of the daily rate in each calendar month of [lo, hi).

    ``time`` and the bounds are days since 1970-01-01, or months since 1970-01 when
    ``monthly``. Rates per day, so February is not low for its length; months with fewer
    than 15 days inside the bounds are dropped; nan with fewer than 12 months.
    """
    if monthly:
        months = np.arange(lo, hi).astype("datetime64[M]")
        lengths = ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(
            np.int64
        )
        inside = (time >= lo) & (time < hi)
        counts = np.bincount(time[inside] - lo, minlength=hi - lo)
    else:
        month_of_day = np.arange(lo, hi).astype("datetime64[D]").astype("datetime64[M]")
        first = month_of_day.min().astype(np.int64)
        lengths = np.bincount(month_of_day.astype(np.int64) - first)
        inside = (time >= lo) & (time < hi)
        ev_month = time[inside].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        counts = np.bincount(ev_month - first, minlength=lengths.size)
    whole = lengths >= 15
    rate = counts[whole] / lengths[whole]
    if rate.size < 12 or rate.mean() == 0:
        return np.nan
    return float((rate.max() - rate.min()) / (2 * rate.mean()))
