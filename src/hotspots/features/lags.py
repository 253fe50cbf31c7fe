"""Look-back building blocks: window sums, decayed counts, neighbour rings and parent cells.

Every function works on a whole ``(n_periods, n_cells)`` series at once and returns values
indexed by *origin*: entry ``[o]`` summarises periods ``[0, o)`` only, so a feature read at
origin ``o`` can never see period ``o`` or later. Origins run from 0 to ``n_periods``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from hotspots.errors import ConfigError
from hotspots.grid import cells_to_parents, grid_disk_table

IntArray = npt.NDArray[np.int64]
CountArray = npt.NDArray[np.int32]
Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class FreqPlan:
    """Which look-back windows (in periods) the features use at one period frequency.

    Long windows come as per-period means only: once the history covers them the sum is
    the mean times the window (a duplicate column costs training time), and before that the
    mean over the periods that exist is the comparable number.
    """

    sums: tuple[int, ...]  # target sums
    means: tuple[int, ...]  # target means over min(window, history) periods
    half_lives: tuple[int, ...]  # exponentially decayed target counts
    since_cap: int  # periods since the last event, capped here
    ring1: tuple[tuple[int, ...], tuple[int, ...]]  # ring-1 (sums, means)
    outer: tuple[tuple[int, ...], tuple[int, ...]]  # ring-2 and parent (sums, means)
    short: int  # all-crime and related categories: a short sum ...
    long: int  # ... and a long mean
    near_repeat: str  # name of the near-repeat feature
    quiet: int = 8  # window of the zero-row test (cell + ring 1 counts)
    event_half_lives: tuple[int, ...] = (1, 3, 7)  # days, of the event-time decays
    days_cap: int = 365  # days since the last event, capped here


PLANS: dict[str, FreqPlan] = {
    "W": FreqPlan(
        sums=(1, 2, 4, 8),
        means=(13, 26, 52),
        half_lives=(1, 4, 13),
        since_cap=52,
        ring1=((1, 4), (13, 52)),
        outer=((4,), (52,)),
        short=4,
        long=52,
        near_repeat="near_repeat_k1_last_7d",
    ),
    "M": FreqPlan(
        sums=(1, 2, 3),
        means=(6, 12),
        half_lives=(1, 3, 12),
        since_cap=24,
        ring1=((1, 3), (12,)),
        outer=((3,), (12,)),
        short=3,
        long=12,
        near_repeat="near_repeat_k1_last_month",
        event_half_lives=(3, 14),
    ),
    "D": FreqPlan(
        sums=(1, 7),
        means=(28, 91),
        half_lives=(3, 14, 56),
        since_cap=91,
        ring1=((1, 7), (28, 91)),
        outer=((7,), (91,)),
        short=7,
        long=91,
        near_repeat="near_repeat_k1_last_1d",
    ),
}
"""Window plans by panel frequency ("W" weeks, "M" months, "D" days)."""


def plan_for(freq: str) -> FreqPlan:
    """The window plan of ``freq``; ConfigError naming an unknown frequency."""
    if freq not in PLANS:
        raise ConfigError(
            f"no feature plan for period frequency {freq!r}; use one of {list(PLANS)}"
        )
    return PLANS[freq]


def cumulative(series: npt.ArrayLike) -> CountArray:
    """Running totals with a leading zero row: ``out[o] = series[:o].sum(axis=0)``.

    int32 holds any realistic count total and halves the memory of int64.
    """
    arr = np.asarray(series)
    out = np.zeros((arr.shape[0] + 1, *arr.shape[1:]), dtype=np.int32)
    np.cumsum(arr, axis=0, dtype=np.int32, out=out[1:])
    return out


def window_sum(cum: CountArray, origins: IntArray, window: int) -> CountArray:
    """Counts over the ``window`` periods before each origin (fewer where history is short)."""
    return cum[origins] - cum[np.maximum(origins - window, 0)]


def window_mean(cum: CountArray, origins: IntArray, window: int) -> Float32Array:
    """Mean count per period over the last ``window`` periods, or over all that exist."""
    span = np.maximum(np.minimum(origins, window), 1).astype(np.float32)
    shape = (-1,) + (1,) * (cum.ndim - 1)
    return (window_sum(cum, origins, window) / span.reshape(shape)).astype(np.float32)


def decayed(series: npt.ArrayLike, half_life: float) -> Float32Array:
    """Exponentially decayed counts: ``out[o] = sum_{s<o} series[s] * 0.5 ** ((o-1-s)/h)``.

    The last history period weighs 1, one ``half_life`` earlier 0.5. One vectorised step per
    period (not per cell).
    """
    arr = np.asarray(series, dtype=np.float32)
    factor = np.float32(0.5 ** (1.0 / half_life))
    out = np.zeros((arr.shape[0] + 1, *arr.shape[1:]), dtype=np.float32)
    for t in range(arr.shape[0]):
        np.multiply(out[t], factor, out=out[t + 1])
        out[t + 1] += arr[t]
    return out


def periods_since_last(series: npt.ArrayLike, cap: int) -> CountArray:
    """``out[o]``: periods from the last event before ``o`` to ``o`` (1 = in period o-1).

    Capped at ``cap``, which also stands for "no event in the history".
    """
    arr = np.asarray(series)
    steps = np.arange(arr.shape[0], dtype=np.int32).reshape((-1,) + (1,) * (arr.ndim - 1))
    last = np.maximum.accumulate(np.where(arr > 0, steps, np.int32(-1)), axis=0)
    last = np.concatenate([np.full((1, *arr.shape[1:]), -1, np.int32), last])
    origin = np.arange(arr.shape[0] + 1, dtype=np.int32).reshape((-1,) + steps.shape[1:])
    return np.where(last < 0, cap, np.minimum(origin - last, cap)).astype(np.int32)


def event_decay(
    time_ns: npt.ArrayLike, cell: npt.ArrayLike, bounds_ns: IntArray, n_cells: int, half_life: float
) -> Float32Array:
    """``out[o, i]``: events in cell ``i`` before ``bounds_ns[o]``, each weighing
    ``0.5 ** (age / half_life)`` with its age in days at ``bounds_ns[o]``.

    ``bounds_ns`` are the period starts of origins 0..n (increasing); events outside
    ``[bounds_ns[0], bounds_ns[-1])`` are ignored. The weights are summed per period and
    carried forward one vectorised step per period (not per event or cell).
    """
    t = np.asarray(time_ns, dtype=np.int64)
    rate = np.log(2.0) / (half_life * 86_400e9)
    period = np.searchsorted(bounds_ns, t, side="right") - 1
    ok = (period >= 0) & (period < bounds_ns.size - 1)
    per, pos, t = period[ok], np.asarray(cell, dtype=np.int64)[ok], t[ok]
    n = bounds_ns.size - 1
    weight = np.exp(-rate * (bounds_ns[per + 1] - t).astype(np.float64))
    added = np.bincount(per * n_cells + pos, weight, minlength=n * n_cells).reshape(n, n_cells)
    keep = np.exp(-rate * np.diff(bounds_ns).astype(np.float64))
    out = np.zeros((n + 1, n_cells), dtype=np.float32)
    for o in range(n):
        np.multiply(out[o], np.float32(keep[o]), out=out[o + 1])
        out[o + 1] += added[o].astype(np.float32)
    return out


def days_since_event(
    time_ns: npt.ArrayLike, cell: npt.ArrayLike, bounds_ns: IntArray, n_cells: int, cap: int
) -> Float32Array:
    """``out[o, i]``: days from the last event in cell ``i`` before ``bounds_ns[o]`` to it,
    capped at ``cap`` (which also stands for "none")."""
    t = np.asarray(time_ns, dtype=np.int64)
    period = np.searchsorted(bounds_ns, t, side="right") - 1
    ok = (period >= 0) & (period < bounds_ns.size - 1)
    n = bounds_ns.size - 1
    last = np.full((n + 1, n_cells), np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, (period[ok] + 1, np.asarray(cell, dtype=np.int64)[ok]), t[ok])
    np.maximum.accumulate(last, axis=0, out=last)
    seen = last > np.iinfo(np.int64).min
    age = (bounds_ns[:, None] - np.where(seen, last, 0)) / 86_400e9
    return np.where(seen, np.minimum(age, cap), cap).astype(np.float32)


@dataclass(frozen=True)
class Neighbours:
    """Sparse sums over the neighbour rings and the parent cell of a fixed set of cells.

    ``ring1[i, j] = 1`` when study cell ``j`` is one step from cell ``i``; ``ring2`` likewise
    for exactly two steps. Cells outside the study area are absent, so they count 0;
    ``n_ring1`` / ``n_ring2`` say how many in-study neighbours each cell has. ``parent``
    numbers each cell's parent (``parent_resolution``) among the study parents.
    """

    ring1: sparse.csr_matrix
    ring2: sparse.csr_matrix
    parent: IntArray
    n_parents: int
    parent_resolution: int

    @property
    def n_ring1(self) -> CountArray:
        """In-study ring-1 neighbours of each cell (6 inside, fewer at the edge)."""
        return np.diff(self.ring1.indptr).astype(np.int32)

    @property
    def n_ring2(self) -> CountArray:
        """In-study ring-2 neighbours of each cell (12 inside, fewer at the edge)."""
        return np.diff(self.ring2.indptr).astype(np.int32)

    @property
    def parent_size(self) -> CountArray:
        """In-study children of each cell's parent, the cell itself included."""
        return np.bincount(self.parent, minlength=self.n_parents).astype(np.int32)[self.parent]

    def ring_sum(self, series: npt.ArrayLike, ring: int) -> CountArray:
        """Per period, the counts summed over ring ``ring`` (1 or 2) of each cell."""
        matrix = self.ring1 if ring == 1 else self.ring2
        arr = np.asarray(series, dtype=np.int32)
        return np.ascontiguousarray((matrix @ arr.T).T, dtype=np.int32)

    def ring1_float(self, series: npt.ArrayLike) -> Float32Array:
        """``ring_sum(series, 1)`` for real-valued series (e.g. decayed counts)."""
        arr = np.asarray(series, dtype=np.float32)
        return np.ascontiguousarray((self.ring1.astype(np.float32) @ arr.T).T)

    def parent_sum(self, series: npt.ArrayLike) -> CountArray:
        """Per period, the counts summed over each cell's parent (all in-study children)."""
        arr = np.asarray(series, dtype=np.int32)
        n = self.parent.size
        ones = np.ones(n, dtype=np.int32)
        groups = sparse.csr_matrix((ones, (self.parent, np.arange(n))), (self.n_parents, n))
        totals = np.asarray(groups @ arr.T, dtype=np.int32)  # (n_parents, n_periods)
        return np.ascontiguousarray(totals[self.parent].T)


def neighbours_of(cells: npt.ArrayLike, resolution: int, parent_levels: int = 2) -> Neighbours:
    """Ring and parent structure of sorted unique ``cells`` (vectorised via grid_disk)."""
    arr = np.asarray(cells, dtype=np.uint64)
    n = arr.size
    rows2, nbrs2 = grid_disk_table(arr, 2)
    rows1, nbrs1 = grid_disk_table(arr, 1)
    ring1_keys = _pair_keys(arr, rows1, nbrs1, drop_self=True)
    ring2_keys = np.setdiff1d(_pair_keys(arr, rows2, nbrs2, drop_self=True), ring1_keys)
    parents = cells_to_parents(arr, max(resolution - parent_levels, 0))
    uniq, inverse = np.unique(parents, return_inverse=True)
    return Neighbours(
        _pairs_matrix(ring1_keys, n),
        _pairs_matrix(ring2_keys, n),
        inverse.astype(np.int64),
        int(uniq.size),
        max(resolution - parent_levels, 0),
    )


def _pair_keys(
    cells: npt.NDArray[np.uint64], rows: IntArray, nbrs: npt.NDArray[np.uint64], drop_self: bool
) -> IntArray:
    """Unique ``i * n + j`` keys of (cell i, in-study neighbour j) pairs."""
    n = cells.size
    if n == 0:
        return np.empty(0, dtype=np.int64)
    pos = np.minimum(np.searchsorted(cells, nbrs), n - 1)
    inside = cells[pos] == nbrs
    if drop_self:
        inside &= pos != rows
    return np.unique(rows[inside] * n + pos[inside])


def _pairs_matrix(keys: IntArray, n: int) -> sparse.csr_matrix:
    rows, cols = np.divmod(keys, max(n, 1))
    data = np.ones(keys.size, dtype=np.int32)
    return sparse.csr_matrix((data, (rows, cols)), shape=(n, n), dtype=np.int32)


class SeriesCache:
    """Running totals of the target, its rings and parent, and each category's counts.

    Each is computed on first use and kept for one matrix build. ``source`` names a series:
    ``target``, ``ring1``, ``ring2``, ``parent``, ``all`` or ``cat{c}`` (category ``c``).
    """

    def __init__(
        self,
        neighbours: Neighbours,
        counts: npt.NDArray[Any],
        target: Any,
        events: tuple[IntArray, IntArray, IntArray] | None = None,
    ) -> None:
        self.neighbours, self.counts, self.target = neighbours, counts, target
        self.events = events  # target events' (time_ns, cell) and the origins' period starts
        self._cache: dict[Any, npt.NDArray[Any]] = {}

    def _get(self, key: Any, make: Callable[[], npt.NDArray[Any]]) -> npt.NDArray[Any]:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def series(self, source: str) -> npt.NDArray[Any]:
        nb = self.neighbours
        if source == "target":
            return np.asarray(self.target)
        if source == "ring1":
            return self._get("s_ring1", lambda: nb.ring_sum(self.target, 1))
        if source == "ring2":
            return self._get("s_ring2", lambda: nb.ring_sum(self.target, 2))
        if source == "parent":
            return self._get("s_parent", lambda: nb.parent_sum(self.target))
        if source == "all":
            return self.counts.sum(axis=0, dtype=np.int32)
        return np.asarray(self.counts[int(source.removeprefix("cat"))])

    def cum(self, source: str) -> npt.NDArray[np.int32]:
        return self._get(("cum", source), lambda: cumulative(self.series(source)))

    def decay(self, half_life: int) -> npt.NDArray[np.float32]:
        return self._get(("decay", half_life), lambda: decayed(self.target, half_life))

    def since(self, cap: int) -> npt.NDArray[np.int32]:
        return self._get("since", lambda: periods_since_last(self.target, cap))

    def _event_args(self) -> tuple[IntArray, IntArray, IntArray, int]:
        if self.events is None:
            raise ConfigError("event-time features need the target events (none were given)")
        return (*self.events, self.neighbours.ring1.shape[0])

    def event_decay(self, half_life: float, ring1: bool = False) -> Float32Array:
        """Event-time decayed counts of the cell (or its ring 1) at each origin."""
        own = self._get(("ev", half_life), lambda: event_decay(*self._event_args(), half_life))
        if not ring1:
            return own
        return self._get(("ev_r1", half_life), lambda: self.neighbours.ring1_float(own))

    def days_since(self, cap: int) -> Float32Array:
        """Days from the cell's last target event to each origin, capped."""
        return self._get("ev_since", lambda: days_since_event(*self._event_args(), cap))
