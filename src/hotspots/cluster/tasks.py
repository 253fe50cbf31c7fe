"""The functions a worker runs. Each takes the spec's ``Prepared`` (which stays on the
workers) and calls the same library code as the serial path, so the results are the same.
Importing this module registers the ``Prepared``'s size with Dask (``sizes``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from hotspots.cluster import sizes  # noqa: F401  (registers Prepared with dask.sizeof)
from hotspots.evaluation import (
    BacktestResult,
    BlockForecast,
    FitBlock,
    Fold,
    ReportText,
    forecast_block,
)
from hotspots.forecasters import Forecaster
from hotspots.ingest.validate import ValidationReport
from hotspots.jobs import prepare as jobs_prepare
from hotspots.jobs.spec import TrainingSpec
from hotspots.jobs.train import (
    Prepared,
    Selection,
    backtest_report,
    candidate_models,
    fit_final,
    report_meta,
    reported_folds,
    run_backtest,
    run_selection,
    selection_folds,
    skipped_challengers,
)


@dataclass(frozen=True)
class Outline:
    """What the client needs of a prepared spec to plan its fits and describe its panel:
    the models (and the challengers left out, with why), both fold sets, and the panel's
    shape (not the panel itself)."""

    models: dict[str, Forecaster]
    skipped: dict[str, str]
    selection: tuple[Fold, ...]
    reported: tuple[Fold, ...]
    report: ValidationReport | None
    notes: tuple[str, ...]
    cells: int
    resolution: int
    freq: str
    periods: int
    first: pd.Timestamp
    until: pd.Timestamp
    target: tuple[str, ...]
    target_events: int


def prepare(spec: TrainingSpec) -> Prepared:
    """The spec's events and panel (``jobs.prepare.prepare``): a task of this module, so the
    worker holding them has registered their size with Dask (``sizes``)."""
    return jobs_prepare.prepare(spec)


def share(prepared: Prepared, spec: TrainingSpec) -> Prepared:
    """``spec``'s prepared data taken from an earlier spec's of the same panel
    (``jobs.prepare.for_spec``): the same events and panel, not read again."""
    return jobs_prepare.for_spec(prepared, spec)


def outline_shared(prepared: Prepared, spec: TrainingSpec) -> Outline:
    """The outline of ``spec`` taking ``prepared``'s panel (``share``), made from
    ``prepared`` itself: it need not wait for the taking to end and reach the scheduler, in
    which time the worker starts a ready block (~5-8 s of LightGBM) before it."""
    return outline(jobs_prepare.for_spec(prepared, spec))


def outline(prepared: Prepared) -> Outline:
    """The spec's candidate models, selection and reported folds, and panel description."""
    models = candidate_models(prepared)
    p = prepared.panel
    return Outline(
        models=models,
        skipped=skipped_challengers(prepared),
        selection=selection_folds(prepared, models),
        reported=reported_folds(prepared, models),
        report=prepared.loaded.report,
        notes=prepared.notes,
        cells=int(p.cells.size),
        resolution=p.resolution,
        freq=p.freq,
        periods=len(p.periods),
        first=p.periods[0],
        until=prepared.until,
        target=prepared.target,
        target_events=prepared.target_events,
    )


def fit_block(
    prepared: Prepared, block: FitBlock, model: Forecaster, folds: Sequence[Fold]
) -> BlockForecast:
    """One backtest fit and its forecasts (``evaluation.forecast_block``)."""
    return forecast_block(block, model, prepared.panel, folds)


def assemble_selection(
    prepared: Prepared, models: dict[str, Forecaster], blocks: list[BlockForecast]
) -> BacktestResult | None:
    """The selection backtest from its fitted blocks."""
    return run_selection(prepared, models, blocks=blocks)


def assemble_reported(
    prepared: Prepared, models: dict[str, Forecaster], blocks: list[BlockForecast]
) -> BacktestResult:
    """The reported backtest from its fitted blocks."""
    return run_backtest(prepared, models, blocks=blocks)


def final_fit(prepared: Prepared, model: Forecaster) -> Forecaster:
    """The published model fitted on the whole training window."""
    return fit_final(prepared, model)


def summaries(prepared: Prepared, selection: Selection | None) -> dict[str, Any]:
    """The manifest's data section and the report's run description."""
    return {"data": prepared.data_summary(), "meta": report_meta(prepared, selection)}


def report(spec: TrainingSpec, result: BacktestResult, summaries: dict[str, Any]) -> ReportText:
    """The spec's backtest report, rendered here rather than by the client: its plots take
    ~1 s a spec, which the client, publishing one spec after another, drew on one core."""
    return backtest_report(spec, result, summaries["meta"])
