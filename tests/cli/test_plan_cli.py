"""``hotspots plan``: the areas file from registered models, and its refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.config import Settings
from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.registry import Registry
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

RunCli = Any
AS_OF = "2023-11-06"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, year_panel: Panel) -> Path:
    """Two resolution-8 weekly models of the year city: burglary and robbery."""
    root = tmp_path_factory.mktemp("plan_models")
    registry = Registry(root)
    for name, target in (("burg", "Burglary Residential"), ("rob", "Robbery")):
        model = make_forecaster("historical_mean", target=(target,)).fit(year_panel, "2023-10-30")
        registry.publish(name, model, spec={}, data={}, backtest={})
    return root


def plan_args(models: Path, events: Path, out: Path, *extra: str) -> list[str | Path]:
    return [
        "plan", "--model", "burg", "--models-dir", models, "--events", events,
        "--map", COLUMN_MAP, "--tz", TIMEZONE, "--as-of", AS_OF, "--output", out, *extra,
    ]  # fmt: skip


def write_both(run_cli: RunCli, models: Path, events: Path, root: Path) -> str:
    """The same plan of both types as root/plan.geojson and root/plan.json; what the first
    run printed."""
    printed = ""
    for suffix in ("geojson", "json"):
        res = run_cli(
            *plan_args(models, events, root / f"plan.{suffix}", "--model", "rob", "--weights",
                       "rob=3", "--seed", "window"), "--areas", "4", "--max-area-km2", "3",
        )  # fmt: skip
        assert res.code == 0, res.err
        printed = printed or res.err
    return printed


def test_plan_writes_one_geojson_feature_per_area(
    run_cli: RunCli, models: Path, year_city_dir: Path, tmp_path: Path
) -> None:
    printed = write_both(run_cli, models, year_city_dir / "events.csv.gz", tmp_path)
    doc = json.loads((tmp_path / "plan.geojson").read_text())
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 4
    assert doc["plan"] == {k: v for k, v in plan.items() if k != "areas"}
    assert doc["plan"]["as_of"] == AS_OF and doc["plan"]["period_start"] == AS_OF
    assert doc["plan"]["types"]["rob"] == {"weight": 3.0, "categories": ["Robbery"]}
    assert "disk of about one area" in doc["plan"]["algorithm"]  # --seed window
    seen: set[str] = set()
    for i, (feature, area) in enumerate(zip(doc["features"], plan["areas"], strict=True), 1):
        props, geometry = feature["properties"], feature["geometry"]
        assert feature["id"] == props["rank"] == area["rank"] == i
        assert geometry == area["boundary"] and geometry["type"] == "Polygon"
        ring = geometry["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 7
        lng, lat = ring[0]
        assert -101 < lng < -99 and 39.5 < lat < 40.5  # GeoJSON order: lng, lat
        assert 0 < area["area_km2"] <= 3 and len(area["cells"]) == area["n_cells"]
        assert all(h3.get_resolution(c) == 8 for c in area["cells"])
        assert not seen & set(area["cells"])
        seen |= set(area["cells"])
        by_type = area["expected_by_type"]
        assert set(by_type) == {"burg", "rob"}
        assert sum(by_type.values()) == pytest.approx(area["expected_count"], abs=1e-3)
        # an hour is named only where an even spread would rarely put as many events in it:
        # each area holds under 100 past events with a time, too few to single out an hour
        # (the busiest of the week's 168 would read 10x by chance alone)
        when = area["when"]
        assert 0 < when["events_with_time"] < 100 and area["reasons"]
        assert when["top_hours"] == [] and when["top_hours_of_day"] == []
    # the terminal shows the areas as a table: what the file holds, in the officer's words
    assert f"patrol areas for the period from {AS_OF}" in printed  # the console is stderr
    table = printed.split("patrol areas for the period from")[1]  # after the validation's
    rows = [line for line in table.splitlines() if line.startswith("│")]
    assert len(rows) == 4, printed
    for row, area in zip(rows, plan["areas"], strict=True):
        cols = [c.strip() for c in row.strip("│").split("│")]
        low, high = area["interval"]["low"], area["interval"]["high"]
        when = area["when"]
        assert cols[:3] == [
            str(area["rank"]),
            f"{area['area_km2']:.2f}",
            f"{area['expected_count']:.2f} ({low}-{high})",
        ]
        counts = area["expected_by_type"]
        assert f"Robbery {counts['rob']:.2f}" in cols[3]
        assert f"Burglary Residential {counts['burg']:.2f}" in cols[3]
        # no hour stands out (above): the shifts that do, or none
        shift = [*when["top_blocks"][:2]] or [
            {**b, "label": f"daily {b['label']}"} for b in when["top_blocks_of_day"][:2]
        ]
        assert when["events_without_time"] == 0  # the synthetic city's times are all known
        assert cols[4] == (
            ", ".join(f"{b['label']} ({b['lift']}x: {b['events']} events)" for b in shift)
            or f"none stands out ({when['events_with_time']} timed events)"
        )
        assert cols[5] == area["reasons"][0]
    # the plan is built from the very forecast `hotspots forecast` writes
    forecast = tmp_path / "f.csv"
    res = run_cli(
        "forecast", "--model", "burg", "--models-dir", models, "--events",
        year_city_dir / "events.csv.gz", "--map", COLUMN_MAP, "--tz", TIMEZONE, "--as-of", AS_OF,
        "--output", forecast,
    )  # fmt: skip
    assert res.code == 0, res.err
    frame = pd.read_csv(forecast).set_index("cell")["expected_count"]
    first = plan["areas"][0]
    assert first["expected_by_type"]["burg"] == pytest.approx(
        frame.loc[first["cells"]].sum(), abs=1e-3
    )


def test_plan_geojson_reads_in_gis_as_a_scalar_column_per_value(
    run_cli: RunCli, models: Path, year_city_dir: Path, tmp_path: Path
) -> None:
    """GDAL's GeoJSON driver (what QGIS and geopandas read with) gives each property a typed
    column: no JSON objects or lists, and each value that of the JSON document."""
    import geopandas
    import shapely.geometry

    write_both(run_cli, models, year_city_dir / "events.csv.gz", tmp_path)
    plan = json.loads((tmp_path / "plan.json").read_text())
    areas = plan["areas"]
    # GDAL reads it beside the foreign member ``plan``, which it leaves out
    frame = geopandas.read_file(tmp_path / "plan.geojson", fid_as_index=True)
    types = pd.api.types
    for name in frame.columns.drop("geometry"):
        column = frame[name]  # numbers, booleans, dates (as_of), or strings (an object column)
        scalar = types.is_numeric_dtype(column) or types.is_datetime64_any_dtype(column)
        assert scalar or all(isinstance(v, str) or v is None for v in column), (name, column)
    assert frame.index.tolist() == [a["rank"] for a in areas]  # the feature id: the rank
    assert pd.api.types.is_integer_dtype(frame["rank"]) and frame["suppressed"].dtype == bool
    assert frame["as_of"].astype(str).str[:10].tolist() == [plan["as_of"]] * len(areas)
    for name in ("rank", "area_km2", "n_cells", "expected_count", "score", "suppressed"):
        assert frame[name].tolist() == [a[name] for a in areas], name
    for name in ("low", "high", "level"):
        assert frame[f"interval_{name}"].tolist() == [a["interval"][name] for a in areas]
    for model in ("burg", "rob"):
        assert frame[f"expected_{model}"].tolist() == [a["expected_by_type"][model] for a in areas]
    assert frame["cells"].tolist() == [";".join(a["cells"]) for a in areas]
    assert frame["reasons"].tolist() == [" | ".join(a["reasons"]) for a in areas]
    labels = {"when_blocks": "top_blocks", "when_blocks_of_day": "top_blocks_of_day",
              "when": "top_hours", "when_of_day": "top_hours_of_day"}  # fmt: skip
    for name, key in labels.items():
        got = frame[name].tolist()  # "" where none stands out
        assert got == ["; ".join(b["label"] for b in a["when"][key]) for a in areas], name
    assert any(frame["when_blocks_of_day"])  # the year city names shifts
    for name in ("events_with_time", "events_without_time"):
        assert frame[f"when_{name}"].tolist() == [a["when"][name] for a in areas], name
    for got, area in zip(frame.geometry, areas, strict=True):
        assert got.equals(shapely.geometry.shape(area["boundary"]))


def test_top_cells_stop_makes_smaller_areas_from_the_same_forecast(
    run_cli: RunCli, models: Path, year_city_dir: Path, tmp_path: Path
) -> None:
    events = year_city_dir / "events.csv.gz"
    plans = {}
    for stop in ("cap", "top-cells"):
        out = tmp_path / f"plan-{stop}.json"
        res = run_cli(*plan_args(models, events, out, "--stop", stop), "--areas", "4",
                      "--max-area-km2", "5")  # fmt: skip
        assert res.code == 0, res.err
        plans[stop] = json.loads(out.read_text())
    filled, compact = plans["cap"], plans["top-cells"]
    assert "least of the top cells" in compact["algorithm"]
    assert "least of the top cells" not in filled["algorithm"]
    assert len(compact["areas"]) == len(filled["areas"]) == 4
    assert compact["summary"]["area_km2"] < filled["summary"]["area_km2"]
    assert compact["summary"]["expected_count"] <= filled["summary"]["expected_count"]
    per_km2 = {
        k: p["summary"]["expected_count"] / p["summary"]["area_km2"] for k, p in plans.items()
    }
    assert per_km2["top-cells"] > per_km2["cap"]


def test_plan_csv_has_a_row_per_area(
    run_cli: RunCli, models: Path, year_city_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "plan.csv"
    res = run_cli(
        *plan_args(models, year_city_dir / "events.csv.gz", out), "--areas", "3", "--total-km2", "6"
    )
    assert res.code == 0, res.err
    rows = pd.read_csv(out)
    assert rows["rank"].tolist() == [1, 2, 3]
    assert rows["area_km2"].sum() <= 6 and (rows["area_km2"] <= 2).all()
    assert (rows["expected_burg"] == rows["expected_count"]).all()
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    # the hours that stand out from an even spread ("" in the CSV when none does)
    for week, day in zip(
        rows["when"].astype(object).fillna(""),
        rows["when_of_day"].astype(object).fillna(""),
        strict=True,
    ):
        assert all(label.split(" ")[0] in days for label in week.split("; ") if label)
        assert all(len(label) == len("22:00-23:00") for label in day.split("; ") if label)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--areas", "3", "--max-area-km2", "0.1"], "smaller than one cell"),
        (["--areas", "100000", "--max-area-km2", "1"], "more areas than the model's"),
        (["--areas", "0"], "--areas 0: a plan needs at least one area"),
        (["--areas", "51", "--max-area-km2", "1"], "--areas 51: must be between 1 and 50"),
        (["--max-area-km2", "-1"], "max_area_km2 -1.0: must be a positive number"),
        (
            ["--max-area-km2", "80"],  # past MAX_AREA_CELLS cells of 0.78 km2
            "max_area_km2 80: an area of up to 80 km2 is larger than a plan allows "
            "(100 cells, 77.65 km2 at H3 resolution 8); ask for at most that much",
        ),
        (["--total-km2", "1e308"], "total_km2 1e+308 over 6 areas: an area of up to 1.667e+307"),
        (  # 50 areas of 60 km2 each fit under MAX_AREA_CELLS, but not in the city
            ["--areas", "50", "--total-km2", "3000"],
            "total_km2 3000: more ground than the whole study area (598.4 km2, 769 cells at H3 "
            "resolution 8); ask for at most that much",
        ),
        (
            ["--areas", "3", "--max-area-km2", "1", "--total-km2", "1e6"],
            "total_km2 1e+06: more ground than the whole study area (598.4 km2",
        ),
        (["--weights", "burg"], "--weights 'burg': 'burg' is not name=weight"),
        (["--weights", "burg=-2"], "is not name=weight (weight >= 0)"),
        (["--weights", "burg=3,burg=1"], "--weights 'burg=3,burg=1': 'burg' is given twice"),
        (["--weights", "burg=0"], "every crime type of the plan weighs 0"),  # burg alone
        (["--category", "Arson"], "--category 'Arson' is not a crime type of this plan"),
        (["--horizon", "9"], "--horizon 9: must be between 1 and 4"),
        (["--horizon", "0"], "--horizon 0: must be between 1 and 4"),
        (["--areas", "3", "--max-area-km2", "2", "--weights", "x=1"], "not a --model"),
        (["--areas", "3", "--max-area-km2", "2", "--seed", "best"], "must be one of cell, window"),
        (["--areas", "3", "--max-area-km2", "2", "--stop", "full"], "--stop 'full': must be one"),
    ],
)
def test_impossible_budgets_exit_2_with_one_line(
    run_cli: RunCli,
    models: Path,
    year_city_dir: Path,
    tmp_path: Path,
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "plan.json"
    res = run_cli(*plan_args(models, year_city_dir / "events.csv.gz", out), *extra)
    assert res.code == 2
    errors = [line for line in res.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], res.err
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--areas", "x"], "Invalid value for '--areas'"),
        (["--areas=1.5"], "Invalid value for '--areas'"),
        (["--max-area-km2", "big"], "Invalid value for '--max-area-km2'"),
        (["--horizon", "two"], "Invalid value for '--horizon'"),
    ],
)
def test_values_of_the_wrong_type_exit_2_with_one_line_naming_the_value(
    run_cli: RunCli,
    models: Path,
    year_city_dir: Path,
    tmp_path: Path,
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "plan.json"
    res = run_cli(*plan_args(models, year_city_dir / "events.csv.gz", out), *extra)
    value = extra[-1].rpartition("=")[2] if len(extra) == 1 else extra[-1]
    lines = res.err.strip().splitlines()
    assert res.code == 2 and len(lines) == 1 and lines[0].startswith("error: "), res.err
    assert message in res.err and f"'{value}'" in res.err, res.err
    assert not out.exists()


def test_an_output_in_another_format_exits_2_with_one_line(
    run_cli: RunCli, models: Path, year_city_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "plan.xml"
    res = run_cli(*plan_args(models, year_city_dir / "events.csv.gz", out))
    errors = [line for line in res.err.splitlines() if line.startswith("error:")]
    assert res.code == 2 and len(errors) == 1 and "plan.xml" in errors[0], res.err
    assert not out.exists()


def test_without_budget_models_or_as_of_the_plan_is_the_services_default(
    run_cli: RunCli, models: Path, year_city_dir: Path, tmp_path: Path
) -> None:
    """No --areas, --max-area-km2, --model or --as-of: HOTSPOTS_PLAN_AREAS areas of at most
    HOTSPOTS_PLAN_MAX_AREA_KM2 over every current model, as of the events' last whole period."""
    from hotspots.config import get_settings

    out = tmp_path / "plan.json"
    res = run_cli(
        "plan", "--models-dir", models, "--events", year_city_dir / "events.csv.gz",
        "--map", COLUMN_MAP, "--tz", TIMEZONE, "--output", out,
    )  # fmt: skip
    assert res.code == 0, res.err
    doc = json.loads(out.read_text())
    settings = get_settings()
    assert doc["budget"] == {
        "areas": settings.plan_areas, "max_area_km2": settings.plan_max_area_km2,
        "total_km2": None,
    }  # fmt: skip
    assert sorted(doc["types"]) == ["burg", "rob"]
    forecast = tmp_path / "f.csv"  # `hotspots forecast`'s default as_of, the API's too
    res = run_cli(
        "forecast", "--model", "burg", "--models-dir", models, "--events",
        year_city_dir / "events.csv.gz", "--map", COLUMN_MAP, "--tz", TIMEZONE, "--output",
        forecast,
    )  # fmt: skip
    assert res.code == 0, res.err
    assert doc["as_of"] == str(pd.Timestamp(pd.read_csv(forecast)["as_of"][0]).date())
    assert doc["as_of"] != AS_OF  # not the date the other tests give
    one = tmp_path / "rob.json"
    res = run_cli(
        "plan", "--models-dir", models, "--events", year_city_dir / "events.csv.gz",
        "--map", COLUMN_MAP, "--tz", TIMEZONE, "--category", "Robbery", "--horizon", "2",
        "--output", one,
    )  # fmt: skip
    assert res.code == 0, res.err
    chosen = json.loads(one.read_text())
    assert list(chosen["types"]) == ["rob"]
    later = pd.Timestamp(doc["period_start"]) + pd.Timedelta(days=7)
    assert chosen["period_start"] == str(later.date())


def test_plan_help_has_an_example(run_cli: RunCli) -> None:
    res = run_cli("plan", "--help")
    assert res.code == 0
    assert "--max-area-km2" in res.out and "Example" in res.out and "--weights" in res.out


def test_plan_help_states_the_limits(run_cli: RunCli) -> None:
    from hotspots.plan_limits import MAX_AREA_CELLS, MAX_AREAS

    out = " ".join(run_cli("plan", "--help", columns="400").out.split())
    # the settings' defaults, as --shifts gave its own ("[HOTSPOTS_PLAN_SHIFTS or 0,6,12,18]")
    defaults = Settings.model_fields
    areas, km2 = defaults["plan_areas"].default, defaults["plan_max_area_km2"].default
    horizon = defaults["forecast_horizon"].default
    assert f"Number of patrol areas, 1 to {MAX_AREAS} [HOTSPOTS_PLAN_AREAS or {areas}]" in out
    assert f"[HOTSPOTS_PLAN_MAX_AREA_KM2 or {km2} when --total-km2 is not given" in out
    assert f"up to HOTSPOTS_FORECAST_HORIZON or {horizon} (as the API)" in out
    assert f"at most the area of {MAX_AREA_CELLS} of the model's smallest cells" in out
    assert f"each area still at most {MAX_AREA_CELLS} of the model's smallest cells" in out


def test_a_model_the_events_do_not_fit_is_named(
    run_cli: RunCli, year_panel: Panel, year_city_dir: Path, tmp_path: Path
) -> None:
    # a registry holding another city's model as well: `plan` without --model takes every
    # current model, and the error said only "the model's target category"
    registry = Registry(tmp_path / "models")
    burg = make_forecaster("historical_mean", target=("Burglary Residential",))
    registry.publish("burg", burg.fit(year_panel, "2023-10-30"), spec={}, data={}, backtest={})
    elsewhere = Panel(
        year_panel.counts, year_panel.cells, year_panel.periods,
        tuple(f"Other {c}" for c in year_panel.categories), year_panel.freq, year_panel.resolution,
    )  # fmt: skip
    other = make_forecaster("historical_mean", target=("Other Robbery",))
    registry.publish(
        "other-city", other.fit(elsewhere, "2023-10-30"), spec={}, data={}, backtest={}
    )
    res = run_cli(
        "plan", "--models-dir", registry.root, "--events", year_city_dir / "events.csv.gz",
        "--map", COLUMN_MAP, "--tz", TIMEZONE, "--as-of", AS_OF, "--output", tmp_path / "p.json",
    )  # fmt: skip
    assert res.code == 2
    [line] = res.err.strip().splitlines()[-1:]
    assert line.startswith("error: model 'other-city': the events have no row of the model's")
    assert line.endswith("; --model or --category plans for the others")


def test_a_model_left_out_for_its_grid_is_named_with_both_grids(
    run_cli: RunCli, year_panel: Panel, year_city_dir: Path, tmp_path: Path
) -> None:
    # `plan` without --model over a registry holding a resolution-9 model beside a
    # resolution-8 one said only "fine left out: another grid than burg"
    registry = Registry(tmp_path / "models")
    burg = make_forecaster("historical_mean", target=("Burglary Residential",))
    registry.publish("burg", burg.fit(year_panel, "2023-10-30"), spec={}, data={}, backtest={})
    children = [h3.cell_to_center_child(h3.int_to_str(int(c)), 9) for c in year_panel.cells]
    finer = Panel(
        year_panel.counts, np.array([h3.str_to_int(c) for c in children], dtype=np.uint64),
        year_panel.periods, year_panel.categories, year_panel.freq, 9,
    )  # fmt: skip
    fine = make_forecaster("historical_mean", target=("Burglary Residential",))
    registry.publish("fine", fine.fit(finer, "2023-10-30"), spec={}, data={}, backtest={})
    res = run_cli(
        "plan", "--models-dir", registry.root, "--events", year_city_dir / "events.csv.gz",
        "--map", COLUMN_MAP, "--tz", TIMEZONE, "--as-of", AS_OF, "--output", tmp_path / "p.json",
    )  # fmt: skip
    assert res.code == 0, res.err
    said = (
        "warning: fine left out: it is 'W' at H3 resolution 9, burg 'W' at resolution 8, and a "
        "plan needs one grid (--model chooses the models)"
    )
    assert said in (res.out + res.err).splitlines()
    assert list(json.loads((tmp_path / "p.json").read_text())["types"]) == ["burg"]


def test_fewer_areas_than_asked_are_said_when_the_city_is_used_up(
    run_cli: RunCli, models: Path, year_city_dir: Path, tmp_path: Path
) -> None:
    """50 areas of up to 50 km2 (64 cells) on the 598 km2 year city: the cells run out first."""
    out = tmp_path / "plan.json"
    events = year_city_dir / "events.csv.gz"
    res = run_cli(*plan_args(models, events, out), "--areas", "50", "--max-area-km2", "50")
    assert res.code == 0, res.err
    doc = json.loads(out.read_text())
    built = len(doc["areas"])
    assert built < 50 and doc["summary"]["areas"] == built
    assert sum(a["n_cells"] for a in doc["areas"]) == 769  # the whole study area
    assert f"wrote {built} areas of the 50 asked (no free study cell was left for more)" in (
        res.err
    )
    res = run_cli(*plan_args(models, events, out), "--areas", "3", "--max-area-km2", "3")
    assert res.code == 0 and "wrote 3 areas (" in res.err


def test_the_plan_table_shows_shifts_first_then_hours() -> None:
    """The officer reads the blocks of the week that stand out, else of the day, else the
    hours of the week, else of the day, else that none stands out."""
    from rich.console import Console

    from hotspots.cli.render import plan_table

    thu = {"day": "Thu", "start": 18, "end": 0, "hours": 6, "label": "Thu 18:00-00:00",
           "share": 0.06, "lift": 1.68, "events": 110}  # fmt: skip
    fri = {**thu, "day": "Fri", "label": "Fri 18:00-00:00", "lift": 1.52, "events": 99}
    evening = {"start": 18, "end": 0, "hours": 6, "label": "18:00-00:00", "share": 0.34,
               "lift": 1.36, "events": 620}  # fmt: skip
    tue = {"label": "Tue 21:00-22:00", "lift": 2.8, "hour": 21, "day": "Tue", "share": 0.017,
           "events": 30}  # fmt: skip
    hour = {"label": "20:00-21:00", "lift": 1.65, "hour": 20, "share": 0.069, "events": 125}
    none = {"top_blocks": [], "top_blocks_of_day": [], "top_hours": [], "top_hours_of_day": [],
            "events_with_time": 1820}  # fmt: skip
    area = {
        "rank": 1, "area_km2": 0.94, "expected_count": 3.0, "interval": {"low": 1, "high": 5},
        "expected_by_type": {"a": 3.0}, "reasons": ["long-run hotspot"],
    }  # fmt: skip
    whens = [
        {**none, "top_blocks": [thu, fri, thu], "top_blocks_of_day": [evening], "top_hours": [tue]},
        {**none, "top_blocks_of_day": [evening], "top_hours": [tue], "top_hours_of_day": [hour]},
        {**none, "top_hours": [tue], "top_hours_of_day": [hour]},
        {**none, "top_hours_of_day": [hour]},
        none,
        "unknown",
        # events read as dates (a placeholder clock time) are said beside the times
        {**none, "top_hours_of_day": [hour], "events_without_time": 75},
        {**none, "events_without_time": 75},
        # the excess at a heaped minute (SF's 12:00) is said too
        {**none, "top_hours_of_day": [hour], "placeholder_excess": {"00:00": 12, "12:00": 200}},
    ]
    document = {"types": {"a": {"categories": ["Assault"]}}, "period_start": AS_OF}
    console = Console(width=200, record=True)
    console.print(plan_table({**document, "areas": [{**area, "when": w} for w in whens]}))
    rows = [line for line in console.export_text().splitlines() if line.startswith("│")]
    assert [[c.strip() for c in row.strip("│").split("│")][4] for row in rows] == [
        "Thu 18:00-00:00 (1.68x: 110 events), Fri 18:00-00:00 (1.52x: 99 events)",
        "daily 18:00-00:00 (1.36x: 620 events)",
        "Tue 21:00-22:00 (2.8x: 30 events)",
        "daily 20:00-21:00 (1.65x: 125 events)",
        "none stands out (1820 timed events)",
        "unknown",
        "daily 20:00-21:00 (1.65x: 125 events); 75 without a time of day",
        "none stands out (1820 timed events; 75 without a time of day)",
        "daily 20:00-21:00 (1.65x: 125 events); about 12 at 00:00, 200 at 12:00 not counted "
        "(beyond what the hours around predict)",
    ]


@pytest.mark.parametrize(
    ("flag", "env", "named"),
    [
        (("--shifts", "7,15,25"), None, "--shifts '7,15,25': 25 is not an hour of the day"),
        (("--shifts", "8"), None, "--shifts '8': at least two blocks are needed"),
        ((), "6,6,18", "HOTSPOTS_PLAN_SHIFTS '6,6,18': an hour is given twice"),
        (("--shifts", "7" * 500), None, f"--shifts {'7' * 40!r}... (500 characters): 7777"),
        ((), "1," * 300, f"HOTSPOTS_PLAN_SHIFTS {'1,' * 20!r}... (600 characters): not hours"),
    ],
)
def test_bad_shifts_are_one_line_naming_the_flag_or_setting_and_exit_2(
    run_cli: RunCli,
    models: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: tuple[str, ...],
    env: str | None,
    named: str,
) -> None:
    from hotspots.config import get_settings

    if env is not None:
        monkeypatch.setenv("HOTSPOTS_PLAN_SHIFTS", env)
    get_settings.cache_clear()
    out = tmp_path / "plan.json"
    try:  # refused before any reading: the events file need not exist
        res = run_cli(*plan_args(models, tmp_path / "not-read.csv", out, *flag))
    finally:
        get_settings.cache_clear()
    assert res.code == 2 and not out.exists()
    assert res.err.startswith(f"error: {named}") and res.err.count("\n") == 1, res.err
    assert "give the hours the blocks of the day start at, e.g. 0,6,12,18" in res.err


def test_two_models_of_one_crime_type_are_refused_before_the_events_are_read(
    run_cli: RunCli, models: Path, year_panel: Panel, year_city_dir: Path, tmp_path: Path
) -> None:
    # a challenger of burglary beside its champion: a plan adds its types' forecasts, so the
    # two together would count every burglary twice
    root = tmp_path / "models"
    shutil.copytree(models, root)
    model = make_forecaster("kde", target=("Burglary Residential",)).fit(year_panel, "2023-10-30")
    Registry(root).publish("burg-kde", model, spec={}, data={}, backtest={})
    missing = tmp_path / "not-read.csv"  # refused before any reading: the file need not exist
    out = tmp_path / "plan.json"
    res = run_cli(*plan_args(root, missing, out, "--model", "burg-kde"))
    assert res.code == 2 and not out.exists()
    assert (
        "--model burg and burg-kde both forecast the categories ['Burglary Residential']: a "
        "plan adds its types' forecasts, so it would count those crimes twice; plan with one "
        "of them" in " ".join(res.err.split())
    )
    # without --model, every current model, as the API's plan of every type: the second
    # burglary model is left out, with a warning saying why
    args = plan_args(root, year_city_dir / "events.csv.gz", out)
    res = run_cli(*[a for a in args if a not in ("--model", "burg")])
    assert res.code == 0, res.err
    assert "warning: burg-kde left out: it forecasts crimes burg forecasts too" in res.err
    assert sorted(json.loads(out.read_text())["types"]) == ["burg", "rob"]


@pytest.mark.parametrize("suffix", ["geojson", "json"])
def test_patrols_import_reads_the_areas_of_the_plan_file_written(
    run_cli: RunCli, models: Path, year_city_dir: Path, tmp_path: Path, suffix: str
) -> None:
    """A patrol log naming AS_OF/RANK of a plan `hotspots plan` wrote (`--plan`) is stored
    with that area's cells, from the flat GeoJSON (cells joined by ';') as from the JSON."""
    from hotspots.feedback.patrol_store import PatrolStore
    from hotspots.grid import strings_to_cells

    plan = tmp_path / f"plan.{suffix}"
    res = run_cli(*plan_args(models, year_city_dir / "events.csv.gz", plan), "--areas", "3")
    assert res.code == 0, res.err
    doc = json.loads(plan.read_text())
    areas = [f["properties"] for f in doc["features"]] if suffix == "geojson" else doc["areas"]
    second = areas[1]["cells"]
    cells = second.split(";") if suffix == "geojson" else second
    log = tmp_path / "log.csv"
    log.write_text(
        "id,area,start,end\n"
        f"p1,{AS_OF}/2,2023-11-07 10:00,2023-11-07 12:00\n"
        f"p2,{AS_OF}/4,2023-11-07 10:00,2023-11-07 12:00\n",  # the plan has 3 areas
        encoding="utf-8",
    )
    state = tmp_path / "state"
    res = run_cli("patrols", "import", log, "--plan", plan, "--state-dir", state,
                  "--models-dir", models, "--max-reject", "0.5")  # fmt: skip
    assert res.code == 0, res.err
    assert "stored 1 patrols, 0 already stored, 1 rejected" in res.err, res.err
    stored = PatrolStore(state / "patrols").read()
    assert stored["patrol_id"].tolist() == ["p1"]
    assert sorted(stored["cells"].iloc[0].tolist()) == sorted(strings_to_cells(cells).tolist())
