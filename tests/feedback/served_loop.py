"""The runaway loop run as a force would run it (``tests/feedback/test_runaway_served.py``):
each week the service's publishing code serves a forecast from the events recorded so far
(``publish_forecast`` into the snapshot store, as a publish does), patrols go to the cells it
flagged (their log imported with ``hotspots patrols import``), and with ``discovery`` the
patrols record extra events there, which the next week's forecast reads. The draws are
``feedback.simulation``'s (the city's stationary weekly rates, Poisson), so a run with and
one without discovery differ by the feedback alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.evaluation.metrics import flagged_count
from hotspots.features import events_to_panel
from hotspots.feedback.simulation import true_rates
from hotspots.forecasters import make_forecaster
from hotspots.grid import cells_to_latlng, cells_to_strings, strings_to_cells
from hotspots.ingest import write_events
from hotspots.ingest.schema import PRECISIONS
from hotspots.jobs.forecast import history_panel
from hotspots.publishing.forecast_document import publish_forecast
from hotspots.publishing.snapshot_store import SnapshotStore
from hotspots.registry import Registry
from hotspots.synthetic import TIMEZONE, City

CATEGORY = "Burglary Residential"
NAME = "burglary"
SPEC = {"data": {"timezone": TIMEZONE}, "model": {"baselines": ["historical_mean"]}}


@dataclass(frozen=True)
class ServedLoop:
    """Where a run left the service's records, and which weeks patrols acted in."""

    root: Path
    weeks: pd.DatetimeIndex
    """The weeks served, one publish each."""
    patrols_from: pd.Timestamp
    """The first week discovery could act in."""
    flagged: npt.NDArray[np.uint64]
    """The cells patrolled per week served (weeks x k)."""


def recorded_events(cells: npt.NDArray[np.uint64], counts: npt.ArrayLike, week: pd.Timestamp,
                    first_id: int) -> pd.DataFrame:  # fmt: skip
    """``counts`` events per cell in ``week`` at the cell's centre, spread over the week."""
    per_cell = np.asarray(counts, dtype=np.int64)
    where = np.repeat(cells, per_cell)
    lat, lng = cells_to_latlng(where)
    n = where.size
    minutes = (np.arange(n) * 7919) % (7 * 24 * 60 - 1)  # spread, deterministic
    local = pd.Timestamp(week) + pd.to_timedelta(minutes, unit="min")
    return pd.DataFrame(
        {
            "event_id": pd.array([f"E{first_id + i}" for i in range(n)], dtype="string"),
            "occurred_at": pd.DatetimeIndex(local).tz_localize(TIMEZONE).as_unit("ns"),
            "time_precision": pd.Categorical(["minute"] * n, categories=PRECISIONS, ordered=True),
            "lat": lat,
            "lng": lng,
            "category": pd.array([CATEGORY] * n, dtype="string"),
            "origin": pd.array(["call"] * n, dtype="string"),
            "source_row": np.arange(first_id, first_id + n, dtype=np.int64),
        }
    )


def serve_loop(
    city: City,
    root: Path,
    import_patrols: Callable[[Path, Path], Any],
    *,
    discovery: float,
    history: int = 20,
    reference_periods: int = 12,
    seed: int = 0,
) -> ServedLoop:
    """Serve every week of ``city`` from week ``history - reference_periods`` on, as the
    service would, into ``root`` (``models``, ``state``, ``events.parquet``); patrols
    (two hours a flagged cell each Tuesday) act from week ``history``.
    ``import_patrols(log, root)`` stores the patrol log (``hotspots patrols import``)."""
    rates, starts = true_rates(city)
    rng = np.random.default_rng(seed)
    base = rng.poisson(rates)
    extra = rng.poisson(rates * discovery)
    cells = np.asarray(city.cells, dtype=np.uint64)
    begin = history - reference_periods
    events = recorded_events(cells, base[0], starts[0], 0)
    for t in range(1, begin):  # the weeks before the first one served
        events = pd.concat(
            [events, recorded_events(cells, base[t], starts[t], len(events))], ignore_index=True
        )
    panel = events_to_panel(events, city.area.resolution, "W", study_area=city.area)
    model = make_forecaster("rolling_mean", target=(CATEGORY,)).fit(panel)
    registry = Registry(root / "models")
    registry.publish(NAME, model, spec=SPEC, data={"timezone": TIMEZONE}, backtest={})
    store = SnapshotStore(root / "state" / "snapshots")
    k = flagged_count(cells.size, 0.01)
    flagged, log = [], []
    for t in range(begin, len(starts)):
        week = pd.Timestamp(starts[t])
        now, _ = history_panel(model, events, as_of=week)
        snapshot = publish_forecast(model, now, name=NAME, version="v1", as_of=week)
        store.save(snapshot)
        served = json.loads(store.load(NAME, week).bytes)["hotspots"]
        ranked = sorted(served, key=lambda h: int(h["rank"]))
        top = strings_to_cells(str(h["cell"]) for h in ranked[:k])
        flagged.append(top)
        tuesday = (week + pd.Timedelta(days=1, hours=10)).strftime("%Y-%m-%d %H:%M")
        until = (week + pd.Timedelta(days=1, hours=12)).strftime("%Y-%m-%d %H:%M")
        log += [f"W{t}-{c},{c},{tuesday},{until}" for c in cells_to_strings(top)]
        counts = base[t] + (extra[t] * np.isin(cells, top) if t >= history else 0)
        week_events = recorded_events(cells, counts, week, len(events))
        events = pd.concat([events, week_events], ignore_index=True)
    write_events(events, root / "events.parquet", {"timezone": TIMEZONE})
    path = root / "patrols.csv"
    path.write_text("id,cells,start,end\n" + "\n".join(log) + "\n", encoding="utf-8")
    import_patrols(path, root)
    weeks = pd.DatetimeIndex(starts[begin:])
    return ServedLoop(root, weeks, pd.Timestamp(starts[history]), np.stack(flagged))
