"""Static cell covariates from tiny GeoJSON / GeoPackage layers with hand-checkable values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pytest
from shapely.geometry import Point

from hotspots.errors import ConfigError, InputFileError
from hotspots.features.covariates import CovariateLayer, cell_covariates

CENTRE = h3.latlng_to_cell(41.88, -87.63, 9)
CELLS = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(CENTRE, 1)), dtype=np.uint64)
C = int(np.searchsorted(CELLS, h3.str_to_int(CENTRE)))
NEIGHBOUR = h3.int_to_str(int(CELLS[(C + 1) % CELLS.size]))


def centre_of(cell: str) -> tuple[float, float]:
    return h3.cell_to_latlng(cell)  # (lat, lng)


def point(lat: float, lng: float, **props: Any) -> dict[str, Any]:
    # GeoJSON coordinates are (lng, lat)
    geometry = {"type": "Point", "coordinates": [lng, lat]}
    return {"type": "Feature", "geometry": geometry, "properties": props}


def polygon(ring: list[tuple[float, float]], **props: Any) -> dict[str, Any]:
    coords = [[lng, lat] for lat, lng in ring] + [[ring[0][1], ring[0][0]]]
    geometry = {"type": "Polygon", "coordinates": [coords]}
    return {"type": "Feature", "geometry": geometry, "properties": props}


def write(tmp_path: Path, name: str, features: list[dict[str, Any]]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_point_counts_per_cell_with_a_where_filter(tmp_path: Path) -> None:
    lat, lng = centre_of(CENTRE)
    nlat, nlng = centre_of(NEIGHBOUR)
    path = write(
        tmp_path,
        "bars.geojson",
        [
            point(lat, lng, kind="bar"),
            point(lat + 1e-5, lng - 1e-5, kind="bar"),
            point(lat, lng, kind="shop"),
            point(nlat, nlng, kind="bar"),
            point(45.0, -90.0, kind="bar"),  # far outside: ignored
        ],
    )
    layers = [
        CovariateLayer(path, "count", "all_points"),
        CovariateLayer(path, "count", "bars", where="kind=bar"),
    ]
    frame = cell_covariates(CELLS, layers)
    assert frame.index.dtype == np.uint64 and frame.index.name == "cell"
    np.testing.assert_array_equal(frame.index.to_numpy(), CELLS)
    assert list(frame.columns) == ["all_points", "bars"]
    n = int(np.searchsorted(CELLS, h3.str_to_int(NEIGHBOUR)))
    want = np.zeros(CELLS.size)
    want[C], want[n] = 3, 1
    np.testing.assert_array_equal(frame["all_points"], want)
    want[C] = 2
    np.testing.assert_array_equal(frame["bars"], want)


def test_distance_in_km_from_each_cell_centre(tmp_path: Path) -> None:
    lat, lng = centre_of(CENTRE)
    path = write(tmp_path, "station.geojson", [point(lat, lng)])
    frame = cell_covariates(CELLS, [CovariateLayer(path, "distance", "station_km")])
    want = [
        h3.great_circle_distance((lat, lng), centre_of(h3.int_to_str(int(c))), unit="km")
        for c in CELLS
    ]
    assert frame["station_km"].iloc[C] == pytest.approx(0.0, abs=1e-6)
    # res-9 neighbours are ~0.35 km apart; UTM (on the WGS84 ellipsoid) and h3's sphere
    # differ by up to 0.3 % at 42 degrees north, depending on the direction
    np.testing.assert_allclose(frame["station_km"], want, rtol=3e-3, atol=1e-6)
    assert 0.25 < frame["station_km"].drop(CELLS[C]).mean() < 0.4


def test_distance_to_a_polygon_is_zero_inside_it(tmp_path: Path) -> None:
    ring = h3.cell_to_boundary(CENTRE)  # (lat, lng) vertices
    path = write(tmp_path, "park.geojson", [polygon(list(ring))])
    frame = cell_covariates(CELLS, [CovariateLayer(path, "distance", "park_km")])
    assert frame["park_km"].iloc[C] == 0.0
    others = frame["park_km"].drop(CELLS[C])
    assert (others > 0.1).all() and (others < 0.2).all()  # centre to the shared edge


def test_area_share_of_the_cell_itself_a_half_and_overlaps_counted_once(tmp_path: Path) -> None:
    ring = list(h3.cell_to_boundary(CENTRE))
    exact = write(tmp_path, "exact.geojson", [polygon(ring), polygon(ring)])  # twice: once
    lat, lng = centre_of(CENTRE)
    # everything east of the centre's meridian: a line through the centre of a (nearly
    # centrally symmetric) hexagon halves it
    east = [(lat - 0.1, lng), (lat - 0.1, lng + 0.1), (lat + 0.1, lng + 0.1), (lat + 0.1, lng)]
    half = write(tmp_path, "east.geojson", [polygon(east)])
    frame = cell_covariates(
        CELLS, [CovariateLayer(exact, "area_share", "own"), CovariateLayer(half, "area_share", "e")]
    )
    want = np.zeros(CELLS.size)
    want[C] = 1.0
    np.testing.assert_allclose(frame["own"], want, atol=1e-6)
    assert frame["e"].iloc[C] == pytest.approx(0.5, abs=0.02)
    east_of = np.array([h3.cell_to_latlng(h3.int_to_str(int(c)))[1] > lng for c in CELLS])
    east_of[C] = False
    assert (frame["e"][east_of] > 0.5).all() and (frame["e"][~east_of] <= 0.5 + 0.02).all()


def test_geopackage_in_another_crs_is_read(tmp_path: Path) -> None:
    lat, lng = centre_of(CENTRE)
    frame = gpd.GeoDataFrame({"kind": ["x"]}, geometry=[Point(lng, lat)], crs="EPSG:4326")
    path = tmp_path / "points.gpkg"
    frame.to_crs("EPSG:3857").to_file(path, driver="GPKG")
    got = cell_covariates(CELLS, [CovariateLayer(path, "count", "n")])
    assert got["n"].iloc[C] == 1 and got["n"].sum() == 1


def test_errors_name_the_file_the_kind_and_the_column(tmp_path: Path) -> None:
    missing = tmp_path / "nope.geojson"
    with pytest.raises(InputFileError, match="nope.geojson"):
        cell_covariates(CELLS, [CovariateLayer(missing, "count", "n")])
    ring = list(h3.cell_to_boundary(CENTRE))
    polys = write(tmp_path, "polys.geojson", [polygon(ring, kind="park")])
    with pytest.raises(InputFileError, match=r"count.*Point.*Polygon"):
        cell_covariates(CELLS, [CovariateLayer(polys, "count", "n")])
    pts = write(tmp_path, "pts.geojson", [point(*centre_of(CENTRE))])
    with pytest.raises(InputFileError, match="needs MultiPolygon or Polygon"):
        cell_covariates(CELLS, [CovariateLayer(pts, "area_share", "s")])
    with pytest.raises(ConfigError, match="kind must be one of.*'density'"):
        CovariateLayer(pts, "density", "d")
    with pytest.raises(ConfigError, match=r"column 'type'.*polys.geojson.*\['kind'\]"):
        cell_covariates(CELLS, [CovariateLayer(polys, "area_share", "s", where="type=park")])
    with pytest.raises(ConfigError, match="column=value"):
        CovariateLayer(pts, "count", "n", where="kind")
    with pytest.raises(ConfigError, match="unique"):
        cell_covariates(
            CELLS, [CovariateLayer(pts, "count", "n"), CovariateLayer(pts, "count", "n")]
        )
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(InputFileError, match="cannot read"):
        cell_covariates(CELLS, [CovariateLayer(bad, "count", "n")])


def test_a_filter_that_leaves_nothing_gives_zero_or_missing(tmp_path: Path) -> None:
    pts = write(tmp_path, "pts.geojson", [point(*centre_of(CENTRE), kind="bar")])
    layers = [
        CovariateLayer(pts, "count", "n", where="kind=shop"),
        CovariateLayer(pts, "distance", "d", where="kind=shop"),
    ]
    frame = cell_covariates(CELLS, layers)
    assert (frame["n"] == 0).all() and frame["d"].isna().all()
