"""A small served registry shared by the service tests that change state: the year city's
events, one historical-mean burglary model reading the synthetic export's columns, and a
read key and a write key."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from served_env import TARGET, Env, key_store, publish_historical_mean

from hotspots.features import Panel
from hotspots.grid import cells_to_latlng, cells_to_strings


@pytest.fixture(scope="module")
def base_env(
    tmp_path_factory: pytest.TempPathFactory, year_city_events: pd.DataFrame, year_panel: Panel
) -> Env:
    """The year city's events (through Sunday 2023-12-31) and a historical-mean model."""
    root = tmp_path_factory.mktemp("events_api")
    publish_historical_mean(root, year_city_events, year_panel)
    store = key_store(root)
    read = store.create("r", ["forecasts:read"])[1]
    write = store.create("w", ["events:write"])[1]
    cell = int(year_panel.cells[np.argmax(year_panel.of(TARGET).sum(axis=0))])
    lat, lng = cells_to_latlng(np.array([cell], dtype=np.uint64))
    return Env(root, read, write, str(cells_to_strings([cell])[0]), float(lat[0]), float(lng[0]))


@pytest.fixture
def env_copy(base_env: Env, tmp_path: Path) -> Env:
    """A private copy (posts change the state folder)."""
    for part in ("models", "state"):
        shutil.copytree(base_env.root / part, tmp_path / part)
    shutil.copy(base_env.root / "events.parquet", tmp_path / "events.parquet")
    return Env(tmp_path, base_env.read, base_env.write, base_env.cell, base_env.lat, base_env.lng)
