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


def forecast_blocks_ahead(
    models: Mapping[str, Forecaster], panel: Panel, folds: Mapping[int, Sequence[Fold]]
) -> dict[int, list[BlockForecast]]:
    """The ``forecast_block_ahead`` of every ``fit_blocks(models, folds[h])`` block, for
    each key ``h`` of ``folds`` (e.g. the horizons of forecasts served), with each model
    fitted once per ``fit_until`` (origin) and asked once for the farthest period any of the
    folds needs from it, not once per key.

    The blocks are the ones ``forecast_block_ahead`` gives key by key: a forecast of a
    period from an origin does not depend on how many periods were asked for (the contract
    test checks it of every forecaster), and the period just after the origin is the one
    ``forecast_block`` forecasts from it. The forecasts of every key are held at once."""
    row = panel.periods.get_indexer
    farthest: dict[pd.Timestamp, int] = {}
    for fold in (f for group in folds.values() for f in group):
        lead = int(
            row(pd.DatetimeIndex([fold.as_of]))[0] - row(pd.DatetimeIndex([fold.fit_until]))[0]
        )  # Fold refuses an as_of before its fit_until
        farthest[fold.fit_until] = max(farthest.get(fold.fit_until, 0), lead + 1)
    ahead = {
        (name, origin): _forecast_leads(name, model, panel, origin, leads)
        for name, model in models.items()
        for origin, leads in sorted(farthest.items())
    }
    out: dict[int, list[BlockForecast]] = {}
    for key, group in folds.items():
        ordered = sorted(group, key=lambda f: f.as_of)
        out[key] = []
        for block in fit_blocks(models, ordered):
            fitted, rows = ahead[(block.name, block.fit_until)]
            origin = row(pd.DatetimeIndex([block.fit_until]))[0]
            leads = row(pd.DatetimeIndex([ordered[i].as_of for i in block.folds])) - origin
            out[key].append(BlockForecast(rows[leads], fitted))
    return out


def _forecast_leads(
    name: str, model: Forecaster, panel: Panel, origin: pd.Timestamp, leads: int
) -> tuple[Forecaster, FloatArray]:
    """A fresh clone of ``model`` fitted before ``origin`` and its forecasts of the
    ``leads`` periods from it, one row per period on the panel cells."""
    fitted = _fitted(FitBlock(name, origin, ()), model, panel)
    first = int(panel.periods.get_indexer(pd.DatetimeIndex([origin]))[0])
    if first < 0:
        raise ConfigError(f"fit_until {origin} is not a period start of the panel")
    if first + leads > len(panel.periods):
        raise ConfigError(f"{name!r}: {leads} periods from {origin.date()} run past the panel")
    frame = fitted.predict(panel, as_of=origin, horizon=leads)
    starts = frame["period_start"].to_numpy()
    rows = np.zeros((leads, panel.cells.size), dtype=np.float64)
    for lead in range(leads):
        period = panel.periods[first + lead]
        rows[lead] = _aligned(
            frame.loc[starts == period.to_datetime64()], panel.cells, period, name
        )
    return fitted, rows
