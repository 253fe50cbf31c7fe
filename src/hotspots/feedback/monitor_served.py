"""The monitor of a model in use, from the service's record: the forecasts it served (the
snapshot store, the last one issued per period) and the events it holds, counted over the
model's cells. ``GET /v1/monitor`` and ``hotspots report effectiveness`` both reach
``model_monitor`` (through ``serving.monitor``); neither builds a panel itself."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import DataValidationError
from hotspots.features import Panel
from hotspots.feedback.dosage import patrols_to_dosage
from hotspots.feedback.monitor import Monitor
from hotspots.feedback.monitor_groups import GroupLayer
from hotspots.feedback.monitor_reference import Reference, self_reference
from hotspots.feedback.monitor_report import served_monitor, thresholds_asked
from hotspots.feedback.served import SnapshotReader, last_issued, served_forecast
from hotspots.forecasters import Forecaster
from hotspots.grid import cells_resolution
from hotspots.jobs.forecast import history_panel
from hotspots.publishing.served import recent_counts
from hotspots.publishing.snapshot import iso_local, strong_etag


@dataclass(frozen=True, eq=False)
class ModelMonitor:
    """The monitor of one model version in use: what ``/v1/monitor`` serves and the
    effectiveness report writes."""

    name: str
    version: str
    as_of: pd.Timestamp
    periods_served: int
    monitor: Monitor

    def to_dict(self) -> dict[str, Any]:
        """The ``/v1/monitor`` document as a JSON-able dict."""
        return {
            "model": self.name,
            "version": self.version,
            "as_of": iso_local(self.as_of),
            "periods_served": self.periods_served,
            **self.monitor.to_dict(),
        }

    def document(self) -> tuple[bytes, bytes, str]:
        """The document's JSON bytes, their gzip and a strong ETag."""
        data = json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False).encode()
        return data, gzip.compress(data, mtime=0), strong_etag(data)


def model_monitor(
    name: str,
    version: str,
    model: Forecaster,
    manifest: Mapping[str, Any],
    events: pd.DataFrame,
    store: SnapshotReader,
    n_periods: int,
    *,
    groups: GroupLayer | None = None,
    patrols: pd.DataFrame | None = None,
    timezone: str = "UTC",
    overrides: Mapping[str, int | None] | None = None,
) -> ModelMonitor:
    """The monitor of ``model`` (version ``version`` of ``name``) over the last ``n_periods``
    whole periods of ``events``. ``patrols`` (the patrol store's table; times counted in
    ``timezone``, the events'): the dosage, whose patrolled cells count as prior cells and
    get their own figures. ``overrides``: thresholds (``window``, ``repeat``) to use instead
    of those the manifest recorded (``served_monitor`` says what that does to the reference).
    The P periods before them are read too, when served, for the first ones' prior cells."""
    panel, as_of = history_panel(model, events)
    cells = np.asarray(model.cells_, dtype=np.uint64)
    window = thresholds_asked(manifest, overrides)[0].window
    counts, periods = recent_counts(panel, cells, model.target_, n_periods + window)
    history = max(0, len(periods) - n_periods)
    ranked = served_rankings(store, name, pd.DatetimeIndex(periods))
    _check_grid(name, version, cells, ranked)
    starts = pd.DatetimeIndex(periods)[history:]
    dosage = (
        None
        if patrols is None
        else patrols_to_dosage(patrols, panel.freq, timezone, panel.resolution)
    )
    early = _first_window(
        name, store, panel, (cells, model.target_), starts, manifest, dosage, overrides
    )
    found = served_monitor(
        cells,
        pd.DatetimeIndex(periods),
        counts.T,
        ranked,
        manifest,
        dosage=dosage,
        groups=groups,
        overrides=overrides,
        first_window=early,
        history=history,
    )
    served = sum(p in ranked for p in starts)
    return ModelMonitor(name, version, pd.Timestamp(as_of), served, found)


def _first_window(
    name: str,
    store: SnapshotReader,
    panel: Panel,
    grid: tuple[npt.NDArray[np.uint64], tuple[str, ...]],
    starts: pd.DatetimeIndex,
    manifest: Mapping[str, Any],
    dosage: pd.DataFrame | None,
    overrides: Mapping[str, int | None] | None,
) -> Reference | None:
    """Without a training-time reference that applies (or one that measured no repeat
    share), the first full window of everything
    ``name`` served, when the periods monitored (``starts``) begin after its first served
    period (None otherwise, or when those periods were served on another grid): a series'
    own first window moves with the periods read, and once a loop has run for longer than
    they reach back it would be its own reference and never be flagged. Patrolled cells
    count as prior cells there as in the periods monitored."""
    cells, target = grid  # the model's cells and target categories
    th, reference, _ = thresholds_asked(manifest, overrides)
    first = min((pd.Timestamp(a) for a in last_issued(store, name)), default=None)
    whole = reference is not None and reference.repeat_share is not None
    if whole or first is None or not len(starts) or first >= starts[0]:
        return None
    span = int((pd.DatetimeIndex(panel.periods) >= first).sum())
    counts, periods = recent_counts(panel, cells, target, span)
    early = pd.DatetimeIndex(periods)[: 3 * (th.window + th.pool)]  # enough to find one
    ranked = served_rankings(store, name, early)
    try:
        _check_grid(name, "", cells, ranked)
    except DataValidationError:
        return None
    found = served_monitor(
        cells, early, counts.T[: len(early)], ranked, manifest, dosage=dosage, overrides=overrides
    )
    return self_reference(found.periods, found.thresholds)


def _check_grid(
    name: str, version: str, cells: npt.NDArray[np.uint64], ranked: Mapping[pd.Timestamp, Any]
) -> None:
    """Raise ``DataValidationError`` when a period's served cells are none of the model's
    (a version on another grid served it): its flags would silently count as none."""
    for period, order in ranked.items():
        if len(order) and not np.isin(order, cells).any():
            raise DataValidationError(
                f"the forecast of {name!r} served for {period.date()} holds none of the "
                f"{cells.size} cells of version {version} (resolution "
                f"{cells_resolution(order[:1])} served, {cells_resolution(cells[:1])} now): "
                "it was served on another grid; monitor with a version on the same grid"
            )


def served_rankings(
    store: SnapshotReader, name: str, periods: pd.DatetimeIndex
) -> Mapping[pd.Timestamp, npt.NDArray[np.uint64]]:
    """The cells served for each of ``periods`` (rank 1 first), from the last snapshot
    issued for it; periods never served are absent."""
    wanted = {iso_local(p) for p in periods}
    return {
        pd.Timestamp(as_of): served_forecast(store, name, meta).ranked
        for as_of, meta in last_issued(store, name).items()
        if as_of in wanted
    }
