"""Publishing a trained model: the one step ``hotspots train`` (serial or on a cluster) and
``hotspots retrain`` share, so every version has the same manifest, card and report."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hotspots.evaluation import BacktestResult, write_report
from hotspots.feedback.monitor_report import MANIFEST_KEY, training_record
from hotspots.forecasters import Forecaster
from hotspots.jobs.spec import TrainingSpec
from hotspots.jobs.train import Selection, backtest_record, feature_importances
from hotspots.registry import Registry
from hotspots.registry.store import VersionInfo


def publish_trained(
    registry: Registry,
    spec: TrainingSpec,
    result: BacktestResult,
    selection: Selection,
    final: Forecaster,
    data: Mapping[str, Any],
    meta: Mapping[str, Any],
    *,
    promote: bool,
    notes: Mapping[str, Any] | None = None,
) -> VersionInfo:
    """Write ``final`` as the next version of ``spec.name``: its manifest (the backtest
    record and the training-time monitor of ``selection.name``, plus ``notes``), model card
    and backtest report; ``promote`` makes it current."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_report(
            result,
            Path(tmp),
            title=f"hotspots backtest: {spec.name}",
            meta=meta,
            feature_importance=feature_importances(result),
        )
        return registry.publish(
            spec.name,
            final,
            spec=spec.to_dict(),
            data=data,
            backtest=backtest_record(result, selection, spec),
            notes={MANIFEST_KEY: training_record(result, selection.name), **(notes or {})},
            promote=promote,
            extra_files=paths,
        )
