"""A registry and a service state to retrain in (tests/jobs, tests/cli, tests/service).

The year city's events are split: those before ``cut`` are the export (an event table), the
rest sit in the service's event store as one posted batch (or are left for a test to post).
The champion is a historical-mean model of burglary (or ``champion_kind``) fitted on the weeks
before ``champion_until`` only (so on the cells that had events by then), and published as v1
(current) with the spec retrain reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hotspots.features import events_to_panel
from hotspots.forecasters import make_forecaster
from hotspots.ingest import write_events
from hotspots.ingest.event_store import EventStore
from hotspots.jobs.spec import TrainingSpec, read_spec
from hotspots.registry import Registry
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

TARGET = "Burglary Residential"
NAME = "burglary"


@dataclass(frozen=True)
class RetrainEnv:
    root: Path
    spec_file: Path
    spec: TrainingSpec
    registry: Registry
    posted: EventStore
    n_posted: int


def spec_text(export: Path, kind: str, baselines: tuple[str, ...]) -> str:
    """A small weekly spec, scored at 5% of the area (where a week of history is a worse
    guide than many), fast models only."""
    listed = ", ".join(f'"{b}"' for b in baselines)
    return f"""
name = "{NAME}"
[data]
events = "{export}"
map = "{COLUMN_MAP}"   # the columns of incidents posted to the service (the export is read as is)
timezone = "{TIMEZONE}"
[target]
categories = ["{TARGET}"]
[grid]
resolution = 8
period = "W"
[window]
until = "2023-06-05"   # retrain does not use it
[model]
kind = "{kind}"
baselines = [{listed}]
[backtest]
folds = 4
coverages = [0.05, 0.10]
select_coverage = 0.05
plan_areas = 0
"""


def make_env(
    root: Path,
    events: pd.DataFrame,
    *,
    kind: str = "historical_mean",
    baselines: tuple[str, ...] = ("last_period",),
    champion_until: str = "2023-01-09",
    cut: str = "2023-09-04",
    champion_kind: str = "historical_mean",
    post: bool = True,
) -> RetrainEnv:
    """Write the export, the posted batch (unless ``post`` is false: the events after ``cut``
    are then not written), the spec and the champion v1 under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    before = events["occurred_at"] < pd.Timestamp(cut, tz=TIMEZONE)
    export = root / "events.parquet"
    write_events(events.loc[before], export, {"timezone": TIMEZONE})
    posted = EventStore(root / "state" / "events")
    posted.folder.mkdir(parents=True)
    if post:
        batch = posted.folder / "batch-20240101T000000000000Z-00000001.parquet"
        write_events(events.loc[~before], batch, {"timezone": TIMEZONE, "batch": "test"})
    spec_file = root / "spec.toml"
    spec_file.write_text(spec_text(export, kind, baselines), encoding="utf-8")
    spec = read_spec(spec_file)
    panel = events_to_panel(events, 8, "W", end=pd.Timestamp(champion_until))
    champion = make_forecaster(champion_kind, target=(TARGET,)).fit(panel)
    registry = Registry(root / "models")
    registry.publish(NAME, champion, spec=spec.to_dict(), data={"timezone": TIMEZONE}, backtest={})
    n_posted = int((~before).sum()) if post else 0
    return RetrainEnv(root, spec_file, spec, registry, posted, n_posted)
