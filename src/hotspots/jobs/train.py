"""``hotspots train`` and ``hotspots backtest`` as library calls.

prepare (read events, build the panel) -> a selection backtest on the periods just before
the reported folds chooses the model the registry may mark current (never worse than the
best baseline by PAI at the spec's coverage) -> the reported backtest scores every model on
the last folds, which took no part in the choice -> fit the chosen model on the whole
training window -> publish it with its manifest, model card and report.

The first stage, ``prepare``, is ``jobs.prepare`` (re-exported here); this module is the
stages after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.base import clone

from hotspots.errors import ConfigError
from hotspots.evaluation import (
    BacktestResult,
    BlockForecast,
    Fold,
    ReportText,
    backtest,
    oracle_reference,
    render_report,
    rolling_origin_folds,
)
from hotspots.evaluation.plans import score_plans
from hotspots.forecasters import Forecaster, make_forecaster
from hotspots.grid.regions import PlanBudget
from hotspots.jobs.gain import cells_a_fold, measured_gain
from hotspots.jobs.prepare import Prepared
from hotspots.jobs.prepare import prepare as prepare  # the first stage, re-exported
from hotspots.jobs.prepare import snap_window as snap_window
from hotspots.jobs.select_rule import (
    best_rivals,
    mean_ratio,
    or_low,
    ratio_win_share,
    select_coverages,
    select_labels,
)
from hotspots.jobs.spec import TrainingSpec

FoldProgress = Callable[[str, int, int], None]

logger = logging.getLogger(__name__)


def candidate_models(prepared: Prepared) -> dict[str, Forecaster]:
    """The main model, the challengers the data can feed and every baseline, keyed by name
    (the main model first).

    The spec's static covariates are data of the panel (``prepare``); only LightGBM reads
    them, which ``check_spec`` makes sure of.
    """
    spec, target = prepared.spec, prepared.target
    params = dict(spec.model.params)
    models = {spec.model.kind: make_forecaster(spec.model.kind, target=target, **params)}
    skipped = skipped_challengers(prepared)
    for kind in spec.model.challengers:
        if kind not in skipped:
            models[kind] = make_forecaster(kind, target=target)
    for name in spec.model.baselines:
        models.setdefault(name, make_forecaster(name, target=target))
    return models


def skipped_challengers(prepared: Prepared) -> dict[str, str]:
    """The spec's challengers that the prepared panel cannot feed, with the reason."""
    out = {}
    for kind in prepared.spec.model.challengers:
        reason = make_forecaster(kind, target=prepared.target).unusable_reason(prepared.panel)
        if reason is not None:
            out[kind] = reason
    return out


def run_backtest(
    prepared: Prepared,
    models: Mapping[str, Forecaster] | None = None,
    progress: FoldProgress | None = None,
    blocks: Sequence[BlockForecast] | None = None,
) -> BacktestResult:
    """The spec's rolling-origin backtest of the main model beside every baseline, and of the
    oracle when the spec names a truth file (``backtest.truth``). ``blocks``: its fits made
    elsewhere (``evaluation.backtest``), e.g. as cluster tasks."""
    spec = prepared.spec
    models = models or candidate_models(prepared)
    folds = reported_folds(prepared, models)
    truth = spec.backtest.truth
    references = (
        oracle_reference(truth, prepared.panel, [f.as_of for f in folds], prepared.target)
        if truth is not None
        else None
    )
    result = backtest(
        models,
        prepared.panel,
        folds,
        coverages=spec.backtest.coverages,
        budgets=spec.backtest.budgets,
        references=references,
        progress=progress,
        seed=spec.backtest.seed,
        blocks=blocks,
    )
    if spec.backtest.plan_areas == 0:
        return result
    budget = PlanBudget(spec.backtest.plan_areas, spec.backtest.plan_max_area_km2)
    try:
        return score_plans(result, budget)
    except ConfigError as err:  # e.g. cells larger than the area limit: the models still stand
        logger.warning("patrol plans not scored: %s (backtest.plan_max_area_km2)", err)
        return result


def reported_folds(prepared: Prepared, models: Mapping[str, Forecaster]) -> tuple[Fold, ...]:
    """The reported backtest's folds: the last ``backtest.folds`` periods."""
    spec = prepared.spec
    periods, least = prepared.panel.periods, max(m.min_history for m in models.values())
    if len(periods) - spec.backtest.folds < least:
        most = len(periods) - least
        fix = f"give --folds {most} or fewer" if most >= 1 else "train on a longer history"
        raise ConfigError(
            f"{spec.backtest.folds} backtest folds need {spec.backtest.folds + least} "
            f"{prepared.panel.freq} periods ({least} to fit on before the first fold); the "
            f"panel has {len(periods)}: {fix} (backtest.folds)"
        )
    return rolling_origin_folds(
        periods, spec.backtest.folds, refit_every=spec.backtest.refit_every, min_train_periods=least
    )


def selection_folds(prepared: Prepared, models: Mapping[str, Forecaster]) -> tuple[Fold, ...]:
    """The folds the published model is chosen on: the ``select_folds`` periods (default:
    as many as the reported folds) just before the reported folds, fitted as those are.
    Empty when ``select_folds`` is 0 or the window is too short to hold them."""
    bt = prepared.spec.backtest
    n_folds = bt.folds if bt.select_folds is None else bt.select_folds
    periods = prepared.panel.periods[: max(len(prepared.panel.periods) - bt.folds, 0)]
    min_train = max(m.min_history for m in models.values())
    if n_folds == 0 or len(periods) < n_folds + min_train:
        return ()
    return rolling_origin_folds(
        periods, n_folds, refit_every=bt.refit_every, min_train_periods=min_train
    )


def run_selection(
    prepared: Prepared,
    models: Mapping[str, Forecaster] | None = None,
    progress: FoldProgress | None = None,
    blocks: Sequence[BlockForecast] | None = None,
) -> BacktestResult | None:
    """The selection backtest (see ``selection_folds``), scored at ``select_coverages``
    only; None when there is no room for it before the reported folds."""
    spec = prepared.spec
    models = models or candidate_models(prepared)
    folds = selection_folds(prepared, models)
    if not folds:
        return None
    return backtest(
        models,
        prepared.panel,
        folds,
        coverages=select_coverages(spec),
        progress=progress,
        seed=spec.backtest.seed,
        blocks=blocks,
    )


@dataclass(frozen=True)
class Selection:
    """Which model is published and why: chosen on ``n_folds`` folds of ``basis``
    (``"selection"``: before the reported folds; ``"reported"``: the reported folds
    themselves, when the window had no room for more). ``win_share`` is the share of
    bootstrap resamples of those folds in which the learned model's PAI over the best
    baseline's, averaged over ``select_coverages``, is above 1: how sure the choice is."""

    name: str
    reason: str
    cutoff: str
    scores: dict[str, float]
    basis: str = "reported"
    n_folds: int = 0
    win_share: float | None = None
    learned: str = ""
    """The best learned model (the main one or a challenger) on those folds, published or not."""


def select_model(result: BacktestResult, spec: TrainingSpec, basis: str = "reported") -> Selection:
    """The best learned model (the main one, or a challenger that scores higher) if its PAI
    over the best baseline's, averaged over ``select_coverages`` (the best baseline at each),
    is at least 1 on ``result``'s folds (``select_rule``, which ``hotspots retrain`` promotes by
    too); otherwise the best baseline at ``select_coverage``. ``basis`` says which folds
    ``result`` holds (``"selection"`` or ``"reported"``)."""
    labels = select_labels(result, spec)
    cutoff = labels[0]
    tables = {label: result.table(label)["pai"] for label in labels}
    scores = {str(k): float(v) for k, v in tables[cutoff].items() if pd.notna(v)}
    learned = [spec.model.kind, *(c for c in spec.model.challengers if c in scores)]
    baselines = {k: v for k, v in scores.items() if k not in learned}
    if not baselines:
        main = max(learned, key=lambda k: (scores.get(k, float("-inf")), k == spec.model.kind))
        why = f"{main}: the highest PAI@{cutoff} of the learned models; no baseline to compare with"
        return Selection(main, why, cutoff, scores, basis, len(result.folds), learned=main)
    best = max(baselines, key=lambda k: (baselines[k], k))
    best_at = best_rivals(tables, learned, best)
    ratios = {k: mean_ratio(tables, best_at, k) for k in learned}
    main = max(learned, key=lambda k: (or_low(ratios[k]), k == spec.model.kind))
    n_folds = len(result.folds)
    where = (
        f"{n_folds} selection folds before the reported ones"
        if basis == "selection"
        else f"the {n_folds} reported folds (select_folds is 0, or no room before them)"
    ) + _fold_base(result.per_fold, cutoff, main)
    share = ratio_win_share(result, main, best_at, spec.backtest.seed)
    sure = "" if share is None else f"; {main} ahead in {share:.0%} of fold resamples"
    figures = ", ".join(
        f"PAI@{label} {tables[label].get(main, float('nan')):.2f} against best baseline "
        f"{rival} {tables[label][rival]:.2f}"
        for label, rival in best_at.items()
    )
    mean = f"mean {ratios[main]:.3f}x" if len(labels) > 1 else f"{ratios[main]:.3f}x"
    if or_low(ratios[main]) >= 1:
        reason = f"{_beat(spec, main, ratios)}{main} {figures}: {mean} >= 1 on {where}{sure}"
        return Selection(main, reason, cutoff, scores, basis, n_folds, share, main)
    reason = (
        f"{_beat(spec, main, ratios)}{main} {figures}: {mean} < 1 on {where}{sure}: "
        f"publishing {best} instead"
    )
    return Selection(best, reason, cutoff, scores, basis, n_folds, share, main)


def _fold_base(per_fold: pd.DataFrame, cutoff: str, model: str) -> str:
    """`` (N events; the top 1% is k cells a fold)``: what a selection rests on, so a choice
    made on a handful of events in one cell reads as such."""
    rows = per_fold[(per_fold["cutoff"] == cutoff) & (per_fold["model"] == model)]
    if rows.empty:
        return ""
    return f" ({int(rows['n_events'].sum()):,} events; the top {cutoff} is {cells_a_fold(rows)})"


def _beat(spec: TrainingSpec, main: str, ratios: Mapping[str, float]) -> str:
    """Why a challenger is weighed instead of the main model ('' when it is not)."""
    if main == spec.model.kind:
        return ""
    beaten = ratios.get(spec.model.kind, float("nan"))
    return f"challenger {main} beat {spec.model.kind} ({ratios[main]:.3f}x > {beaten:.3f}x); "


def fit_final(prepared: Prepared, model: Forecaster) -> Forecaster:
    """A fresh clone of ``model`` fitted on every period of the training window."""
    fitted: Forecaster = clone(model).fit(prepared.panel)
    return fitted


def backtest_record(
    result: BacktestResult, selection: Selection, spec: TrainingSpec
) -> dict[str, Any]:
    """The JSON-able backtest section of a manifest."""
    table = result.table(selection.cutoff).reset_index()
    return {
        **measured_gain(result, spec, selection.cutoff, selection.learned or None),
        "selected": selection.name,
        "reason": selection.reason,
        "select_cutoff": selection.cutoff,
        "select_basis": selection.basis,
        "select_folds": selection.n_folds,
        "select_win_share": selection.win_share,
        "scores": selection.scores,
        # the folds the backtest ran (a retrain runs fewer than the spec's when fewer periods
        # passed since the champion's fit), not the spec's figure
        "folds": len(result.folds),
        "refit_every": spec.backtest.refit_every,
        "table": table.to_dict(orient="records"),
        "summary": result.to_dict().get("summary", []),
    }


def report_meta(prepared: Prepared, selection: Selection | None) -> dict[str, Any]:
    """What the report shows about the run beside the results."""
    spec = prepared.spec
    meta: dict[str, Any] = {
        "name": spec.name,
        "events": str(spec.data.events.name),
        "target": ", ".join(prepared.target),
        "resolution": spec.grid.resolution,
        "period": spec.grid.period,
        "training window": f"{prepared.panel.periods[0].date()} to {prepared.until.date()} (excl.)",
        "study cells": int(prepared.panel.cells.size),
        "folds": spec.backtest.folds,
        "refit every": spec.backtest.refit_every or "fit once",
    }
    if prepared.resolution_choice:
        meta["resolution"] = prepared.resolution_choice["reason"]
    if spec.backtest.truth is not None:
        meta["truth (oracle)"] = spec.backtest.truth.name
    if selection is not None:
        meta["selected"] = f"{selection.name}: {selection.reason}"
    return meta


def feature_importances(result: BacktestResult) -> dict[str, pd.Series]:
    """Gain importance of every backtested model that has one (LightGBM), for the report."""
    return {
        name: model.feature_importances()
        for name, model in result.fitted.items()
        if hasattr(model, "feature_importances")
    }


def backtest_report(
    spec: TrainingSpec, result: BacktestResult, meta: Mapping[str, Any]
) -> ReportText:
    """The spec's backtest report as ``hotspots train`` publishes it and ``hotspots
    backtest`` writes it (a cluster renders it on a worker: ``cluster.tasks``)."""
    return render_report(
        result,
        title=f"hotspots backtest: {spec.name}",
        meta=meta,
        feature_importance=feature_importances(result),
    )


def default_report_dir(spec: TrainingSpec) -> Path:
    """Where ``hotspots backtest`` writes its report unless told otherwise."""
    return Path("reports") / spec.name
