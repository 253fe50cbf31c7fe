"""Baseline forecasters: the standard methods a hotspot model has to beat.

Each forecasts the same expected count for every lead (a flat forecast) from the periods just
before the origin, so ``fit`` only records the cells (``Forecaster.fit`` checks the
parameters against the ranges their signatures declare):

- ``LastPeriod``: the count in the last period.
- ``HistoricalMean`` / ``RollingMean``: the mean per period over all or the last few periods.
- ``ProspectiveHotspot``: Bowers, Johnson & Pease (2004) prospective hotspotting.
- ``KernelDensity``: a Gaussian kernel density over the cell centroids.

The two smoothers are scaled so their surface sums to the mean total count per period over
their window, which makes them expected counts comparable with the other forecasters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from pydantic import Field
from scipy import sparse
from scipy.spatial import cKDTree

from hotspots.forecasters.base import FloatArray, Forecaster, History, Origin
from hotspots.forecasters.params import Periods, Positive
from hotspots.grid import cells_to_latlng, grid_disk_table

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), for projecting cell centroids to local kilometres."""

KERNEL_CUTOFF = 3.0
"""The Gaussian kernel is cut off beyond this many bandwidths."""

CellArray = npt.NDArray[np.uint64]


# -- shared pieces -------------------------------------------------------------------------
def _recent(target: npt.NDArray[np.int32], window: int | None) -> FloatArray:
    """The last ``window`` periods of ``target`` (all of them if fewer or ``None``)."""
    rows = target if window is None else target[-int(window) :]
    return rows.astype(np.float64)


def _scaled(surface: FloatArray, total: float) -> FloatArray:
    """``surface`` rescaled to sum to ``total``; all zeros when it has no mass."""
    mass = float(surface.sum())
    return surface * (total / mass) if mass > 0 else np.zeros_like(surface)


class _Baseline(Forecaster):
    """A flat forecast of one per-cell surface; parameters are checked at ``fit``.

    Keeps the base ``name``, so it is not registered as a kind of its own.
    """

    _weights_cache: tuple[tuple[Any, ...], CellArray, sparse.csr_matrix] | None = None

    def _surface(self, history: History) -> FloatArray:
        """Expected count per cell for any period after the history, shape ``(n_cells,)``."""
        raise NotImplementedError

    def _predict(self, history: History, origin: Origin) -> FloatArray:
        return np.tile(self._surface(history), (len(origin.targets), 1))

    def _weights(
        self, key: tuple[Any, ...], cells: CellArray, build: Callable[[], sparse.csr_matrix]
    ) -> sparse.csr_matrix:
        """A cell x cell weight matrix, built once per cells and parameters (never saved)."""
        cached = self._weights_cache
        if cached is None or cached[0] != key or not np.array_equal(cached[1], cells):
            self._weights_cache = cached = (key, cells, build())
        return cached[2]


# -- the simple baselines ------------------------------------------------------------------
class LastPeriod(_Baseline):
    """The target count in each cell in the last whole period before the origin."""

    name = "last_period"
    method = "{target} in this cell in the last {unit} (last period)"

    def __init__(self, *, target: tuple[str, ...] | None = None) -> None:
        self.target = target

    def _surface(self, history: History) -> FloatArray:
        return history.target[-1].astype(np.float64)


class HistoricalMean(_Baseline):
    """The mean target count per period in each cell, over all history or the last ``window``.

    Parameters
    ----------
    window
        Periods to average; ``None`` means every history period.
    """

    name = "historical_mean"
    method = "average of {target} over {window} (historical mean)"

    def __init__(
        self, *, target: tuple[str, ...] | None = None, window: Periods | None = None
    ) -> None:
        self.target = target
        self.window = window

    def _surface(self, history: History) -> FloatArray:
        return _recent(history.target, self.window).mean(axis=0)


class RollingMean(_Baseline):
    """The mean target count per period in each cell over the last ``window`` periods.

    Uses every history period when there are fewer than ``window``.
    """

    name = "rolling_mean"
    method = "average of {target} over {window} (rolling mean)"

    def __init__(self, *, target: tuple[str, ...] | None = None, window: Periods = 4) -> None:
        self.target = target
        self.window = window

    def _surface(self, history: History) -> FloatArray:
        return _recent(history.target, self.window).mean(axis=0)


# -- prospective hotspotting ---------------------------------------------------------------
def _positions(cells: CellArray, wanted: CellArray) -> tuple[npt.NDArray[np.int64], Any]:
    """Positions of ``wanted`` in sorted ``cells`` and a mask of those found."""
    pos = np.searchsorted(cells, wanted)
    pos_c = np.minimum(pos, cells.size - 1).astype(np.int64)
    return pos_c, cells[pos_c] == wanted


def ring_weight_matrix(cells: CellArray, rings: int) -> sparse.csr_matrix:
    """``W[i, j] = 1 / (1 + d)`` for study cells at grid distance ``d <= rings``, else 0.

    ``cells`` must be sorted and unique. Neighbours outside ``cells`` are left out.
    """
    n = cells.size
    if n == 0:
        return sparse.csr_matrix((0, 0))
    keys = []
    for radius in range(rings + 1):  # a few rings, never a loop per cell
        rows, nbrs = grid_disk_table(cells, radius)
        cols, inside = _positions(cells, nbrs)
        keys.append(np.unique(rows[inside] * n + cols[inside]))
    # a pair at distance d lies in the disks of radius d..rings: rings - d + 1 of them
    pairs, seen = np.unique(np.concatenate(keys), return_counts=True)
    distance = rings + 1 - seen
    rows, cols = np.divmod(pairs, n)
    return sparse.csr_matrix((1.0 / (1.0 + distance), (rows, cols)), shape=(n, n))


class ProspectiveHotspot(_Baseline):
    """Prospective hotspotting (Bowers, Johnson & Pease 2004), on H3 rings.

    Every event in the last ``window`` periods adds ``w_time * w_space`` to each cell within
    ``rings`` grid steps of its own: ``w_time = 0.5 ** (age / half_life)`` with age 0 for
    the last history period, and ``w_space = 1 / (1 + ring distance)``. The risk surface is
    scaled to the mean total count per period over the window.

    Parameters
    ----------
    rings
        Grid-disk radius an event spreads to (2 rings reach about 0.6 km at resolution 9,
        1.6 km at resolution 8).
    half_life
        Periods over which an event's weight halves.
    window
        Periods looked back over.
    """

    name = "prospective"
    method = "recent {target} in and around this cell (prospective hotspotting)"

    def __init__(
        self,
        *,
        target: tuple[str, ...] | None = None,
        rings: Annotated[int, Field(ge=0, le=20)] = 2,
        half_life: Positive = 1.0,
        window: Periods = 8,
    ) -> None:
        self.target = target
        self.rings = rings
        self.half_life = half_life
        self.window = window

    def _surface(self, history: History) -> FloatArray:
        recent = _recent(history.target, self.window)
        ages = np.arange(recent.shape[0] - 1, -1, -1, dtype=np.float64)
        per_cell = (0.5 ** (ages / float(self.half_life))) @ recent
        rings = int(self.rings)
        weights = self._weights(
            ("rings", rings), history.cells, lambda: ring_weight_matrix(history.cells, rings)
        )
        risk = np.asarray(weights.T @ per_cell, dtype=np.float64)
        return _scaled(risk, float(recent.sum()) / recent.shape[0])


# -- kernel density ------------------------------------------------------------------------
def _local_km(cells: CellArray) -> FloatArray:
    """Cell centroids as ``(x, y)`` km, equirectangular about their mean latitude."""
    lat, lng = cells_to_latlng(cells)
    dlng = (lng - lng[0] + 180.0) % 360.0 - 180.0  # safe across the antimeridian
    cos_lat = math.cos(math.radians(float(lat.mean())))
    return EARTH_RADIUS_KM * np.column_stack([np.radians(dlng) * cos_lat, np.radians(lat)])


def kernel_weight_matrix(cells: CellArray, bandwidth_km: float) -> sparse.csr_matrix:
    """``W[i, j] = exp(-d**2 / (2 h**2))`` for centroids ``d <= 3 h`` km apart, else 0."""
    n = cells.size
    if n == 0:
        return sparse.csr_matrix((0, 0))
    xy = _local_km(cells)
    pairs = cKDTree(xy).query_pairs(KERNEL_CUTOFF * bandwidth_km, output_type="ndarray")
    dist = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
    values = np.exp(-0.5 * (dist / bandwidth_km) ** 2)
    own = np.arange(n)
    rows = np.concatenate([pairs[:, 0], pairs[:, 1], own])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0], own])
    data = np.concatenate([values, values, np.ones(n)])
    return sparse.csr_matrix((data, (rows, cols)), shape=(n, n))


class KernelDensity(_Baseline):
    """A Gaussian kernel density of the last ``window`` periods' counts, per cell.

    This is a density over cell centroids: events are binned to cells first and each cell's
    count sits at its centroid, which at resolutions 8-9 moves an event by less than a cell
    from where point KDE would put it. Centroids are projected to local km (equirectangular
    about their mean latitude); the kernel is cut off at 3 bandwidths. The surface is scaled
    to the mean total count per period over the window.

    Parameters
    ----------
    bandwidth_km
        The kernel's standard deviation in km.
    window
        Periods of counts the density is built from.
    """

    name = "kde"
    method = "density of recent {target} around this cell (kernel density)"

    def __init__(
        self,
        *,
        target: tuple[str, ...] | None = None,
        bandwidth_km: Positive = 0.4,
        window: Periods = 12,
    ) -> None:
        self.target = target
        self.bandwidth_km = bandwidth_km
        self.window = window

    def _surface(self, history: History) -> FloatArray:
        recent = _recent(history.target, self.window)
        bandwidth = float(self.bandwidth_km)
        weights = self._weights(
            ("bandwidth_km", bandwidth),
            history.cells,
            lambda: kernel_weight_matrix(history.cells, bandwidth),
        )
        density = np.asarray(weights.T @ recent.sum(axis=0), dtype=np.float64)
        return _scaled(density, float(recent.sum()) / recent.shape[0])
