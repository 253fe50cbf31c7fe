"""Backtest fits as independent blocks: one model fitted once, forecasting the folds that
share its ``fit_until``. ``backtest`` runs them in order; a cluster runs them as tasks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import clone

from hotspots.errors import ConfigError, DataValidationError
from hotspots.evaluation.folds import Fold
from hotspots.features import Panel
from hotspots.forecasters import Forecaster
from hotspots.forecasters.base import resolve_target

FloatArray = npt.NDArray[np.float64]


def target_of(model: Forecaster, panel: Panel) -> tuple[str, ...]:
    """The categories ``model`` forecasts on ``panel`` (``target=None``: all of them)."""
    return resolve_target(model.get_params().get("target"), panel)


@dataclass(frozen=True)
class FitBlock:
    """One fit of a backtest: model ``name`` fitted on the periods before ``fit_until``,
    forecasting the folds at positions ``folds`` of the folds ordered by ``as_of``."""

    name: str
    fit_until: pd.Timestamp
    folds: tuple[int, ...]


@dataclass(frozen=True)
class BlockForecast:
    """What a ``FitBlock`` gives: lead-1 expected counts, one row per fold of the block on
    the panel cells, and the fitted clone."""

    expected: FloatArray
    fitted: Forecaster


def fit_blocks(models: Mapping[str, Forecaster], folds: Sequence[Fold]) -> tuple[FitBlock, ...]:
    """The fits a backtest of ``models`` on ``folds`` makes: one per model and distinct
    ``fit_until``, models in their order, fits by ``fit_until``. Each is independent of the
    others, so they can run anywhere (``forecast_block``)."""
    ordered = sorted(folds, key=lambda f: f.as_of)
    groups: dict[pd.Timestamp, list[int]] = {}
    for i, fold in enumerate(ordered):
        groups.setdefault(fold.fit_until, []).append(i)
    return tuple(
        FitBlock(name, fit_until, tuple(groups[fit_until]))
        for name in models
        for fit_until in sorted(groups)
    )


def forecast_block(
    block: FitBlock, model: Forecaster, panel: Panel, folds: Sequence[Fold]
) -> BlockForecast:
    """Fit a fresh clone of ``model`` for ``block`` and forecast the block's folds (``folds``
    in ``as_of`` order, as ``fit_blocks`` numbered them)."""
    ordered = sorted(folds, key=lambda f: f.as_of)
    fitted = _fitted(block, model, panel)
    expected = np.zeros((len(block.folds), panel.cells.size), dtype=np.float64)
    for row, i in enumerate(block.folds):
        frame = fitted.predict(panel, as_of=ordered[i].as_of, horizon=1)
        expected[row] = _aligned(frame, panel.cells, ordered[i].as_of, block.name)
    return BlockForecast(expected, fitted)


def _fitted(block: FitBlock, model: Forecaster, panel: Panel) -> Forecaster:
    """A fresh clone of ``model`` fitted on ``panel`` until the block's ``fit_until``,
    checked to forecast the target the spec asks of it."""
    target = target_of(model, panel)
    fitted = clone(model).fit(panel, until=block.fit_until)
    if set(fitted.target_) != set(target):
        raise ConfigError(f"model {block.name!r} fitted target {fitted.target_}, not {target}")
    return fitted


def _aligned(
    frame: pd.DataFrame, cells: npt.NDArray[np.uint64], as_of: pd.Timestamp, name: str
) -> FloatArray:
    """A lead-1 prediction frame as expected counts on ``cells`` (cells it lacks: 0)."""
    starts = frame["period_start"].to_numpy()
    if not np.all(starts == as_of.to_datetime64()):
        raise DataValidationError(f"model {name!r} did not forecast the period starting {as_of}")
    got = frame["cell"].to_numpy(np.uint64)
    mu = frame["expected_count"].to_numpy(np.float64)
    if n_bad := int((~np.isfinite(mu)).sum()):
        raise DataValidationError(f"model {name!r} forecast {n_bad} NaN counts for {as_of}")
    if np.array_equal(got, cells):
        return mu
    order = np.argsort(got)
    pos = np.minimum(np.searchsorted(got[order], cells), max(got.size - 1, 0))
    found = got[order][pos] == cells if got.size else np.zeros(cells.size, bool)
    out = np.zeros(cells.size, dtype=np.float64)
    out[found] = mu[order][pos[found]]
    return out


def forecast_block_ahead(
    block: FitBlock, model: Forecaster, panel: Panel, folds: Sequence[Fold]
) -> BlockForecast:
    """As ``forecast_block``, but forecasting from the block's ``fit_until`` (the origin):
    each fold's period ``as_of`` as the model would have forecast it then, that many periods
    ahead (``predict(panel, fit_until, horizon)``), not from the periods just before it.
    What a forecast served several periods ahead is compared with."""
    ordered = sorted(folds, key=lambda f: f.as_of)
    fitted = _fitted(block, model, panel)
    origin = int(panel.periods.get_indexer(pd.DatetimeIndex([block.fit_until]))[0])
    if origin < 0:
        raise ConfigError(f"fit_until {block.fit_until} is not a period start of the panel")
    expected = np.zeros((len(block.folds), panel.cells.size), dtype=np.float64)
    for row, i in enumerate(block.folds):
        as_of = ordered[i].as_of
        horizon = int(panel.periods.get_indexer(pd.DatetimeIndex([as_of]))[0]) - origin + 1
        frame = fitted.predict(panel, as_of=block.fit_until, horizon=horizon)
        frame = frame.loc[frame["period_start"].to_numpy() == as_of.to_datetime64()]
        expected[row] = _aligned(frame, panel.cells, as_of, block.name)
    return BlockForecast(expected, fitted)
