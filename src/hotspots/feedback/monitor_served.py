"""The monitor of a model in use, from the service's record: the forecasts it served (the
snapshot store, the last one issued per period) and the events it holds, counted over the
model's cells. The service calls ``monitor_document``; it builds no panel itself."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.feedback.dosage import patrols_to_dosage
from hotspots.feedback.monitor_groups import GroupLayer
from hotspots.feedback.monitor_report import served_monitor
from hotspots.feedback.served import SnapshotReader, last_issued, served_forecast
from hotspots.jobs.forecast import history_panel
from hotspots.publishing.served import Served, recent_counts
from hotspots.publishing.snapshot import iso_local, strong_etag


def monitor_document(
    served: Served,
    events: pd.DataFrame,
    store: SnapshotReader,
    n_periods: int,
    groups: GroupLayer | None = None,
    patrols: pd.DataFrame | None = None,
    timezone: str = "UTC",
) -> tuple[bytes, bytes, str]:
    """The ``/v1/monitor`` document of ``served``: JSON bytes, their gzip and a strong ETag.
    ``patrols`` (the patrol store's table; times counted in ``timezone``, the events'): the
    dosage, whose patrolled cells count as prior cells and get their own figures."""
    panel, as_of = history_panel(served.model, events)
    counts, periods = recent_counts(panel, served.cells, served.model.target_, n_periods)
    starts = pd.DatetimeIndex(periods)
    ranked = served_rankings(store, served.name, starts)
    dosage = (
        None
        if patrols is None
        else patrols_to_dosage(patrols, panel.freq, timezone, panel.resolution)
    )
    found = served_monitor(
        served.cells, starts, counts.T, ranked, served.manifest, dosage=dosage, groups=groups
    )
    body = {
        "model": served.name,
        "version": served.version,
        "as_of": iso_local(as_of),
        "periods_served": len(ranked),
        **found.to_dict(),
    }
    data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    return data, gzip.compress(data, mtime=0), strong_etag(data)


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
