"""Rolling-origin folds: forecast each of the last periods from the data before it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hotspots.errors import ConfigError


@dataclass(frozen=True)
class Fold:
    """One backtest step: forecast the period starting ``as_of`` (lead 1).

    The model is fitted on the periods before ``fit_until`` (``fit_until <= as_of``) and
    forecasts from every period before ``as_of``; folds sharing ``fit_until`` share a fit.
    """

    as_of: pd.Timestamp
    fit_until: pd.Timestamp

    def __post_init__(self) -> None:
        as_of, fit_until = pd.Timestamp(self.as_of), pd.Timestamp(self.fit_until)
        if fit_until > as_of:
            raise ConfigError(
                f"a fold cannot be fitted on data after its forecast: fit_until {fit_until} "
                f"is after as_of {as_of}"
            )
        object.__setattr__(self, "as_of", as_of)
        object.__setattr__(self, "fit_until", fit_until)


def _check_whole(value: int | None, name: str, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")


def rolling_origin_folds(
    periods: pd.DatetimeIndex,
    n_folds: int,
    *,
    refit_every: int | None = None,
    min_train_periods: int = 1,
) -> tuple[Fold, ...]:
    """Folds forecasting each of the last ``n_folds`` of ``periods`` from the data before it.

    Parameters
    ----------
    periods
        The panel's period starts, increasing.
    n_folds
        How many of the last periods are forecast, one fold each.
    refit_every
        ``None`` fits once, on the periods before the first forecast period; ``K`` refits
        every ``K`` folds (fold ``i`` is fitted before the as_of of fold ``K * (i // K)``).
    min_train_periods
        Fewest periods the first fit must see; ConfigError when ``periods`` is too short.
    """
    _check_whole(n_folds, "n_folds")
    _check_whole(refit_every, "refit_every", allow_none=True)
    _check_whole(min_train_periods, "min_train_periods")
    idx = pd.DatetimeIndex(periods)
    if not idx.is_monotonic_increasing or not idx.is_unique:
        raise ConfigError("periods must be increasing and unique to make rolling-origin folds")
    first = len(idx) - n_folds
    if first < min_train_periods:
        raise ConfigError(
            f"{n_folds} folds with at least {min_train_periods} training periods need "
            f"{n_folds + min_train_periods} periods; there are {len(idx)}"
        )
    step = n_folds if refit_every is None else int(refit_every)
    fold_at = np.arange(n_folds)
    fit_at = first + (fold_at // step) * step
    return tuple(
        Fold(pd.Timestamp(idx[first + i]), pd.Timestamp(idx[f]))
        for i, f in zip(fold_at.tolist(), fit_at.tolist(), strict=True)
    )
