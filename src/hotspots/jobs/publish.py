"""Publishing a trained model: the one step ``hotspots train`` (serial or on a cluster) and
``hotspots retrain`` share, so every version has the same manifest, card and report."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hotspots.evaluation import BacktestResult, ReportText, write_report_text
from hotspots.feedback.monitor_report import MANIFEST_KEY, training_record
from hotspots.forecasters import Forecaster
from hotspots.jobs.spec import TrainingSpec
from hotspots.jobs.train import Selection, backtest_record, backtest_report
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
    report: ReportText | None = None,
) -> VersionInfo:
    """Write ``final`` as the next version of ``spec.name``: its manifest (the backtest
    record and the training-time monitor of ``selection.name``, plus ``notes``), model card
    and backtest ``report`` (rendered here unless given: ``backtest_report``); ``promote``
    makes it current."""
    text = report if report is not None else backtest_report(spec, result, meta)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_report_text(text, Path(tmp))
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
