"""Hotspot metrics: hit rate, PAI, PEI, Poisson deviance, calibration and bootstrap intervals.

Definitions (one forecast period, ``n`` study cells, ``y_i`` actual and ``mu_i`` expected
counts of the target in cell ``i``):

* **Ranking.** Cells are ranked by expected count, highest first; equal expected counts are
  ordered by H3 cell id (uint64), lowest first, so a ranking never depends on input order.
* **Cutoff.** Either an *area coverage* ``c`` in (0, 1]: the top ``k = max(1, round(c * n))``
  cells are flagged, with halves rounded up (``round(3.5) = 4``, unlike Python's ``round``);
  H3 cells of one resolution have near-equal area, so the share of cells is the share of the
  study area. Or a *cell budget* ``k``: the top ``k`` cells, ``1 <= k <= n``.
* **Hit rate** = events in the ``k`` flagged cells / all events in the period.
* **PAI** (predictive accuracy index) = hit rate / (``k / n``): how many times better than
  flagging cells at random (PAI 1).
* **PEI** (predictive efficiency index) = events in the flagged cells / the most events any
  ``k`` cells caught (the sum of the ``k`` largest ``y_i``); 1 is a perfect ranking.
* A period with no events gives NaN hit rate, PAI and PEI; means over periods leave such
  periods out and count them (``n_excluded``).
* **Poisson deviance** = mean over cells of ``2 * (y * log(y / mu) - (y - mu))``, with
  ``y * log(y / mu) = 0`` where ``y = 0`` and ``mu`` floored at ``1e-9``. 0 when ``mu = y``.
* **Calibration**: the cell-periods of all folds pooled, sorted by expected count (ties in
  fold then cell order) and cut into 10 equal-count bins; per bin the mean expected and the
  mean actual count, plus the expected and actual totals.
* **Intervals**: 95% percentile bootstrap of the mean over folds, 2,000 resamples of the
  folds with a fixed seed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError, DataValidationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MU_FLOOR = 1e-9
"""Expected counts below this are raised to it in the deviance (``log(y / 0)`` is infinite)."""

_BUDGET_LABEL = re.compile(r"k=(\d+)")
_COVERAGE_LABEL = re.compile(r"(\d+(?:\.\d+)?)%")


@dataclass(frozen=True)
class Cutoff:
    """How many top cells are flagged: a share of the study area or a fixed cell budget.

    Build with ``Cutoff.coverage(0.01)`` (label ``"1%"``), ``Cutoff.budget(50)`` (label
    ``"k=50"``) or ``Cutoff.parse(label)``.
    """

    kind: str  # "coverage" or "budget"
    value: float

    @classmethod
    def coverage(cls, share: float) -> Cutoff:
        """Flag ``max(1, round(share * n_cells))`` cells; ``share`` in (0, 1]."""
        share = float(share)
        if not 0.0 < share <= 1.0:
            raise ConfigError(f"coverage must be a share of the area in (0, 1], got {share!r}")
        return cls("coverage", share)

    @classmethod
    def budget(cls, k: int) -> Cutoff:
        """Flag the top ``k`` cells; ``k >= 1``."""
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"a cell budget must be a whole number >= 1, got {k!r}")
        return cls("budget", int(k))

    @classmethod
    def parse(cls, label: str) -> Cutoff:
        """The cutoff a label names: ``"5%"`` or ``"k=50"``."""
        if m := _BUDGET_LABEL.fullmatch(label.strip()):
            return cls.budget(int(m.group(1)))
        if m := _COVERAGE_LABEL.fullmatch(label.strip()):
            return cls.coverage(float(m.group(1)) / 100.0)
        raise ConfigError(f"cutoff {label!r} is neither a coverage like '5%' nor a budget 'k=50'")

    @property
    def label(self) -> str:
        """``"1%"``, ``"0.5%"`` or ``"k=50"``."""
        if self.kind == "budget":
            return f"k={int(self.value)}"
        return f"{self.value * 100:g}%"

    def k(self, n_cells: int) -> int:
        """Number of flagged cells among ``n_cells`` (ConfigError if the budget exceeds it)."""
        if self.kind == "coverage":
            return flagged_count(n_cells, self.value)
        if self.value > n_cells:
            raise ConfigError(f"cell budget {self.label} exceeds the {n_cells} study cells")
        return int(self.value)


def flagged_count(n_cells: int, coverage: float) -> int:
    """``max(1, round(coverage * n_cells))`` with halves rounded up, at most ``n_cells``."""
    if n_cells < 1:
        raise DataValidationError(f"cannot flag cells of an empty study area ({n_cells} cells)")
    # the tiny epsilon keeps 0.145 * 100 = 14.499999999999998 from rounding down
    k = int(np.floor(coverage * n_cells + 0.5 + 1e-9))
    return min(max(1, k), n_cells)


def rank_cells(expected: npt.ArrayLike, cells: npt.ArrayLike) -> IntArray:
    """Positions of the cells from highest to lowest expected count; ties by cell id ascending."""
    mu = np.asarray(expected, dtype=np.float64)
    ids = np.asarray(cells, dtype=np.uint64)
    if mu.shape != ids.shape or mu.ndim != 1:
        raise DataValidationError(
            f"expected counts {mu.shape} and cells {ids.shape} must be 1-d and the same length"
        )
    if n_bad := int((~np.isfinite(mu)).sum()):
        raise DataValidationError(f"{n_bad} expected counts are NaN or infinite")
    return np.lexsort((ids, -mu)).astype(np.int64)  # last key sorts first


@dataclass(frozen=True)
class CutoffScores:
    """Scores of one period at several cutoffs (arrays aligned to the ``ks`` asked for)."""

    n_events: int
    flagged: IntArray
    hits: IntArray
    hit_rate: FloatArray
    pai: FloatArray
    pei: FloatArray


def score_ranking(
    expected: npt.ArrayLike, actual: npt.ArrayLike, cells: npt.ArrayLike, ks: Sequence[int]
) -> CutoffScores:
    """Hit rate, PAI and PEI of one period for every flagged-cell count in ``ks`` at once.

    One ranking (``rank_cells``) and one sort of the actual counts serve every cutoff.
    """
    order = rank_cells(expected, cells)
    y = np.asarray(actual, dtype=np.int64)
    if y.shape != order.shape:
        raise DataValidationError(f"actual counts {y.shape} and cells {order.shape} differ")
    if (y < 0).any():
        raise DataValidationError(f"{int((y < 0).sum())} actual counts are negative")
    n = y.size
    k = np.asarray(ks, dtype=np.int64)
    if k.size and (k.min() < 1 or k.max() > n):
        raise ConfigError(f"flagged cell counts must be in 1..{n}, got {k.tolist()}")
    caught = np.cumsum(y[order])[k - 1] if k.size else np.zeros(0, np.int64)
    best = np.cumsum(np.sort(y)[::-1])[k - 1] if k.size else np.zeros(0, np.int64)
    total = int(y.sum())
    if total == 0:
        nan = np.full(k.size, np.nan)
        return CutoffScores(0, k, caught, nan, nan.copy(), nan.copy())
    rate = caught / total
    return CutoffScores(total, k, caught, rate, rate / (k / n), caught / best)


def hit_rate(expected: npt.ArrayLike, actual: npt.ArrayLike, cells: npt.ArrayLike, k: int) -> float:
    """Share of the period's events in the top ``k`` cells (NaN when there are none)."""
    return float(score_ranking(expected, actual, cells, [k]).hit_rate[0])


def pai(expected: npt.ArrayLike, actual: npt.ArrayLike, cells: npt.ArrayLike, k: int) -> float:
    """Hit rate of the top ``k`` cells divided by their share ``k / n`` of the cells."""
    return float(score_ranking(expected, actual, cells, [k]).pai[0])


def pei(expected: npt.ArrayLike, actual: npt.ArrayLike, cells: npt.ArrayLike, k: int) -> float:
    """Events in the top ``k`` cells over the most events any ``k`` cells caught."""
    return float(score_ranking(expected, actual, cells, [k]).pei[0])


def poisson_deviance(expected: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """Mean Poisson deviance per cell (see the module docstring); 0 when ``mu == y``."""
    mu = np.maximum(np.asarray(expected, dtype=np.float64), MU_FLOOR)
    y = np.asarray(actual, dtype=np.float64)
    if mu.shape != y.shape or y.size == 0:
        raise DataValidationError(f"expected {mu.shape} and actual {y.shape} counts differ")
    pos = y > 0
    ylog = np.zeros_like(y)
    ylog[pos] = y[pos] * np.log(y[pos] / mu[pos])
    return float(np.mean(2.0 * (ylog - (y - mu))))


@dataclass(frozen=True)
class Calibration:
    """Predicted against observed counts in bins of the predicted value, and in total."""

    table: pd.DataFrame
    total_predicted: float
    total_observed: float


def calibration_table(
    expected: npt.ArrayLike, actual: npt.ArrayLike, n_bins: int = 10
) -> Calibration:
    """Bin cell-periods into ``n_bins`` equal-count bins by predicted value (deciles).

    Values are sorted by prediction, ties kept in input order (stable sort), and value ``j``
    of ``n`` goes to bin ``floor(j * n_bins / n)``; so tied predictions may straddle two bins
    but the binning is deterministic. Columns: ``bin`` (1 = lowest), ``n``,
    ``predicted_min``, ``predicted_max``, ``mean_predicted``, ``mean_observed``. Empty
    bins (fewer values than bins) are left out.
    """
    mu = np.asarray(expected, dtype=np.float64).reshape(-1)
    y = np.asarray(actual, dtype=np.float64).reshape(-1)
    if mu.shape != y.shape:
        raise DataValidationError(f"expected {mu.shape} and actual {y.shape} counts differ")
    if n_bins < 1:
        raise ConfigError(f"calibration needs at least one bin, got n_bins={n_bins}")
    order = np.argsort(mu, kind="stable")
    bins = np.empty(mu.size, dtype=np.int64)
    bins[order] = np.arange(mu.size) * n_bins // max(mu.size, 1)
    n = np.bincount(bins, minlength=n_bins)
    lo = np.full(n_bins, np.inf)
    hi = np.full(n_bins, -np.inf)
    np.minimum.at(lo, bins, mu)
    np.maximum.at(hi, bins, mu)
    keep = n > 0
    table = pd.DataFrame(
        {
            "bin": np.arange(1, n_bins + 1)[keep],
            "n": n[keep],
            "predicted_min": lo[keep],
            "predicted_max": hi[keep],
            "mean_predicted": np.bincount(bins, mu, n_bins)[keep] / n[keep],
            "mean_observed": np.bincount(bins, y, n_bins)[keep] / n[keep],
        }
    )
    return Calibration(table, float(mu.sum()), float(y.sum()))


def bootstrap_ci(
    values: npt.ArrayLike, *, seed: int = 0, n_resamples: int = 2_000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (one value per fold).

    NaN values (periods with no events) are left out first. The folds are resampled with
    replacement ``n_resamples`` times in one draw from ``numpy.random.default_rng(seed)``;
    the interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles of the
    resampled means. ``(nan, nan)`` when no value is left.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    x = x[~np.isnan(x)]
    if not 0.0 < level < 1.0:
        raise ConfigError(f"confidence level must be in (0, 1), got {level!r}")
    if x.size == 0:
        return (float("nan"), float("nan"))
    if np.all(x == x[0]):  # exact, where resampled means would differ from x[0] by an ulp
        return (float(x[0]), float(x[0]))
    draws = np.random.default_rng(seed).integers(0, x.size, size=(n_resamples, x.size))
    means = x[draws].mean(axis=1)
    lo, hi = np.percentile(means, [50.0 * (1.0 - level), 50.0 * (1.0 + level)])
    return (float(lo), float(hi))


def paired_win_share(
    a: npt.ArrayLike, b: npt.ArrayLike, *, seed: int = 0, n_resamples: int = 2_000
) -> float:
    """Share of fold resamples in which ``a``'s mean beats ``b``'s (ties count half).

    ``a`` and ``b`` hold one value per fold, paired; folds where either is NaN are left
    out. The folds are resampled together, so a fold that is hard for both models moves
    both means: the share says how sure a choice between the two can be. NaN when no
    fold is left.
    """
    d = np.asarray(a, dtype=np.float64).reshape(-1) - np.asarray(b, dtype=np.float64).reshape(-1)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return float("nan")
    draws = np.random.default_rng(seed).integers(0, d.size, size=(n_resamples, d.size))
    means = d[draws].mean(axis=1)
    return float((means > 0).mean() + 0.5 * (means == 0).mean())


def mean_ratio_win_share(
    pairs: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]],
    *,
    seed: int = 0,
    n_resamples: int = 2_000,
) -> float:
    """Share of fold resamples in which the mean over ``pairs`` of ``mean(a) / mean(b)`` is
    above 1 (ties count half): how sure a choice weighing several cutoffs can be.

    Each pair holds ``a``'s and ``b``'s value per fold, every pair over the same folds (e.g.
    PAI at 1% and at 5%); folds where any value is NaN are left out, and the folds are
    resampled together. With one pair this is ``paired_win_share``. NaN when no fold is left.
    """
    x = np.stack([np.asarray(a, dtype=np.float64).reshape(-1) for a, _ in pairs])
    y = np.stack([np.asarray(b, dtype=np.float64).reshape(-1) for _, b in pairs])
    ok = ~(np.isnan(x).any(axis=0) | np.isnan(y).any(axis=0))
    x, y = x[:, ok], y[:, ok]
    if x.shape[1] == 0:
        return float("nan")
    draws = np.random.default_rng(seed).integers(0, x.shape[1], size=(n_resamples, x.shape[1]))
    means = ratio_or_bound(x[:, draws].mean(axis=2), y[:, draws].mean(axis=2)).mean(axis=0)
    return float((means > 1).mean() + 0.5 * (means == 1).mean())


def ratio_or_bound(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``a / b``, where ``b`` is 0: infinity if ``a`` is above 0, else 1 (nothing to tell)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > 0, x / np.where(y > 0, y, 1.0), np.where(x > 0, np.inf, 1.0))


def paired_ratio_ci(
    a: npt.ArrayLike, b: npt.ArrayLike, *, seed: int = 0, n_resamples: int = 2_000
) -> tuple[float, float, float]:
    """``mean(a) / mean(b)`` over paired folds and its 95% percentile bootstrap interval
    (folds resampled together; folds where either is NaN left out; NaNs when none left).

    A resample whose ``b`` folds all score 0 has no ratio: it counts as infinite when its
    ``a`` is above 0 (so the upper bound may be ``inf``) and as 1 when both are 0."""
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if x.size == 0 or y.sum() <= 0:
        return (float("nan"), float("nan"), float("nan"))
    draws = np.random.default_rng(seed).integers(0, x.size, size=(n_resamples, x.size))
    ratios = ratio_or_bound(x[draws].mean(axis=1), y[draws].mean(axis=1))
    with np.errstate(invalid="ignore"):  # between two infinite ratios: inf - inf
        lo, hi = np.nan_to_num(np.percentile(ratios, [2.5, 97.5]), nan=np.inf, posinf=np.inf)
    return (float(x.mean() / y.mean()), float(lo), float(hi))


def mean_excluding_nan(values: npt.ArrayLike) -> tuple[float, int, int]:
    """``(mean, n_used, n_excluded)`` of ``values`` leaving NaN out (mean NaN if none left)."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    ok = ~np.isnan(x)
    used = int(ok.sum())
    mean = float(x[ok].mean()) if used else float("nan")
    return mean, used, int(x.size - used)
