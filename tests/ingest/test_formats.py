"""Parquet, GeoJSON and GeoPackage exports read like CSV, through the same column map."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from hotspots.errors import ColumnNotFoundError
from hotspots.ingest import ColumnMap, IngestOptions, ingest_file, is_event_table, write_events

ROWS = pd.DataFrame(
    {
        "when": ["2023-05-01 10:00", "2023-05-02 11:30", "bad time"],
        "lat": [41.80, 41.81, 41.82],
        "lng": [-87.60, -87.61, -87.62],
        "kind": ["Robbery", "Theft", "Robbery"],
    }
)
OPTS = IngestOptions(
    column_map=ColumnMap.parse("time=when,lat=lat,lng=lng,category=kind"),
    timezone="America/Chicago",
    max_reject_fraction=0.5,
)


def test_parquet_with_float_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    ROWS.to_parquet(path)
    result = ingest_file(path, OPTS)
    assert result.events["lat"].tolist() == [41.80, 41.81]
    assert result.report.rejected == {"unparseable_time": 1}


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_point_layers_take_coordinates_from_geometry(tmp_path: Path, suffix: str) -> None:
    # shapely points are (x=lng, y=lat); projected to UTM 16N to check reprojection back
    gdf = gpd.GeoDataFrame(
        ROWS[["when", "kind"]],
        geometry=[Point(lng, lat) for lat, lng in zip(ROWS["lat"], ROWS["lng"], strict=True)],
        crs="EPSG:4326",
    ).to_crs("EPSG:32616")
    gdf.loc[1, "geometry"] = None  # a feature without a location
    path = tmp_path / f"x{suffix}"
    gdf.to_file(path)
    opts = IngestOptions(
        column_map=ColumnMap.parse("time=when,category=kind"),
        timezone="America/Chicago",
        max_reject_fraction=0.9,
    )
    result = ingest_file(path, opts)
    assert result.report.rejected == {"missing_coordinates": 1, "unparseable_time": 1}
    assert result.events["lat"].iloc[0] == pytest.approx(41.80, abs=1e-9)
    assert result.events["lng"].iloc[0] == pytest.approx(-87.60, abs=1e-9)


def test_polygon_features_are_not_points(tmp_path: Path) -> None:
    square = Polygon([(-87.6, 41.8), (-87.5, 41.8), (-87.5, 41.9), (-87.6, 41.8)])
    gdf = gpd.GeoDataFrame(
        {"when": ["2023-05-01"], "kind": ["Theft"]}, geometry=[square], crs="EPSG:4326"
    )
    path = tmp_path / "poly.geojson"
    gdf.to_file(path)
    opts = IngestOptions(
        column_map=ColumnMap.parse("time=when,category=kind"), max_reject_fraction=1.0
    )
    assert ingest_file(path, opts).report.rejected == {"missing_coordinates": 1}


def test_geojson_missing_attribute_column(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"when": ["2023-05-01"]}, geometry=[Point(-87.6, 41.8)], crs="EPSG:4326")
    path = tmp_path / "p.geojson"
    gdf.to_file(path)
    with pytest.raises(ColumnNotFoundError, match="column 'kind' .* not found in p.geojson"):
        ingest_file(path, IngestOptions(column_map=ColumnMap.parse("time=when,category=kind")))


def test_event_table_round_trip_is_recognised(tmp_path: Path) -> None:
    events = ingest_file_csv(tmp_path)
    out = tmp_path / "ev.parquet"
    write_events(events, out, {"source": "t"})
    assert is_event_table(out)
    assert not is_event_table(tmp_path / "x.csv")


def ingest_file_csv(tmp_path: Path) -> pd.DataFrame:
    path = tmp_path / "x.csv"
    ROWS.to_csv(path, index=False)
    return ingest_file(path, OPTS).events
