"""`hotspots patrols import` and `hotspots report effectiveness`: the same records and the same
figures as the API (POST /v1/patrols, GET /v1/effectiveness)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.access.keys import KEYS_FILE, KeyStore
from hotspots.config import Settings
from hotspots.features import Panel
from hotspots.feedback.patrol_store import PatrolStore
from hotspots.forecasters import make_forecaster
from hotspots.ingest import write_events
from hotspots.publishing.plan_store import PlanStore
from hotspots.registry import Registry
from hotspots.service.app import create_app
from hotspots.serving.state import ServiceState
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

RunCli = Any
TARGET = "Burglary Residential"
WEEK = pd.Timestamp("2023-12-04")


def settings_of(root: Path) -> Settings:
    return Settings(
        models_dir=root / "models", state_dir=root / "state", events_path=root / "events.parquet"
    )


def served_root(root: Path, events: pd.DataFrame, panel: Panel, targets: dict[str, str]) -> Path:
    """A registry of one historical-mean model per ``targets`` (name -> category) and a
    state that served as_of 2023-12-04, then as_of 2024-01-01 once the rest of the year's
    events arrived."""
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
    return root


@pytest.fixture(scope="module")
def root(
    tmp_path_factory: pytest.TempPathFactory, year_city_events: pd.DataFrame, year_panel: Panel
) -> Path:
    """One burglary model served for two weeks (``served_root``)."""
    root = tmp_path_factory.mktemp("feedback_cli")
    return served_root(root, year_city_events, year_panel, {"burglary": TARGET})


def patrol_log(path: Path, cell: str, extra: str = "") -> Path:
    near = h3.grid_ring(cell, 1)[0]
    path.write_text(
        f"id,cells,start,end,unit{extra}\n"
        f"L1,{cell} {near},2023-12-05 10:00,2023-12-05 12:00,U1{',x' if extra else ''}\n"
        f"L2,{cell},2023-12-07 09:00,2023-12-07 09:30,U2{',x' if extra else ''}\n",
        encoding="utf-8",
    )
    return path


def busiest(year_panel: Panel) -> str:
    return h3.int_to_str(int(year_panel.cells[np.argmax(year_panel.of(TARGET).sum(axis=0))]))


def test_import_twice_stores_once_and_names_are_refused(
    run_cli: RunCli, root: Path, year_panel: Panel, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    log = patrol_log(tmp_path / "log.csv", busiest(year_panel))
    flags = ("--state-dir", state, "--models-dir", root / "models")
    first = run_cli("patrols", "import", log, *flags)
    assert first.code == 0, first.err
    assert "stored 2 patrols, 0 already stored, 0 rejected" in first.err
    again = run_cli("patrols", "import", log, *flags)
    assert "stored 0 patrols, 2 already stored" in again.err
    assert len(PatrolStore(state / "patrols").batches()) == 1
    named = patrol_log(tmp_path / "named.csv", busiest(year_panel), extra=",officer_name")
    refused = run_cli("patrols", "import", named, *flags)
    assert refused.code == 2 and "looks like a person's name" in refused.err


def test_the_report_matches_the_api(
    run_cli: RunCli,
    root: Path,
    year_panel: Panel,
    year_city_events: pd.DataFrame,
    tmp_path: Path,
) -> None:
    year_events = year_city_events
    state = ("--state-dir", root / "state", "--models-dir", root / "models")
    log = patrol_log(tmp_path / "log.csv", busiest(year_panel))
    assert run_cli("patrols", "import", log, *state).code == 0
    out = tmp_path / "report"
    res = run_cli(
        "report", "effectiveness", "--out", out, *state, "--events", root / "events.parquet"
    )
    assert res.code == 0, res.err
    assert "scored 1 served periods (1 pending)" in res.err
    periods = pd.read_csv(out / "periods.csv")
    served = periods.query("source == 'served'").set_index("cutoff")
    assert list(served.index) == ["5%", "1%"]  # the selection coverage first
    assert set(periods["source"]) == {"served", "last_period", "rolling_mean"}
    dosage = pd.read_csv(out / "dosage.csv")
    assert dosage["patrol_minutes"].tolist() == [150.0]
    html = (out / "effectiveness.html").read_text(encoding="utf-8")
    assert "realised PAI at 5%" in html and html.count("<img") == 2
    key = KeyStore(root / "state" / KEYS_FILE).create("r", ["forecasts:read"])[1]
    with TestClient(create_app(settings_of(root))) as client:
        body = client.get("/v1/effectiveness", headers={"Authorization": f"Bearer {key}"}).json()
    api = body["models"][0]["periods"][0]
    assert api["as_of"] == "2023-12-04" and api["dosage"]["patrol_minutes"] == 150.0
    for cutoff, row in served.iterrows():
        assert api["cutoffs"][cutoff]["served"]["pai"] == pytest.approx(row["pai"])
        assert api["cutoffs"][cutoff]["served"]["hits"] == row["hits"]
    # the served plan (6 areas of at most 1 km2, the default budget) beside the baselines'
    plans = pd.read_csv(out / "plans.csv").set_index("source")
    assert set(plans.index) == {"served", "last_period", "rolling_mean"}
    mine = plans.loc["served"]
    assert mine["areas"] == 6 and 0 < mine["area_km2"] <= 6.0
    assert 0 <= mine["plan_hits"] <= mine["n_events"]
    assert mine["plan_pai"] == pytest.approx(mine["plan_hit_rate"] / mine["area_share"])
    # it is the plan the service recorded when it published that week's forecast
    records = {r["period_start"]: r for r in PlanStore(root / "state" / "plans").read()}
    assert set(records) == {"2023-12-04", "2024-01-01"}
    stored = records["2023-12-04"]
    assert (mine["plan"], mine["etag"], mine["stop"]) == ("stored", stored["etag"], "cap")
    assert (plans["plan"] == "stored").all() and (plans["etag"] == stored["etag"]).all()
    [plan] = api["plans"]
    assert (plan["plan"], plan["etag"], plan["areas"], plan["max_area_km2"], plan["stop"]) == (
        "stored", stored["etag"], 6, 1.0, "cap"
    )  # fmt: skip
    assert plan["served"]["plan_hits"] == mine["plan_hits"]
    assert plan["served"]["plan_pai"] == pytest.approx(mine["plan_pai"])
    assert set(plan["baselines"]) == {"last_period", "rolling_mean"}
    # its hits are the week's target events in the recorded cells
    cells = {c for area in stored["areas"] for c in area["cells"]}
    local = year_events["occurred_at"].dt.tz_localize(None)
    week = year_events.loc[(local >= WEEK) & (local < WEEK + pd.Timedelta(days=7))]
    week = week.loc[week["category"] == TARGET]
    points = zip(week["lat"], week["lng"], strict=True)
    hits = sum(h3.latlng_to_cell(lat, lng, 8) in cells for lat, lng in points)
    assert mine["plan_hits"] == hits and mine["n_events"] == len(week)
    # which plans were evaluated, and the one whose week has not passed
    assert body["models"][0]["plans_evaluated"] == [
        {"plan": "stored", "areas": 6, "max_area_km2": 1.0, "total_km2": None, "stop": "cap",
         "plans": 1, "periods": 1}
    ]  # fmt: skip
    [later] = body["plans_not_scored"]
    assert later["etag"] == records["2024-01-01"]["etag"] and later["period_start"] == "2024-01-01"
    assert later["why"] == "its period is not scored (see pending)"
    assert "the served patrol plans and the baselines' plans" in html
    assert "Served plans not scored" in html
    unscored = pd.read_csv(out / "unscored_plans.csv")
    assert unscored["etag"].tolist() == [later["etag"]]


def test_the_default_plan_of_two_crime_types_is_scored_on_both(
    run_cli: RunCli,
    tmp_path_factory: pytest.TempPathFactory,
    year_city_events: pd.DataFrame,
    year_panel: Panel,
) -> None:
    other = next(c for c in year_panel.categories if c != TARGET)
    root = served_root(tmp_path_factory.mktemp("two_types"), year_city_events, year_panel,
                       {"burglary": TARGET, "other": other})  # fmt: skip
    records = {r["period_start"]: r for r in PlanStore(root / "state" / "plans").read()}
    stored = records["2023-12-04"]
    assert stored["params"]["types"] == ["burglary", "other"]
    out = root / "report"
    state = ("--state-dir", root / "state", "--models-dir", root / "models")
    res = run_cli(
        "report", "effectiveness", "--out", out, *state, "--events", root / "events.parquet"
    )
    assert res.code == 0, res.err
    plans = pd.read_csv(out / "plans.csv")
    both = plans.loc[plans["model"] == "burglary+other"].set_index("source")
    assert set(both.index) == {"served", "last_period", "rolling_mean"}
    assert (both["etag"] == stored["etag"]).all() and (both["plan"] == "stored").all()
    # its hits are the week's events of both types in the recorded cells
    cells = {c for area in stored["areas"] for c in area["cells"]}
    local = year_city_events["occurred_at"].dt.tz_localize(None)
    week = year_city_events.loc[(local >= WEEK) & (local < WEEK + pd.Timedelta(days=7))]
    week = week.loc[week["category"].isin([TARGET, other])]
    points = zip(week["lat"], week["lng"], strict=True)
    hits = sum(h3.latlng_to_cell(lat, lng, 8) in cells for lat, lng in points)
    assert both.loc["served", "plan_hits"] == hits and both.loc["served", "n_events"] == len(week)
    # no plan of one type was served: none is grown again for either model alone
    assert set(plans["model"]) == {"burglary+other"}
    key = KeyStore(root / "state" / KEYS_FILE).create("r", ["forecasts:read"])[1]
    with TestClient(create_app(settings_of(root))) as client:
        body = client.get("/v1/effectiveness", headers={"Authorization": f"Bearer {key}"}).json()
    [combined] = body["combined_plans"]
    assert combined["types"] == ["burglary", "other"]
    assert combined["plans_evaluated"] == [
        {"plan": "stored", "areas": 6, "max_area_km2": 1.0, "total_km2": None, "stop": "cap",
         "plans": 1, "periods": 1}
    ]  # fmt: skip
    [week_doc] = combined["periods"]
    [plan] = week_doc["plans"]
    assert week_doc["as_of"] == "2023-12-04" and plan["etag"] == stored["etag"]
    assert plan["served"]["plan_hits"] == hits
    assert set(plan["baselines"]) == {"last_period", "rolling_mean"}
    assert [m["plans_evaluated"] for m in body["models"]] == [[], []]
    html = (out / "effectiveness.html").read_text(encoding="utf-8")
    assert "burglary+other: the served plans of several crime types" in html
