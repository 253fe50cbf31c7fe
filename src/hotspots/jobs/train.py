"""``hotspots train`` and ``hotspots backtest`` as library calls.

prepare (read events, build the panel) -> backtest the main model beside every baseline ->
select the model the registry may mark current (never worse than the best baseline by PAI
at the spec's coverage) -> fit it on the whole training window -> publish it with its
manifest, model card and report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.base import clone

from hotspots.errors import ConfigError
from hotspots.evaluation import BacktestResult, backtest, oracle_reference, rolling_origin_folds
from hotspots.features import Panel, events_to_panel
from hotspots.forecasters import Forecaster, make_forecaster
from hotspots.grid import StudyArea
from hotspots.jobs.data import LoadedEvents, Progress, ingest_options, load_events
from hotspots.jobs.data import whole_periods_end as _whole_end
from hotspots.jobs.data import whole_periods_start as _whole_start
from hotspots.jobs.spec import TrainingSpec, match_categories

FoldProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Prepared:
    """The events and the panel a spec trains on."""

    spec: TrainingSpec
    loaded: LoadedEvents
    panel: Panel
    target: tuple[str, ...]
    until: pd.Timestamp

    @property
    def target_events(self) -> int:
        """Target-category events counted in the panel."""
        idx = [self.panel.categories.index(c) for c in self.target]
        return int(self.panel.counts[idx].sum())

    def data_summary(self) -> dict[str, Any]:
        """The data fingerprint plus what the panel holds, for the manifest and card."""
        p = self.panel
        return {
            **self.loaded.fingerprint(),
            "training_start": p.periods[0].isoformat(),
            "training_until": self.until.isoformat(),
            "periods": len(p.periods),
            "freq": p.freq,
            "resolution": p.resolution,
            "study_cells": int(p.cells.size),
            "study_area_km2": round(p.study_area.area_km2, 3),
            "categories": list(p.categories),
            "target_categories": list(self.target),
            "events_in_panel": int(p.counts.sum()),
            "target_events_in_panel": self.target_events,
            "n_outside_study_area": p.n_outside,
        }


def prepare(spec: TrainingSpec, progress: Progress | None = None) -> Prepared:
    """Read the spec's events and count them into its panel (before ``window.until``)."""
    data = spec.data
    options = ingest_options(**data.model_dump(exclude={"events"}))
    loaded = load_events(data.events, options, progress)
    freq = spec.grid.period
    until = (
        pd.Timestamp(spec.window.until) if spec.window.until else _whole_end(loaded.events, freq)
    )
    area = StudyArea.from_boundary(data.boundary, spec.grid.resolution) if data.boundary else None
    panel = events_to_panel(
        loaded.events,
        spec.grid.resolution,
        freq,
        study_area=area,
        k=spec.grid.k_ring,
        start=spec.window.start or _whole_start(loaded.events, freq),
        end=until,
    )
    target = match_categories(spec.target, panel.categories)
    return Prepared(spec, loaded, panel, target, until)


def candidate_models(prepared: Prepared) -> dict[str, Forecaster]:
    """The main model and every baseline, keyed by name (the main model first).

    Static covariate layers of the spec become the main model's ``covariates`` (LightGBM only).
    """
    spec, target = prepared.spec, prepared.target
    params = dict(spec.model.params)
    if spec.covariates:
        if spec.model.kind != "lightgbm":
            raise ConfigError(f"covariates need model kind 'lightgbm', not {spec.model.kind!r}")
        from hotspots.features.covariates import CovariateLayer, cell_covariates

        layers = [CovariateLayer(c.path, c.kind, c.name, c.where) for c in spec.covariates]
        params["covariates"] = cell_covariates(prepared.panel.cells, layers)
    models = {spec.model.kind: make_forecaster(spec.model.kind, target=target, **params)}
    for name in spec.model.baselines:
        models.setdefault(name, make_forecaster(name, target=target))
    return models


def run_backtest(
    prepared: Prepared,
    models: Mapping[str, Forecaster] | None = None,
    progress: FoldProgress | None = None,
) -> BacktestResult:
    """The spec's rolling-origin backtest of the main model beside every baseline, and of the
    oracle when the spec names a truth file (``backtest.truth``)."""
    spec = prepared.spec
    models = models or candidate_models(prepared)
    folds = rolling_origin_folds(
        prepared.panel.periods,
        spec.backtest.folds,
        refit_every=spec.backtest.refit_every,
        min_train_periods=max(m.min_history for m in models.values()),
    )
    truth = spec.backtest.truth
    references = (
        oracle_reference(truth, prepared.panel, [f.as_of for f in folds], prepared.target)
        if truth is not None
        else None
    )
    return backtest(
        models,
        prepared.panel,
        folds,
        coverages=spec.backtest.coverages,
        budgets=spec.backtest.budgets,
        references=references,
        progress=progress,
        seed=spec.backtest.seed,
    )


@dataclass(frozen=True)
class Selection:
    """Which model is published and why."""

    name: str
    reason: str
    cutoff: str
    scores: dict[str, float]


def coverage_label(coverage: float) -> str:
    """The cutoff label the evaluation uses for an area coverage, e.g. ``"1%"``."""
    return f"{coverage * 100:g}%"


def select_model(result: BacktestResult, spec: TrainingSpec) -> Selection:
    """The main model if its mean PAI at the selection coverage is at least the best
    baseline's; otherwise that best baseline."""
    main = spec.model.kind
    cutoff = coverage_label(spec.backtest.select_coverage)
    if cutoff not in {c.label for c in result.cutoffs}:
        raise ConfigError(
            f"select_coverage {spec.backtest.select_coverage} is not one of the backtest "
            f"coverages {list(spec.backtest.coverages)}"
        )
    pai = result.table(cutoff)["pai"]
    scores = {str(k): float(v) for k, v in pai.items() if pd.notna(v)}
    baselines = {k: v for k, v in scores.items() if k != main}
    if not baselines:
        return Selection(main, "no baseline to compare with", cutoff, scores)
    best = max(baselines, key=lambda k: (baselines[k], k))
    if scores.get(main, float("-inf")) >= baselines[best]:
        gain = scores[main] / baselines[best] if baselines[best] > 0 else float("inf")
        reason = (
            f"{main} PAI@{cutoff} {scores[main]:.2f} >= best baseline {best} "
            f"{baselines[best]:.2f} ({gain:.2f}x)"
        )
        return Selection(main, reason, cutoff, scores)
    reason = (
        f"{main} PAI@{cutoff} {scores.get(main, float('nan')):.2f} < best baseline {best} "
        f"{baselines[best]:.2f}: publishing {best} instead"
    )
    return Selection(best, reason, cutoff, scores)


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
        "selected": selection.name,
        "reason": selection.reason,
        "select_cutoff": selection.cutoff,
        "scores": selection.scores,
        "folds": spec.backtest.folds,
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


def default_report_dir(spec: TrainingSpec) -> Path:
    """Where ``hotspots backtest`` writes its report unless told otherwise."""
    return Path("reports") / spec.name
