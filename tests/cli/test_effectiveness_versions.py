"""A retrain promoted mid-week: the plan served before it is compared with the forecast of
the model version it was built from, not with the last one issued for its week."""

from __future__ import annotations

import json
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.config import Settings
from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.grid import cells_area_km2, strings_to_cells
from hotspots.grid.regions import top_cells_sum_at_area
from hotspots.ingest import write_events
from hotspots.publishing.plan_store import PlanStore
from hotspots.publishing.snapshot_store import SnapshotStore
from hotspots.registry import Registry
from hotspots.serving.realised import realised_from_records
from hotspots.serving.state import ServiceState
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

TARGET = "Burglary Residential"
WEEK = pd.Timestamp("2023-12-04")
SPEC = {
    "data": {"map": COLUMN_MAP, "timezone": TIMEZONE},
    "model": {"kind": "historical_mean", "baselines": ["last_period"]},
    "backtest": {"coverages": [0.01], "select_coverage": 0.01},
}


def test_a_plan_is_compared_with_the_forecast_of_its_version(
    tmp_path: Path, year_city_events: pd.DataFrame, year_panel: Panel
) -> None:
    settings = Settings(
        models_dir=tmp_path / "models", state_dir=tmp_path / "state",
        events_path=tmp_path / "events.parquet",
    )  # fmt: skip
    registry = Registry(settings.models_dir)
    local = year_city_events["occurred_at"].dt.tz_localize(None)
    early = year_city_events.loc[local < WEEK].reset_index(drop=True)
    write_events(early, settings.events_path, {"timezone": TIMEZONE})
    # v1 (a historical mean) serves the week and its default plan; then v2 (last period) is
    # promoted and served for the same week, with a plan of its own
    for kind in ("historical_mean", "last_period"):
        model = make_forecaster(kind, target=(TARGET,)).fit(year_panel, WEEK)
        registry.publish("burglary", model, spec=SPEC, data={"timezone": TIMEZONE}, backtest={})
        ServiceState(settings).load_all()
    metas = SnapshotStore(settings.state_dir / "snapshots").list("burglary")
    assert [(m["as_of"], m["version"]) for m in metas] == [
        ("2023-12-04", "v1"),
        ("2023-12-04", "v2"),
    ]
    records = {r["models"]["burglary"]: r for r in PlanStore(settings.state_dir / "plans").read()}
    assert set(records) == {"v1", "v2"}
    write_events(year_city_events, settings.events_path, {"timezone": TIMEZONE})
    realised = realised_from_records(settings)
    served = realised.periods.query("source == 'served' and horizon == 1")
    assert served["version"].tolist() == ["v2"]  # the forecast scored: the last issued
    rows = realised.plans.query("source == 'served' and horizon == 1").set_index("etag")
    # by hand: the week's burglaries on the study cells, and each version's expected counts
    # as its snapshot served them
    snapshots = SnapshotStore(settings.state_dir / "snapshots")
    expected = {}
    for meta in metas:
        stored = snapshots.load("burglary", WEEK, meta["issued_at"])
        doc = json.loads(stored.bytes)["hotspots"]
        expected[meta["version"]] = pd.Series(
            [float(h["expected_count"]) for h in doc], index=[h["cell"] for h in doc]
        )
    cells = np.sort(strings_to_cells(expected["v1"].index))
    names = [h3.int_to_str(int(c)) for c in cells]
    week = year_city_events.loc[(local >= WEEK) & (local < WEEK + pd.Timedelta(days=7))]
    week = week.loc[week["category"] == TARGET]
    found = pd.Series(
        [h3.latlng_to_cell(a, b, 8) for a, b in zip(week["lat"], week["lng"], strict=True)]
    ).value_counts()
    actual = found.reindex(names, fill_value=0).to_numpy(float)
    km2 = cells_area_km2(cells)
    tops = {}
    for version, record in records.items():
        row = rows.loc[record["etag"]]
        score = expected[version].reindex(names, fill_value=0.0).to_numpy(float)
        tops[version] = top_cells_sum_at_area(actual, score, km2, float(row["area_km2"]))
        assert row["top_hits"] == pytest.approx(tops[version]), version
        in_plan = np.isin(names, [c for a in record["areas"] for c in a["cells"]])
        assert row["plan_hits"] == int(actual[in_plan].sum())
    # the two versions' top cells differ, so comparing v1's plan with v2's would be wrong
    v1_area = float(rows.loc[records["v1"]["etag"], "area_km2"])
    score_v2 = expected["v2"].reindex(names, fill_value=0.0).to_numpy(float)
    assert tops["v1"] != pytest.approx(top_cells_sum_at_area(actual, score_v2, km2, v1_area))
