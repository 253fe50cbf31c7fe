"""What the service tests that change state share (fixtures in conftest.py build it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hotspots.access.keys import KEYS_FILE, KeyStore
from hotspots.config import Settings
from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.ingest import write_events
from hotspots.registry import Registry
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

TARGET = "Burglary Residential"


@dataclass(frozen=True)
class Env:
    root: Path
    read: str
    write: str
    cell: str
    lat: float
    lng: float


def settings_of(root: Path, **extra: object) -> Settings:
    return Settings(
        models_dir=root / "models",
        state_dir=root / "state",
        events_path=root / "events.parquet",
        **extra,  # type: ignore[arg-type]
    )


def key_store(root: Path) -> KeyStore:
    """The key store of an app built with ``settings_of(root)``."""
    return KeyStore(settings_of(root).state_dir / KEYS_FILE)


def publish_historical_mean(root: Path, events: pd.DataFrame, panel: Panel) -> None:
    """Write ``events`` to ``root/events.parquet`` and publish, as the current version of
    "burglary", a historical-mean model of TARGET that reads the synthetic export's columns."""
    write_events(events, root / "events.parquet", {"timezone": TIMEZONE})
    model = make_forecaster("historical_mean", target=(TARGET,)).fit(panel)
    spec = {"data": {"map": COLUMN_MAP, "timezone": TIMEZONE}}
    Registry(root / "models").publish(
        "burglary", model, spec=spec, data={"timezone": TIMEZONE}, backtest={}
    )
