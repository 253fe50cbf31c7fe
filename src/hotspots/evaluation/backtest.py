"""Rolling-origin backtest: fit fresh clones per fold group, forecast, score every model alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.evaluation.blocks import (
    BlockForecast,
    FitBlock,
    fit_blocks,
    forecast_block,
    target_of,
)
from hotspots.evaluation.folds import Fold
from hotspots.evaluation.metrics import (
    Cutoff,
    CutoffScores,
    bootstrap_ci,
    calibration_table,
    flagged_count,
    mean_excluding_nan,
    poisson_deviance,
    score_ranking,
)
from hotspots.evaluation.references import REFERENCE_KIND, checked_references
from hotspots.evaluation.result import (
    ALL_CELLS,
    RANKING_METRICS,
    BacktestResult,
    LastFold,
)
from hotspots.features import Panel
from hotspots.forecasters import Forecaster

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Progress = Callable[[str, int, int], None]

CURVE_COVERAGES: FloatArray = np.round(np.arange(1, 41) * 0.005, 4)
"""The coverage grid of ``BacktestResult.curves``: 0.5% to 20% in steps of 0.5%."""


@dataclass(frozen=True)
class _Forecasts:
    """One model's lead-1 forecasts: ``expected[f]`` for fold ``f`` on the panel cells.

    ``fitted`` is None for a reference, which is scored but never fitted.
    """

    expected: FloatArray
    fitted: Forecaster | None


def backtest(
    models: Mapping[str, Forecaster],
    panel: Panel,
    folds: Sequence[Fold],
    *,
    coverages: Sequence[float] = (0.01, 0.05, 0.10),
    budgets: Sequence[int] = (),
    references: Mapping[str, npt.ArrayLike] | None = None,
    progress: Progress | None = None,
    seed: int = 0,
    blocks: Sequence[BlockForecast] | None = None,
) -> BacktestResult:
    """Score ``models`` on ``folds`` of ``panel``: hit rate, PAI, PEI, deviance, calibration.

    Each model is cloned afresh for every distinct ``fit_until``, fitted with
    ``fit(panel, until=fit_until)`` and asked for ``predict(panel, as_of, horizon=1)`` in each
    fold of that group; the forecast is compared with the panel's counts of the shared target
    in the period starting ``as_of``. ``progress(model, folds_done, n_folds)`` is called after
    each fold; ``seed`` fixes the bootstrap intervals.

    ``references`` maps a name to expected counts of shape ``(len(folds), n_cells)``, rows in
    the order of ``folds``, columns on ``panel.cells`` (e.g. the oracle of a simulated city,
    ``references.oracle_reference``). They are scored exactly like the models and listed in
    ``BacktestResult.references``, but are not models: never fitted, never ``best``.

    ``blocks`` are the ``forecast_block`` results of every ``fit_blocks(models, folds)``
    block, in that order, computed elsewhere (e.g. as tasks on a cluster); without them each
    block is fitted here, one after the other. Either way the result is the same.
    """
    if not models:
        raise ConfigError("backtest needs at least one model")
    ordered = _check_folds(folds, panel)
    order = np.argsort(pd.DatetimeIndex([f.as_of for f in folds]).asi8, kind="stable")
    given = checked_references(references or {}, models, order, panel.cells.size)
    cutoffs = _cutoffs(coverages, budgets, panel.cells.size)
    target = _shared_target(models, panel)
    rows = panel.periods.get_indexer(pd.DatetimeIndex([f.as_of for f in ordered]))
    actual = np.zeros((len(ordered), panel.cells.size), dtype=np.int64)
    for name in target:  # a handful of categories
        actual += panel.of(name)[rows]
    plan = fit_blocks(models, ordered)
    if blocks is None:
        blocks = _run_blocks(plan, models, panel, ordered, progress)
    elif len(blocks) != len(plan):
        raise ConfigError(f"backtest was given {len(blocks)} fitted blocks for {len(plan)}")
    forecasts = _gather(plan, blocks, models, len(ordered), panel.cells.size)
    forecasts.update({name: _Forecasts(values, None) for name, values in given.items()})
    return _assemble(forecasts, actual, panel, ordered, cutoffs, target, seed)


def _check_folds(folds: Sequence[Fold], panel: Panel) -> tuple[Fold, ...]:
    """The folds by ``as_of``; each ``as_of`` must be a distinct period start of the panel."""
    if not folds:
        raise ConfigError("backtest needs at least one fold")
    ordered = tuple(sorted(folds, key=lambda f: f.as_of))
    as_of = pd.DatetimeIndex([f.as_of for f in ordered])
    if not as_of.is_unique:
        raise ConfigError(f"folds repeat an as_of: {as_of[as_of.duplicated()][0].date()}")
    missing = as_of[panel.periods.get_indexer(as_of) < 0]
    if len(missing):
        span = (
            f"{panel.periods[0].date()}..{panel.periods[-1].date()}" if len(panel.periods) else ""
        )
        raise ConfigError(
            f"fold as_of {missing[0]} is not a '{panel.freq}' period start of the panel "
            f"({len(panel.periods)} periods {span})"
        )
    return ordered


def _cutoffs(
    coverages: Sequence[float], budgets: Sequence[int], n_cells: int
) -> tuple[Cutoff, ...]:
    cutoffs = (*(Cutoff.coverage(c) for c in coverages), *(Cutoff.budget(k) for k in budgets))
    labels = [c.label for c in cutoffs]
    if not cutoffs or len(set(labels)) < len(labels):
        raise ConfigError(f"cutoffs must be a non-empty list of distinct values, got {labels}")
    for c in cutoffs:
        c.k(n_cells)  # raises if a budget exceeds the study cells
    return cutoffs


def _shared_target(models: Mapping[str, Forecaster], panel: Panel) -> tuple[str, ...]:
    targets = {name: target_of(model, panel) for name, model in models.items()}
    first = next(iter(targets.values()))
    if any(set(t) != set(first) for t in targets.values()):
        shown = ", ".join(f"{name!r}: {list(t)}" for name, t in targets.items())
        raise ConfigError(f"models in one backtest must share their target; they are {shown}")
    return first


def _run_blocks(
    plan: tuple[FitBlock, ...],
    models: Mapping[str, Forecaster],
    panel: Panel,
    folds: tuple[Fold, ...],
    progress: Progress | None,
) -> list[BlockForecast]:
    """Every block in this process, in order, with ``progress`` after each fold."""
    done: dict[str, int] = {}
    out = []
    for block in plan:
        out.append(forecast_block(block, models[block.name], panel, folds))
        for _ in block.folds:
            done[block.name] = done.get(block.name, 0) + 1
            if progress is not None:
                progress(block.name, done[block.name], len(folds))
    return out


def _gather(
    plan: tuple[FitBlock, ...],
    blocks: Sequence[BlockForecast],
    models: Mapping[str, Forecaster],
    n_folds: int,
    n_cells: int,
) -> dict[str, _Forecasts]:
    """Each model's forecasts of every fold from its blocks; its fitted clone is the one of
    its last ``fit_until``."""
    expected = {name: np.zeros((n_folds, n_cells), dtype=np.float64) for name in models}
    fitted: dict[str, Forecaster] = {}
    for block, got in zip(plan, blocks, strict=True):
        if got.expected.shape != (len(block.folds), n_cells):
            raise ConfigError(
                f"block {block.name!r} up to {block.fit_until.date()} has forecasts of shape "
                f"{got.expected.shape}, not {(len(block.folds), n_cells)}"
            )
        expected[block.name][list(block.folds)] = got.expected
        fitted[block.name] = got.fitted
    return {name: _Forecasts(expected[name], fitted[name]) for name in models}


def _assemble(
    forecasts: dict[str, _Forecasts],
    actual: IntArray,
    panel: Panel,
    folds: tuple[Fold, ...],
    cutoffs: tuple[Cutoff, ...],
    target: tuple[str, ...],
    seed: int,
) -> BacktestResult:
    """Score every model's forecasts and gather them into a ``BacktestResult``."""
    n = panel.cells.size
    ks = [c.k(n) for c in cutoffs] + [flagged_count(n, c) for c in CURVE_COVERAGES]
    frames = [
        _score_model(name, fc.expected, actual, panel.cells, folds, cutoffs, ks)
        for name, fc in forecasts.items()
    ]
    per_fold, curves, deviance = (list(part) for part in zip(*frames, strict=True))
    per_fold_frame = pd.concat(per_fold, ignore_index=True)
    deviance_frame = pd.concat(deviance, ignore_index=True)
    return BacktestResult(
        models=tuple(name for name, fc in forecasts.items() if fc.fitted is not None),
        kinds={
            name: REFERENCE_KIND if fc.fitted is None else fc.fitted.name
            for name, fc in forecasts.items()
        },
        target=target,
        cutoffs=cutoffs,
        folds=folds,
        n_cells=n,
        freq=panel.freq,
        resolution=panel.resolution,
        seed=seed,
        per_fold=per_fold_frame,
        deviance=deviance_frame,
        summary=_summary(per_fold_frame, deviance_frame, tuple(forecasts), cutoffs, seed),
        calibration={
            name: calibration_table(fc.expected, actual) for name, fc in forecasts.items()
        },
        curves=pd.concat(curves, ignore_index=True),
        last_fold=LastFold(
            folds[-1].as_of,
            panel.cells.copy(),
            actual[-1].copy(),
            {name: fc.expected[-1].copy() for name, fc in forecasts.items()},
        ),
        fitted={name: fc.fitted for name, fc in forecasts.items() if fc.fitted is not None},
        references=tuple(name for name, fc in forecasts.items() if fc.fitted is None),
        forecasts={name: fc.expected for name, fc in forecasts.items()},
        actual=actual,
    )


def _score_model(
    name: str,
    expected: FloatArray,
    actual: IntArray,
    cells: npt.NDArray[np.uint64],
    folds: tuple[Fold, ...],
    cutoffs: tuple[Cutoff, ...],
    ks: list[int],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One model's per-fold scores, coverage curves and per-fold deviance."""
    scores = [score_ranking(expected[i], actual[i], cells, ks) for i in range(len(folds))]
    deviance = pd.DataFrame(
        {
            "model": name,
            "as_of": pd.DatetimeIndex([f.as_of for f in folds]),
            "n_events": actual.sum(axis=1),
            "deviance": [poisson_deviance(expected[i], actual[i]) for i in range(len(folds))],
        }
    )
    return (
        _per_fold_frame(name, folds, cutoffs, scores),
        _curve_frame(name, scores, len(cutoffs), ks[len(cutoffs) :]),
        deviance,
    )


def _per_fold_frame(
    name: str, folds: tuple[Fold, ...], cutoffs: tuple[Cutoff, ...], scores: list[CutoffScores]
) -> pd.DataFrame:
    """Rows ordered by fold then cutoff."""
    n_cut = len(cutoffs)

    def column(attr: str) -> npt.NDArray[np.generic]:
        return np.stack([getattr(s, attr)[:n_cut] for s in scores]).reshape(-1)

    return pd.DataFrame(
        {
            "model": name,
            "as_of": np.repeat(pd.DatetimeIndex([f.as_of for f in folds]).values, n_cut),
            "fit_until": np.repeat(pd.DatetimeIndex([f.fit_until for f in folds]).values, n_cut),
            "cutoff": np.tile(np.array([c.label for c in cutoffs], dtype=object), len(folds)),
            "n_events": np.repeat([s.n_events for s in scores], n_cut).astype(np.int64),
            "hits": column("hits"),
            "flagged": column("flagged"),
            "hit_rate": column("hit_rate"),
            "pai": column("pai"),
            "pei": column("pei"),
        }
    )


def _nan_mean(values: FloatArray) -> FloatArray:
    """Column means leaving NaN out (NaN where a column has no value), without warnings."""
    ok = ~np.isnan(values)
    n = ok.sum(axis=0)
    total = np.where(ok, values, 0.0).sum(axis=0)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _curve_frame(name: str, scores: list[CutoffScores], skip: int, ks: list[int]) -> pd.DataFrame:
    """Mean hit rate and PAI over folds at each coverage of ``CURVE_COVERAGES``."""
    rate = np.stack([s.hit_rate[skip:] for s in scores])
    index = np.stack([s.pai[skip:] for s in scores])
    return pd.DataFrame(
        {
            "model": name,
            "coverage": CURVE_COVERAGES,
            "flagged": np.asarray(ks, dtype=np.int64),
            "hit_rate": _nan_mean(rate),
            "pai": _nan_mean(index),
        }
    )


def _summary(
    per_fold: pd.DataFrame,
    deviance: pd.DataFrame,
    models: tuple[str, ...],
    cutoffs: tuple[Cutoff, ...],
    seed: int,
) -> pd.DataFrame:
    """Mean, bootstrap interval and fold counts per model, cutoff and metric."""
    rows = []
    for name in models:  # models x cutoffs x metrics: a few dozen small groups
        mine = per_fold[per_fold["model"] == name]
        for cutoff in cutoffs:
            part = mine[mine["cutoff"] == cutoff.label]
            for metric in RANKING_METRICS:
                rows.append(_summary_row(name, cutoff.label, metric, part[metric], seed))
        dev = deviance.loc[deviance["model"] == name, "deviance"]
        rows.append(_summary_row(name, ALL_CELLS, "deviance", dev, seed))
    return pd.DataFrame(rows)


def _summary_row(
    name: str, cutoff: str, metric: str, values: pd.Series, seed: int
) -> dict[str, object]:
    x = values.to_numpy(np.float64)
    mean, used, excluded = mean_excluding_nan(x)
    low, high = bootstrap_ci(x, seed=seed)
    return {
        "model": name,
        "cutoff": cutoff,
        "metric": metric,
        "mean": mean,
        "ci_low": low,
        "ci_high": high,
        "n_folds": used,
        "n_excluded": excluded,
    }
