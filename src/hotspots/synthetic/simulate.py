"""The true intensity: places, rhythms and the day-by-day self-exciting simulation."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from hotspots.grid import StudyArea, cells_to_latlng, grid_disk_table
from hotspots.grid.cells import FloatArray
from hotspots.synthetic.profiles import (
    BURN_IN_DAYS,
    CENTER,
    DECAY,
    DRIFT_DAYS,
    KM_PER_DEGREE,
    PLACE_SHARED,
    PLACE_SMOOTH,
    PROFILES,
    SELF_SHARE,
)

IntArray = npt.NDArray[np.int64]


def _normalise(w: FloatArray) -> FloatArray:
    return w / w.sum(axis=-1, keepdims=True)


def _bumps(rng: np.random.Generator, y: FloatArray, x: FloatArray, n: int, spread: float,
           sigma: tuple[float, float]) -> FloatArray:  # fmt: skip
    """``n`` Gaussian dense areas at random places, each normalised over the cells."""
    cy, cx = rng.uniform(-spread, spread, (2, n, 1))
    s = rng.uniform(*sigma, (n, 1))
    return _normalise(np.exp(-0.5 * ((y - cy) ** 2 + (x - cx) ** 2) / s**2))


def _corridors(rng: np.random.Generator, y: FloatArray, x: FloatArray, n: int) -> FloatArray:
    """``n`` straight roads across the city with a Gaussian cross-section 250 m wide."""
    theta = rng.uniform(0, np.pi, (n, 1))
    py, px = rng.uniform(-5, 5, (2, n, 1))
    dist = np.abs((x - px) * np.sin(theta) - (y - py) * np.cos(theta))
    return _normalise(np.exp(-0.5 * (dist / 0.25) ** 2))


def spatial_weights(
    rng: np.random.Generator, area: StudyArea, center: tuple[float, float] = CENTER
) -> FloatArray:
    """Share of each category's events per cell, shape (n_categories, n_cells).

    A smooth surface per category (base, downtown, dense areas, corridors, own spots, mixed
    by the profile's ``mix``) times each cell's own attractiveness, a log-normal factor with
    the profile's ``place_sd``: crime concentrates at a few places among many similar ones.
    """
    lat, lng = cells_to_latlng(area.cells)
    y = (lat - center[0]) * KM_PER_DEGREE  # km north and east of the centre (lat, lng)
    x = (lng - center[1]) * KM_PER_DEGREE * np.cos(np.radians(center[0]))
    base = np.full(y.size, 1.0 / y.size)
    downtown = _normalise(np.exp(-0.5 * (y**2 + x**2) / 2.0**2))
    areas = _bumps(rng, y, x, 8, 8.0, (0.8, 2.0))
    roads = _corridors(rng, y, x, 4)
    out = np.empty((len(PROFILES), y.size))
    for i, p in enumerate(PROFILES):  # per category, each part vectorised over cells
        spots = _bumps(rng, y, x, 4, 9.0, (0.3, 0.6))
        parts = (
            base,
            downtown,
            *(rng.dirichlet(np.full(len(m), 2.0)) @ m for m in (areas, roads, spots)),
        )
        out[i] = np.asarray(p.mix) @ np.stack(parts)
    return _normalise(out * _place_factors(rng, area))


def _place_factors(rng: np.random.Generator, area: StudyArea) -> FloatArray:
    """Each cell's log-normal attractiveness per category, shape (n_categories, n_cells).

    Part of it is shared by every category (places that draw crime of any kind) and it is
    smoothed a little over ring 1, so hot places come in small clusters as on real maps.
    """
    src, nbr = grid_disk_table(area.cells, 1)
    dst = area.index_of(nbr)
    ring = (dst >= 0) & (dst != src)
    mean_of_ring = sparse.csr_matrix(
        (np.ones(int(ring.sum())), (src[ring], dst[ring])), shape=(len(area), len(area))
    )
    mean_of_ring = sparse.diags(1 / np.maximum(mean_of_ring.sum(axis=1).A1, 1)) @ mean_of_ring
    shared = rng.standard_normal(len(area))
    own = rng.standard_normal((len(PROFILES), len(area)))
    z = np.sqrt(PLACE_SHARED) * shared + np.sqrt(1 - PLACE_SHARED) * own
    z = z + PLACE_SMOOTH * (mean_of_ring @ z.T).T
    z = (z - z.mean(axis=1, keepdims=True)) / z.std(axis=1, keepdims=True)
    sd = np.array([[p.place_sd] for p in PROFILES])
    return np.exp(sd * z)


def daily_drive(first_day: pd.Timestamp, days: int) -> FloatArray:
    """Seasonal x weekday multiplier per category and day, burn-in days first."""
    dates = pd.date_range(first_day - pd.Timedelta(days=BURN_IN_DAYS), periods=BURN_IN_DAYS + days)
    doy = dates.day_of_year.to_numpy()[None, :]
    amp = np.array([[p.amplitude] for p in PROFILES])
    peak = np.array([[p.peak_day] for p in PROFILES])
    week = np.array([p.weekday for p in PROFILES])
    week = week / week.mean(axis=1, keepdims=True)
    return (1 + amp * np.cos(2 * np.pi * (doy - peak) / 365.25)) * week[:, dates.day_of_week]


def base_rates(weights: FloatArray, drive: FloatArray, target_events: int) -> FloatArray:
    """Background rate per category and cell so the run expects ``target_events`` in total.

    A stationary self-exciting process with branching ratio alpha has 1 / (1 - alpha) events
    per background event, hence the (1 - alpha) factor.
    """
    share = np.array([p.share for p in PROFILES]) / sum(p.share for p in PROFILES)
    alpha = np.array([p.alpha for p in PROFILES])
    per_cat = target_events * share * (1 - alpha) / drive.sum(axis=1)
    return per_cat[:, None] * weights


def spread_kernel(area: StudyArea) -> sparse.csr_matrix:
    """Sparse (n_cells, n_cells) spread of one event: column j sums to 1 over j and ring 1."""
    src, nbr = grid_disk_table(area.cells, 1)
    dst = area.index_of(nbr)
    src, dst = src[dst >= 0], dst[dst >= 0]
    n_nbrs = np.bincount(src, minlength=len(area))[src] - 1
    own = src == dst
    w = np.where(
        own, np.where(n_nbrs > 0, SELF_SHARE, 1.0), (1 - SELF_SHARE) / np.maximum(n_nbrs, 1)
    )
    return sparse.csr_matrix((w, (dst, src)), shape=(len(area), len(area)))


def simulate_days(
    rng: np.random.Generator,
    mu: FloatArray,
    drive: FloatArray,
    kernel: sparse.csr_matrix,
    period_of_day: IntArray | None = None,
) -> tuple[npt.NDArray[np.floating], list[tuple[IntArray, IntArray]]]:
    """Run the days; return the daily intensity and per day (flat category*cell index, count).

    The background ``mu`` drifts: each cell's rate is multiplied by a slowly changing
    log-normal factor (see ``Drift``), so places heat up and cool down over months.
    With ``period_of_day`` (each simulated day's period, 0, 0, .., 1, ..) the intensity is
    summed per period as the days run, in float64 over the daily float32 values in day
    order (what ``City.truth_array`` gives from the daily truth, bit for bit), so a large
    city never holds its daily truth.
    """
    n_cat, n_cells = mu.shape
    days = drive.shape[1] - BURN_IN_DAYS
    if period_of_day is None:
        truth: npt.NDArray[np.floating] = np.empty((n_cat, days, n_cells), dtype=np.float32)
    else:
        truth = np.zeros((n_cat, int(period_of_day[-1]) + 1, n_cells))
    gain = np.array([[p.alpha * (1 - DECAY)] for p in PROFILES])
    excitation = np.zeros((n_cat, n_cells))
    drift = Drift(rng, n_cat, n_cells)
    hits: list[tuple[IntArray, IntArray]] = []
    for d in range(drive.shape[1]):  # a loop over days; every step is vectorised over cells
        lam = mu * drift.step() * drive[:, d : d + 1] + excitation
        counts = rng.poisson(lam)
        excitation = DECAY * excitation + gain * (kernel @ counts.T.astype(np.float64)).T
        if d < BURN_IN_DAYS:
            continue
        if period_of_day is None:
            truth[:, d - BURN_IN_DAYS] = lam
        else:
            truth[:, period_of_day[d - BURN_IN_DAYS]] += lam.astype(np.float32)
        flat = np.flatnonzero(counts)
        hits.append((flat, counts.ravel()[flat]))
    return truth, hits


class Drift:
    """Each cell's slowly changing rate multiplier per category, mean 1.

    ``exp(sd * u - sd**2 / 2)`` with ``u`` a stationary AR(1) (standard normal, correlation
    time ``DRIFT_DAYS``), part shared by every category as in ``_place_factors``; ``sd`` is
    the profile's ``drift``.
    """

    def __init__(self, rng: np.random.Generator, n_cat: int, n_cells: int) -> None:
        self.rng = rng
        self.keep = np.exp(-1 / DRIFT_DAYS)
        self.shared = rng.standard_normal(n_cells)
        self.own = rng.standard_normal((n_cat, n_cells))
        self.sd = np.array([[p.drift] for p in PROFILES])

    def step(self) -> FloatArray:
        """Advance one day; the multiplier for that day, shape (n_categories, n_cells)."""
        fresh = np.sqrt(1 - self.keep**2)
        self.shared = self.keep * self.shared + fresh * self.rng.standard_normal(self.shared.shape)
        self.own = self.keep * self.own + fresh * self.rng.standard_normal(self.own.shape)
        u = np.sqrt(PLACE_SHARED) * self.shared + np.sqrt(1 - PLACE_SHARED) * self.own
        return np.exp(self.sd * u - self.sd**2 / 2)


def expand_hits(hits: list[tuple[IntArray, IntArray]], n_cells: int) -> tuple[IntArray, ...]:
    """One row per event: (category, cell position, day)."""
    flat = np.concatenate([h[0] for h in hits])
    counts = np.concatenate([h[1] for h in hits])
    day = np.repeat(np.arange(len(hits)), [h[0].size for h in hits])
    cat, cell = np.divmod(np.repeat(flat, counts), n_cells)
    return cat, cell, np.repeat(day, counts)
