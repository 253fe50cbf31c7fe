"""A service state that served real forecasts and plans, for the effectiveness tests: a
registry of historical-mean models (one per crime type), the weeks they served and the plans
recorded, built as a starting service and its clients build them."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from hotspots.access.keys import KEYS_FILE, KeyStore
from hotspots.config import Settings
from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.ingest import write_events
from hotspots.registry import Registry
from hotspots.service.app import create_app
from hotspots.serving.state import ServiceState
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

WEEK = pd.Timestamp("2023-12-04")
"""The first as_of served."""


def settings_of(root: Path) -> Settings:
    """The settings of a service (and report) over ``root``'s registry, state and export."""
    return Settings(
        models_dir=root / "models", state_dir=root / "state", events_path=root / "events.parquet"
    )


def served_root(
    root: Path,
    events: pd.DataFrame,
    panel: Panel,
    targets: dict[str, str],
    ahead: str | Sequence[str] | None = None,
) -> Path:
    """A registry of one historical-mean model per ``targets`` (name -> category) and a
    state that served as_of 2023-12-04, then as_of 2024-01-01 once the rest of the year's
    events arrived. ``ahead``: plan queries (``horizon=2&areas=1``) also asked of the first
    service, so those plans (for a later period, of some types) are recorded too."""
    queries = [ahead] if isinstance(ahead, str) else list(ahead or ())
    spec = {
        "data": {"map": COLUMN_MAP, "timezone": TIMEZONE},
        "model": {"kind": "historical_mean", "baselines": ["last_period", "rolling_mean"]},
        "backtest": {"coverages": [0.01, 0.05], "select_coverage": 0.05},
    }
    for name, target in targets.items():
        model = make_forecaster("historical_mean", target=(target,)).fit(panel)
        Registry(root / "models").publish(
            name, model, spec=spec, data={"timezone": TIMEZONE}, backtest={}
        )
    local = events["occurred_at"].dt.tz_localize(None)
    for some in (events.loc[local < WEEK], events):
        write_events(some.reset_index(drop=True), root / "events.parquet", {"timezone": TIMEZONE})
        ServiceState(settings_of(root)).load_all()  # publishes as a starting service does
        if queries and len(some) < len(events):
            key = KeyStore(root / "state" / KEYS_FILE).create("p", ["forecasts:read"])[1]
            with TestClient(create_app(settings_of(root))) as client:
                for query in queries:
                    got = client.get(
                        f"/v1/plans/latest?{query}", headers={"Authorization": f"Bearer {key}"}
                    )
                    assert got.status_code == 200, got.text
    return root


def halves(path: Path, lat0: float, lng0: float, lat1: float, lng1: float) -> Path:
    """An area layer of the box's west and east halves (fields ``side`` and ``people``: 1000
    and 3000) written to ``path``."""
    mid = (lng0 + lng1) / 2

    def square(w: float, e: float) -> list[list[list[float]]]:
        # GeoJSON positions are (lng, lat)
        return [[[w, lat0], [e, lat0], [e, lat1], [w, lat1], [w, lat0]]]

    features = [
        {
            "type": "Feature",
            "properties": {"side": side, "people": people},
            "geometry": {"type": "Polygon", "coordinates": square(w, e)},
        }
        for side, people, (w, e) in (("west", 1000, (lng0, mid)), ("east", 3000, (mid, lng1)))
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path
