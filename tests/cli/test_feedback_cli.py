"""`hotspots patrols import` and `hotspots report effectiveness`: the same records and the same
figures as the API (POST /v1/patrols, GET /v1/effectiveness)."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.access.keys import KEYS_FILE, KeyStore
from hotspots.features import Panel
from hotspots.feedback.patrol_store import PatrolStore
from hotspots.publishing.plan_store import PlanStore
from hotspots.service.app import create_app
from hotspots.service.schemas_feedback import Effectiveness
from served_state import WEEK, served_root, settings_of

with warnings.catch_warnings():  # starlette asks for httpx2, which is not a dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

RunCli = Any
TARGET = "Burglary Residential"
AHEAD = "horizon=2&areas=1&max_area_km2=1"
"""A plan for the week after the next (11 December, as of 4 December): one area."""


@pytest.fixture(scope="module")
def root(
    tmp_path_factory: pytest.TempPathFactory, year_city_events: pd.DataFrame, year_panel: Panel
) -> Path:
    """One burglary model served for two weeks (``served_root``)."""
    root = tmp_path_factory.mktemp("feedback_cli")
    return served_root(root, year_city_events, year_panel, {"burglary": TARGET}, AHEAD)


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


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("header.csv", "id,cells,start,end,unit\n", "header.csv has a header but no data rows"),
        ("empty.jsonl", "", "empty.jsonl is empty"),
    ],
    ids=["csv-header", "jsonl-empty"],
)
def test_import_of_a_log_without_rows_is_one_line_and_exit_2(
    run_cli: RunCli, root: Path, tmp_path: Path, name: str, text: str, said: str
) -> None:
    # as `hotspots ingest` refuses an export with no rows: nothing stored, exit 2
    state = tmp_path / "state"
    log = tmp_path / name
    log.write_text(text, encoding="utf-8")
    res = run_cli("patrols", "import", log, "--state-dir", state, "--models-dir", root / "models")
    assert res.code == 2
    assert said in res.err and "stored" not in res.err
    assert PatrolStore(state / "patrols").batches() == []


def test_import_reads_a_semicolon_log_as_ingest_reads_a_semicolon_export(
    run_cli: RunCli, root: Path, year_panel: Panel, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    comma = patrol_log(tmp_path / "comma.csv", busiest(year_panel))
    semicolon = tmp_path / "semicolon.csv"
    semicolon.write_text(comma.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    res = run_cli(
        "patrols", "import", semicolon, "--state-dir", state, "--models-dir", root / "models"
    )
    assert res.code == 0, res.err
    assert "read 2 rows of semicolon.csv: stored 2 patrols, 0 already stored, 0 rejected" in (
        res.err
    )
    patrols = PatrolStore(state / "patrols").read()
    assert patrols["patrol_id"].tolist() == ["L1", "L2"]
    assert patrols["minutes"].tolist() == [120.0, 30.0]
    assert [len(c) for c in patrols["cells"]] == [2, 1]


def test_import_names_the_areas_of_the_plans_the_service_served(
    run_cli: RunCli, root: Path, tmp_path: Path
) -> None:
    # the service recorded its default plan of each publish (as of 4 December, then 1 January)
    # and a one-area plan two weeks ahead asked of the first: a log of December's patrols
    # imported now names December's default plan, which is no longer served and no file
    state = tmp_path / "state"
    shutil.copytree(root / "state" / "plans", state / "plans")
    published = {
        r["as_of"]: r for r in PlanStore(state / "plans").read() if r["first"] == "published"
    }
    assert sorted(published) == ["2023-12-04", "2024-01-01"]
    log = tmp_path / "december.csv"
    log.write_text(
        "id,area,start,end\n"
        "D1,2023-12-04/1,2023-12-05 10:00,2023-12-05 12:00\n"
        "D2,2023-12-04/2,2023-12-06 10:00,2023-12-06 11:00\n",
        encoding="utf-8",
    )
    res = run_cli("patrols", "import", log, "--state-dir", state, "--models-dir", root / "models")
    assert res.code == 0, res.err
    assert "stored 2 patrols, 0 already stored, 0 rejected" in res.err
    cells = PatrolStore(state / "patrols").read().set_index("patrol_id")["cells"]
    for patrol, area in (("D1", 0), ("D2", 1)):  # the default plan's, not the one-area plan's
        want = published["2023-12-04"]["areas"][area]["cells"]
        assert sorted(cells[patrol].tolist()) == sorted(h3.str_to_int(c) for c in want)


def test_import_shows_each_reason_with_example_rows_and_never_a_unit(
    run_cli: RunCli, root: Path, year_panel: Panel, tmp_path: Path
) -> None:
    cell = busiest(year_panel)
    log = tmp_path / "mixed.csv"
    log.write_text(
        "id,cells,start,end,unit\n"
        f"G1,{cell},2023-12-05 10:00,2023-12-05 12:00,U1\n"
        f"B1,{cell},yesterday,2023-12-05 12:00,U2\n"
        f"B2,{cell},2023-12-05 10:00,2023-12-05 09:00,U3\n"
        f"B3,{cell},2023-12-06 10:00,2023-12-06 11:00,Jane Doe\n"
        f"B4,{cell},2023-12-06 10:00,31/02/2023 12:00,U4\n"
        f"G1,{cell},2023-12-07 10:00,2023-12-07 11:00,U5\n",
        encoding="utf-8",
    )
    flags = ("--state-dir", tmp_path / "state", "--models-dir", root / "models")
    kept = run_cli("patrols", "import", log, *flags, "--max-reject", "1", columns="300")
    assert kept.code == 0, kept.err
    rows = [line for line in kept.err.splitlines() if "rejected:" in line]
    lines = {line.split("│")[1].strip(): line for line in rows}
    assert set(lines) == {
        "rejected: unparseable_time", "rejected: end_not_after_start", "rejected: bad_unit",
        "rejected: duplicate_id",
    }  # fmt: skip
    unparseable = lines["rejected: unparseable_time"]
    assert "│    2 │" in unparseable
    assert "e.g. row 2 (start='yesterday', end='2023-12-05 12:00'), row 5 (start=" in unparseable
    assert "end='31/02/2023 12:00')" in unparseable
    assert (
        "e.g. row 3 (start='2023-12-05 10:00', end='2023-12-05 09:00')"
        in lines["rejected: end_not_after_start"]
    )
    assert lines["rejected: bad_unit"].rstrip(" │").endswith("spaces); e.g. row 4")
    assert "e.g. row 6 (id='G1')" in lines["rejected: duplicate_id"]
    assert "stored 1 patrols, 0 already stored, 5 rejected" in kept.err
    # no unit, a name written there or a well-formed code, is ever printed
    refused = run_cli("patrols", "import", log, *flags)
    assert refused.code == 2 and "rejected: bad_unit" in refused.err
    for said in (kept.err + kept.out, refused.err + refused.out):
        assert "Jane" not in said and "Doe" not in said
        assert re.search(r"\bU[1-5]\b", said) is None, said


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
    # as of 4 December: the next week and 3 later ones (the service forecasts 4 ahead);
    # as of 1 January, none has passed
    assert "scored 4 served periods (1 next, 3 later; 4 pending)" in res.err
    periods = pd.read_csv(out / "periods.csv")
    served = periods.query("source == 'served' and horizon == 1").set_index("cutoff")
    assert list(served.index) == ["5%", "1%"]  # the selection coverage first
    assert set(periods["source"]) == {"served", "last_period", "rolling_mean"}
    dosage = pd.read_csv(out / "dosage.csv")
    assert dosage["patrol_minutes"].tolist() == [150.0]
    html = (out / "effectiveness.html").read_text(encoding="utf-8")
    assert "realised PAI at 5%" in html and html.count("<img") == 3  # PAI, dosage, monitor
    assert 'alt="feedback-loop monitor of burglary"' in html
    key = KeyStore(root / "state" / KEYS_FILE).create("r", ["forecasts:read"])[1]
    with TestClient(create_app(settings_of(root))) as client:
        body = client.get("/v1/effectiveness", headers={"Authorization": f"Bearer {key}"}).json()
    api = body["models"][0]["periods"][0]
    assert api["as_of"] == "2023-12-04" and api["dosage"]["patrol_minutes"] == 150.0
    for cutoff, row in served.iterrows():
        assert api["cutoffs"][cutoff]["served"]["pai"] == pytest.approx(row["pai"])
        assert api["cutoffs"][cutoff]["served"]["hits"] == row["hits"]
    # the served plan (6 areas of at most 1 km2, the default budget) beside the baselines'
    plans = pd.read_csv(out / "plans.csv").query("horizon == 1").set_index("source")
    assert set(plans.index) == {"served", "last_period", "rolling_mean"}
    mine = plans.loc["served"]
    assert mine["areas"] == 6 and 0 < mine["area_km2"] <= 6.0
    assert 0 <= mine["plan_hits"] <= mine["n_events"]
    assert mine["plan_pai"] == pytest.approx(mine["plan_hit_rate"] / mine["area_share"])
    # it is the plan the service recorded when it published that week's forecast
    records = {
        (r["period_start"], r["params"]["horizon"]): r
        for r in PlanStore(root / "state" / "plans").read()
    }
    assert set(records) == {("2023-12-04", 1), ("2023-12-11", 2), ("2024-01-01", 1)}
    stored = records[("2023-12-04", 1)]
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
    evaluated = [
        {k: v for k, v in e.items() if not k.endswith("_mean")}
        for e in body["models"][0]["plans_evaluated"]
    ]
    assert evaluated == [
        {"horizon": 1, "plan": "stored", "areas": 6, "max_area_km2": 1.0, "total_km2": None,
         "stop": "cap", "plans": 1, "periods": 1},
        {"horizon": 2, "plan": "stored", "areas": 1, "max_area_km2": 1.0, "total_km2": None,
         "stop": "cap", "plans": 1, "periods": 1},
        # no plan recorded 3 and 4 periods ahead: grown again at the default budget
        {"horizon": 3, "plan": "rebuilt", "areas": 6, "max_area_km2": 1.0, "total_km2": None,
         "stop": "cap", "plans": 1, "periods": 1},
        {"horizon": 4, "plan": "rebuilt", "areas": 6, "max_area_km2": 1.0, "total_km2": None,
         "stop": "cap", "plans": 1, "periods": 1},
    ]  # fmt: skip
    [later] = body["plans_not_scored"]
    assert later["etag"] == records[("2024-01-01", 1)]["etag"]
    assert later["period_start"] == "2024-01-01"
    assert later["why"] == (
        "its period from 2024-01-01 (the next period) is not scored yet: its events have not "
        "all arrived (whole periods before 2024-01-01 only)"
    )
    assert "the served patrol plans and the baselines' plans" in html
    assert "Served plans not scored" in html
    unscored = pd.read_csv(out / "unscored_plans.csv")
    assert unscored["etag"].tolist() == [later["etag"]]


def test_a_report_of_the_posted_events_alone_says_the_baselines_lacked_the_history(
    run_cli: RunCli, root: Path, year_panel: Panel, tmp_path: Path
) -> None:
    # the service forecast from its export (through the week of 27 November for the first
    # forecast, as of 4 December), then events were posted from 5 December: a report
    # without --events fits every baseline on those days alone, beside forecasts made from
    # the whole year, and says so (it said nothing, and its baselines looked far worse)
    for part in ("models", "state"):
        shutil.copytree(root / part, tmp_path / part)
    shutil.copy(root / "events.parquet", tmp_path / "events.parquet")
    lat, lng = h3.cell_to_latlng(busiest(year_panel))
    body = "incident_id,occurred,latitude,longitude,offence,origin\n" + "".join(
        f"LATE-{i},2023-12-{5 + i} 10:00:00,{lat:.6f},{lng:.6f},{TARGET},call\n" for i in range(3)
    )
    key = KeyStore(tmp_path / "state" / KEYS_FILE).create("w", ["events:write"])[1]
    with TestClient(create_app(settings_of(tmp_path))) as client:
        posted = client.post(
            "/v1/events",
            content=body.encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
        )
    assert posted.status_code == 200 and posted.json()["stored"] == 3, posted.text
    state = ("--state-dir", tmp_path / "state", "--models-dir", tmp_path / "models")
    alone = run_cli("report", "effectiveness", "--out", tmp_path / "alone", *state)
    said = " ".join(alone.err.split())
    assert "warning: no --events (nor HOTSPOTS_EVENTS_PATH): the report reads the posted " in said
    assert (
        "which start 2023-12-05, after the events the first forecast served (burglary as " in said
    )
    assert "of 2023-12-04) was made from (through the period from 2023-11-27)" in said
    page = (tmp_path / "alone" / "effectiveness.html").read_text(encoding="utf-8")
    assert '<p class="warning">no --events (nor HOTSPOTS_EVENTS_PATH)' in page
    export = ("--events", tmp_path / "events.parquet")
    full = run_cli("report", "effectiveness", "--out", tmp_path / "full", *state, *export)
    assert full.code == 0, full.err
    assert "warning" not in full.err
    page = (tmp_path / "full" / "effectiveness.html").read_text(encoding="utf-8")
    assert "no --events" not in page


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--since", "last week"), "--since 'last week' is not a date (YYYY-MM-DD)"),
        (("--until", "2023-02-30"), "--until '2023-02-30' is not a date (YYYY-MM-DD)"),
        (
            ("--since", "2023-12-11", "--until", "2023-12-04"),  # an empty report, exit 0, before
            "--since 2023-12-11 is not before --until 2023-12-04: the window holds the periods",
        ),
        (
            ("--monitor-areas", "AREAS", "--monitor-population-field", "side"),
            "population field 'side' of area layer ",
        ),  # fmt: skip
        (("--model", "robbery"), "--model 'robbery': no published forecasts of it in "),
        (("--category", "Arson"), "category 'Arson': target categories ['Arson'] are not in"),
        (("--events", "gone.parquet"), "--events 'gone.parquet': no such file"),
        (("--monitor-areas", "gone.geojson"), "--monitor-areas 'gone.geojson': no such file"),
        (("--monitor-repeat", "9"), "monitor repeat 9 must be between 1 and window 8"),
        (("--monitor-areas", "AREAS"), ".geojson' needs a group field, a population field or"),
    ],
)
def test_a_report_that_cannot_be_made_is_one_error_line(
    run_cli: RunCli, root: Path, tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    """Not a traceback, and not an empty report with exit 0: one line naming the value."""
    state = ("--state-dir", root / "state", "--models-dir", root / "models")
    events = () if "--events" in args else ("--events", root / "events.parquet")
    out = tmp_path / "report"
    areas = tmp_path / "areas.geojson"  # a polygon layer, given without its fields
    square = [[[-1.0, 50.0], [1.0, 50.0], [1.0, 52.0], [-1.0, 52.0], [-1.0, 50.0]]]
    geometry = {"type": "Polygon", "coordinates": square}
    feature = {"type": "Feature", "properties": {"people": 1, "side": "west"}, "geometry": geometry}
    areas.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    args = tuple(str(areas) if a == "AREAS" else a for a in args)
    res = run_cli("report", "effectiveness", "--out", out, *state, *events, *args)
    assert res.code == 2, res.err
    [line] = res.err.strip().splitlines()
    assert line.startswith("error: ") and says in line, line
    if "--model" in args:
        assert line.endswith("models with published forecasts: burglary")
    if "--category" in args:
        assert "'Burglary Residential'" in line  # the categories there are
    assert not (out / "effectiveness.html").exists()


def test_the_page_links_every_csv_beside_it(run_cli: RunCli, root: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    state = ("--state-dir", root / "state", "--models-dir", root / "models")
    res = run_cli(
        "report", "effectiveness", "--out", out, *state, "--events", root / "events.parquet"
    )
    assert res.code == 0, res.err
    html = (out / "effectiveness.html").read_text(encoding="utf-8")
    links = re.findall(r'<a href="([^"]+)"', html)
    written = sorted(p.name for p in out.glob("*.csv"))
    assert sorted(set(links)) == written  # relative links, every CSV and nothing else
    assert {"monitor_periods.csv", "monitor_summary.csv", "periods.csv"} <= set(written)
    for link in set(links):
        assert (out / link).is_file() and len(pd.read_csv(out / link).columns) > 1
    # the served model is the historical mean: the page says so beside its figures
    assert (
        "Versions of burglary that serve a baseline's map (v1: historical_mean): the served "
        "figures of their periods are that map's"
    ) in html
    # two weeks served, no training-time reference: the monitor says it cannot flag yet
    assert "No flag can be raised for burglary yet: the model recorded no training-time" in html
    # listed at the top, then each table's link under its heading, before the next heading
    for heading, name in (
        ("realised PAI at 5% per period", "periods.csv"),
        ("burglary: feedback-loop monitor", "monitor_summary.csv"),
        ("<h3>Per period", "monitor_periods.csv"),
    ):
        at = html.index(heading)
        assert html.index(f'<a href="{name}">') < at < html.index(f'<a href="{name}">', at)
        assert html.index(f'<a href="{name}">', at) < html.index("<h", at + 1)


def week_hits(events: pd.DataFrame, start: pd.Timestamp, cells: set[str]) -> tuple[int, int]:
    """The target events of the week from ``start`` in ``cells``, and in all."""
    local = events["occurred_at"].dt.tz_localize(None)
    week = events.loc[(local >= start) & (local < start + pd.Timedelta(days=7))]
    week = week.loc[week["category"] == TARGET]
    points = zip(week["lat"], week["lng"], strict=True)
    return sum(h3.latlng_to_cell(lat, lng, 8) in cells for lat, lng in points), len(week)


def test_a_plan_two_weeks_ahead_is_scored_on_its_week(
    run_cli: RunCli, root: Path, year_city_events: pd.DataFrame, tmp_path: Path
) -> None:
    state = ("--state-dir", root / "state", "--models-dir", root / "models")
    out = tmp_path / "report"
    res = run_cli(
        "report", "effectiveness", "--out", out, *state, "--events", root / "events.parquet"
    )
    assert res.code == 0, res.err
    [record] = [
        r for r in PlanStore(root / "state" / "plans").read() if r["params"]["horizon"] == 2
    ]
    assert (record["as_of"], record["period_start"]) == ("2023-12-04", "2023-12-11")
    plans = pd.read_csv(out / "plans.csv")
    ahead = plans.loc[plans["horizon"] == 2].set_index("source")
    assert set(ahead.index) == {"served", "last_period", "rolling_mean"}
    assert (ahead["etag"] == record["etag"]).all()
    assert (ahead["as_of"] == "2023-12-04").all() and (ahead["period_start"] == "2023-12-11").all()
    # by hand: the burglaries of 11-17 December in the recorded cells
    cells = {c for area in record["areas"] for c in area["cells"]}
    hits, n = week_hits(year_city_events, pd.Timestamp("2023-12-11"), cells)
    mine = ahead.loc["served"]
    assert (mine["plan_hits"], mine["n_events"], mine["areas"]) == (hits, n, 1)
    assert mine["plan_pai"] == pytest.approx(mine["plan_hit_rate"] / mine["area_share"])
    # the forecasts 2-4 weeks ahead, and the means per horizon
    periods = pd.read_csv(out / "periods.csv")
    served = periods.query("source == 'served' and cutoff == '5%'")
    assert sorted(zip(served["horizon"], served["period_start"], strict=True)) == [
        (1, "2023-12-04"), (2, "2023-12-11"), (3, "2023-12-18"), (4, "2023-12-25")
    ]  # fmt: skip
    horizons = pd.read_csv(out / "horizons.csv").query("source == 'served'")
    assert horizons["horizon"].tolist() == [1, 2, 3, 4]
    html = (out / "effectiveness.html").read_text(encoding="utf-8")
    assert "burglary: PAI of forecasts 2 periods ahead" in html
    assert "burglary: realised figures at 5% by horizon" in html
    # the API says the same
    key = KeyStore(root / "state" / KEYS_FILE).create("h", ["forecasts:read"])[1]
    with TestClient(create_app(settings_of(root))) as client:
        body = client.get("/v1/effectiveness", headers={"Authorization": f"Bearer {key}"}).json()
    [model] = body["models"]
    two = next(p for p in model["later_periods"] if p["horizon"] == 2)
    [plan] = two["plans"]
    assert (plan["etag"], plan["served"]["plan_hits"]) == (record["etag"], hits)
    assert plan["served"]["plan_pai"] == pytest.approx(mine["plan_pai"])
    assert plan["baselines"]["last_period"]["plan_hits"] == ahead.loc["last_period", "plan_hits"]
    row = served.loc[served["horizon"] == 2].iloc[0]
    assert two["cutoffs"]["5%"]["served"]["hits"] == row["hits"]
    by = {h["horizon"]: h for h in model["by_horizon"]}
    assert by[2]["served"]["pai"] == pytest.approx(row["pai"])


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
    # the plan of both types was served for the next period: none is grown again there for
    # either model alone; none was recorded for the later periods: each model's is grown again
    next_period = plans.loc[plans["horizon"] == 1]
    assert set(next_period["model"]) == {"burglary+other"}
    later = plans.loc[plans["horizon"] > 1]
    assert set(later["model"]) == {"burglary", "other"} and (later["plan"] == "rebuilt").all()
    assert set(later["horizon"]) == {2, 3, 4}
    key = KeyStore(root / "state" / KEYS_FILE).create("r", ["forecasts:read"])[1]
    with TestClient(create_app(settings_of(root))) as client:
        body = client.get("/v1/effectiveness", headers={"Authorization": f"Bearer {key}"}).json()
    [combined] = body["combined_plans"]
    assert combined["types"] == ["burglary", "other"]
    [evaluated] = combined["plans_evaluated"]
    assert {k: v for k, v in evaluated.items() if not k.endswith("_mean")} == {
        "horizon": 1, "plan": "stored", "areas": 6, "max_area_km2": 1.0, "total_km2": None,
        "stop": "cap", "plans": 1, "periods": 1,
    }  # fmt: skip
    [week_doc] = combined["periods"]
    [plan] = week_doc["plans"]
    assert week_doc["as_of"] == "2023-12-04" and plan["etag"] == stored["etag"]
    assert plan["served"]["plan_hits"] == hits
    assert evaluated["served_mean"]["plan_hit_rate"] == plan["served"]["plan_hit_rate"]
    assert set(plan["baselines"]) == {"last_period", "rolling_mean"}
    # each model alone: only the later periods' plans, grown again
    evaluated_alone = [
        [(e["horizon"], e["plan"], e["plans"]) for e in m["plans_evaluated"]]
        for m in body["models"]
    ]
    assert evaluated_alone == [[(2, "rebuilt", 1), (3, "rebuilt", 1), (4, "rebuilt", 1)]] * 2
    html = (out / "effectiveness.html").read_text(encoding="utf-8")
    assert "burglary+other: the served plans of several crime types" in html


def test_patrol_time_by_place_and_tactic_is_the_reports_and_follows_a_new_log(
    run_cli: RunCli, root: Path, year_panel: Panel, tmp_path: Path
) -> None:
    """Where the patrol time went, by plan area or cells and by tactic: the API gives the
    rows of the report's patrol_time.csv (one library frame), never per unit, and a log
    posted after a first answer changes the answer (the cache follows the patrol store)."""
    import shutil

    copy = tmp_path / "root"
    shutil.copytree(root, copy)
    shutil.rmtree(copy / "state" / "patrols", ignore_errors=True)  # another test imports some
    cell = busiest(year_panel)
    keys = KeyStore(copy / "state" / KEYS_FILE)
    read, write = (keys.create(n, [s])[1] for n, s in (("r", "forecasts:read"),
                                                      ("w", "patrols:write")))  # fmt: skip
    with TestClient(create_app(settings_of(copy))) as client:
        get = {"headers": {"Authorization": f"Bearer {read}"}}
        before = client.get("/v1/effectiveness", **get).json()["models"][0]["periods"][0]
        assert (before["dosage"], before["patrol_time"]) == (None, [])
        plan = client.get("/v1/plans/latest", **get).json()
        area = f"{plan['as_of']}/1"  # an area of the plan served now
        log = (
            "id,area,cells,start,end,unit,tactic\n"
            f"T1,{area},,2023-12-05 10:00,2023-12-05 12:00,U1,foot\n"
            f"T2,{area},,2023-12-06 22:00,2023-12-06 23:30,U2,foot\n"
            f"T3,,{cell},2023-12-07 09:00,2023-12-07 09:30,U1,vehicle\n"
            f"T4,,{cell},2023-12-08 14:00,2023-12-08 15:00,U3,\n"
        )
        posted = client.post(
            "/v1/patrols",
            content=log,
            headers={"Authorization": f"Bearer {write}", "Content-Type": "text/csv"},
        )
        assert posted.json()["stored"] == 4, posted.text
        body = client.get("/v1/effectiveness", **get).json()
    period = body["models"][0]["periods"][0]
    # by hand: 120 + 90 foot minutes in plan area 1, 30 by vehicle and 60 without a tactic
    # on cells, 300 in all
    assert period["patrol_time"] == [
        {"place_kind": "area", "place": area, "tactic": "foot", "patrols": 2, "minutes": 210,
         "share": 0.7},
        {"place_kind": "cells", "place": None, "tactic": None, "patrols": 1, "minutes": 60,
         "share": 0.2},
        {"place_kind": "cells", "place": None, "tactic": "vehicle", "patrols": 1, "minutes": 30,
         "share": 0.1},
    ]  # fmt: skip
    assert period["dosage"]["patrol_minutes"] == 300
    assert all(p["patrol_time"] is None for p in body["models"][0]["later_periods"])
    assert re.search(r"\bU[1-3]\b", json.dumps(body)) is None  # no unit, ever
    Effectiveness.model_validate(body)  # the documented shape (strict: no field beyond it)
    out = tmp_path / "report"
    state = ("--state-dir", copy / "state", "--models-dir", copy / "models")
    res = run_cli("report", "effectiveness", "--out", out, *state,
                  "--events", copy / "events.parquet")  # fmt: skip
    assert res.code == 0, res.err
    csv = pd.read_csv(out / "patrol_time.csv", keep_default_na=False)
    assert "unit" not in csv.columns
    assert csv["as_of"].tolist() == [period["as_of"]] * 3
    rows = csv.drop(columns=["model", "as_of"]).to_dict("records")
    assert [{k: v if v != "" else None for k, v in r.items()} for r in rows] == (
        period["patrol_time"]
    )


def test_the_report_withholds_a_patrolled_cell_of_one_event_as_the_api_does(
    run_cli: RunCli,
    root: Path,
    year_panel: Panel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hotspots.config import get_settings

    copy = tmp_path / "copy"  # patrols of its own: the module's state is left as it was
    for part in ("models", "state"):
        shutil.copytree(root / part, copy / part)
    shutil.copy(root / "events.parquet", copy / "events.parquet")
    shutil.rmtree(copy / "state" / "patrols", ignore_errors=True)  # other tests' logs
    week = year_panel.of(TARGET)[year_panel.periods.get_loc(WEEK)]
    quiet = h3.int_to_str(int(year_panel.cells[np.flatnonzero(week == 1)[0]]))
    log = tmp_path / "quiet.csv"
    log.write_text(
        f"id,cells,start,end\nQ1,{quiet},2023-12-05 10:00,2023-12-05 11:00\n", encoding="utf-8"
    )
    state = ("--state-dir", copy / "state", "--models-dir", copy / "models")
    assert run_cli("patrols", "import", log, *state).code == 0
    events = ("--events", copy / "events.parquet")

    def report(out: Path, shown: str | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        if shown is None:
            monkeypatch.delenv("HOTSPOTS_MIN_EVENTS_SHOWN", raising=False)
        else:
            monkeypatch.setenv("HOTSPOTS_MIN_EVENTS_SHOWN", shown)
        get_settings.cache_clear()
        try:
            res = run_cli("report", "effectiveness", "--out", out, *state, *events)
        finally:
            get_settings.cache_clear()
        assert res.code == 0, res.err
        return tuple(pd.read_csv(out / f"{n}.csv") for n in ("dosage", "cells", "periods"))

    dosage, cells, periods = report(tmp_path / "default", None)  # 3, as documented
    all_dosage, all_cells, all_periods = report(tmp_path / "all", "0")
    assert all_dosage["events_patrolled"].tolist() == [1.0]
    assert all_cells[["cell", "events"]].values.tolist() == [[quiet, 1.0]]
    assert dosage["events_patrolled"].isna().all() and dosage["events_rest"].isna().all()
    assert dosage["suppressed"].tolist() == [True] and cells["suppressed"].tolist() == [True]
    assert cells["events"].isna().all() and cells["minutes"].tolist() == [60.0]
    pd.testing.assert_frame_equal(periods, all_periods)  # hit rate, PAI, PEI, n_events
    # and the API says the same (by default): null where the report's field is empty
    monkeypatch.delenv("HOTSPOTS_MIN_EVENTS_SHOWN")
    key = KeyStore(copy / "state" / KEYS_FILE).create("r", ["forecasts:read"])[1]
    with TestClient(create_app(settings_of(copy))) as client:
        body = client.get("/v1/effectiveness", headers={"Authorization": f"Bearer {key}"}).json()
    api = body["models"][0]["periods"][0]["dosage"]
    for column in ("events_patrolled", "events_ring", "events_rest", "before_patrolled"):
        value = dosage[column].iloc[0]
        assert api[column] == (None if np.isnan(value) else pytest.approx(value)), column
    assert api["suppressed"] is True
