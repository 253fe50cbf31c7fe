"""A plan as a CSV or GeoJSON file: one row (feature) per area, its values flat columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from hotspots.publishing import cells_to_boundary_geojson
from hotspots.publishing.plan_io import plan_to_geojson, plan_to_rows, write_plan


def area(rank: int, when: dict[str, Any] | str) -> dict[str, Any]:
    return {
        "rank": rank, "area_km2": 0.7, "n_cells": 1, "expected_count": 2.5,
        "interval": {"low": 1, "high": 4}, "score": 2.5, "expected_by_type": {"theft": 2.5},
        "when": when, "reasons": ["many thefts"], "cells": ["8928308280fffff"],
    }  # fmt: skip


def timed(**counts: Any) -> dict[str, Any]:
    none: list[dict[str, Any]] = []
    lists = ("top_blocks", "top_blocks_of_day", "top_hours", "top_hours_of_day")
    return dict.fromkeys(lists, none) | {"events_with_time": 300} | counts


PLAN = {
    "as_of": "2024-03-04",
    "period_start": "2024-03-04",
    "areas": [
        area(1, timed(events_without_time=40, placeholder_excess={"00:00": 12, "12:00": 200})),
        area(2, timed(events_without_time=0, placeholder_excess={})),
        area(3, "unknown"),  # month-only times: no counts to give
    ],
}


def test_each_areas_events_left_out_of_its_when_are_columns_of_the_csv(tmp_path: Path) -> None:
    rows = plan_to_rows(PLAN)
    got = [
        (r["when_events_with_time"], r["when_events_without_time"], r["when_not_counted"])
        for r in rows
    ]
    # a when unknown has no counts: null (GeoJSON), an empty field (CSV)
    assert got == [(300, 40, "00:00 12; 12:00 200"), (300, 0, ""), (None, None, None)]
    out = tmp_path / "plan.csv"
    write_plan(PLAN, out)
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert back["when_events_without_time"].tolist() == ["40", "0", ""]
    assert back["when_not_counted"].tolist() == ["00:00 12; 12:00 200", "", ""]
    assert back["when"].tolist() == ["", "", "unknown"]


def test_geojson_properties_are_the_csv_columns_and_read_in_gis_as_scalars(
    tmp_path: Path,
) -> None:
    """One flattening for both files: each feature's properties are the area's CSV row, a
    when unknown's counts null, and GDAL reads every property as a typed column."""
    import geopandas

    plan = PLAN | {
        "areas": [a | {"boundary": cells_to_boundary_geojson(a["cells"])} for a in PLAN["areas"]]
    }
    doc = plan_to_geojson(plan)
    assert [f["properties"] for f in doc["features"]] == plan_to_rows(plan)
    assert [f["id"] for f in doc["features"]] == [1, 2, 3]
    assert doc["plan"] == {"as_of": "2024-03-04", "period_start": "2024-03-04"}
    out = tmp_path / "plan.geojson"
    write_plan(plan, out)
    frame = geopandas.read_file(out)
    assert frame["when_events_without_time"].tolist()[:2] == [40, 0]
    assert frame["when_events_without_time"].isna().tolist() == [False, False, True]
    assert frame["when"].tolist() == ["", "", "unknown"]
    assert frame["interval_low"].tolist() == [1, 1, 1] and frame["expected_theft"].dtype == float
    assert frame["cells"].tolist() == ["8928308280fffff"] * 3
    assert frame["reasons"].tolist() == ["many thefts"] * 3


def test_a_crime_type_named_count_keeps_the_areas_total() -> None:
    plan = PLAN | {"areas": [area(1, "unknown") | {"expected_by_type": {"count": 1.5, "x": 1}}]}
    (row,) = plan_to_rows(plan)
    assert (row["expected_count"], row["expected_type_count"], row["expected_x"]) == (2.5, 1.5, 1)
