"""Vectorised H3 helpers agree with plain h3-py, cell by cell."""

from __future__ import annotations

import math
import re

import h3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon, shape

from hotspots.errors import ConfigError
from hotspots.grid import (
    cell_area_km2,
    cell_to_boundary,
    cells_area_km2,
    cells_resolution,
    cells_to_geojson,
    cells_to_latlng,
    cells_to_parents,
    cells_to_strings,
    check_resolution,
    grid_disk_cells,
    grid_disk_table,
    is_valid_cell,
    points_to_cells,
    strings_to_cells,
    text_to_cell,
)

# Chicago Loop; far from any of the 12 pentagons, so disks have their full hexagon sizes
LOOP_LAT, LOOP_LNG = 41.8781, -87.6298


def _random_points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-85, 85, n), rng.uniform(-180, 180, n)


def _loop_cell(res: int = 9) -> np.uint64:
    return points_to_cells([LOOP_LAT], [LOOP_LNG], res)[0]


@pytest.mark.parametrize("res", [0, 5, 9, 15])
def test_points_to_cells_matches_h3(res: int) -> None:
    lat, lng = _random_points(500, seed=res)
    cells = points_to_cells(lat, lng, res)
    expected = [h3.latlng_to_cell(a, b, res) for a, b in zip(lat, lng, strict=True)]
    assert cells.dtype == np.uint64
    assert cells_to_strings(cells).tolist() == expected


def test_points_to_cells_empty_and_length_mismatch() -> None:
    assert points_to_cells([], [], 9).shape == (0,)
    with pytest.raises(ValueError, match="differ in length"):
        points_to_cells([1.0, 2.0], [1.0], 9)


@pytest.mark.parametrize(
    ("lat", "lng", "shown"),
    [(np.nan, 1.0, "nan"), (1.0, np.inf, "inf"), (91.0, 0.0, "91.0")],
)
def test_points_to_cells_rejects_invalid_points(lat: float, lng: float, shown: str) -> None:
    with pytest.raises(ValueError, match=f"1 points are not valid; first: .*{shown}"):
        points_to_cells([10.0, lat], [10.0, lng], 9)


@pytest.mark.parametrize("res", [-1, 16, 9.0, "9"])
def test_bad_resolution_is_a_config_error(res: object) -> None:
    with pytest.raises(ConfigError, match=f"got {res!r}"):
        check_resolution(res)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        points_to_cells([0.0], [0.0], res)  # type: ignore[arg-type]


def test_strings_round_trip() -> None:
    cells = points_to_cells(*_random_points(200), 10)
    strings = cells_to_strings(cells)
    assert all(h3.is_valid_cell(s) for s in strings)
    np.testing.assert_array_equal(strings_to_cells(strings), cells)
    assert strings_to_cells([]).dtype == np.uint64


@pytest.mark.parametrize("bad", ["not-a-cell", "8928308280fffff0", 12345])
def test_strings_to_cells_names_the_invalid_string(bad: object) -> None:
    good = h3.latlng_to_cell(LOOP_LAT, LOOP_LNG, 9)
    with pytest.raises(ValueError, match=f"not a valid H3 cell: {bad!r}"):
        strings_to_cells([good, bad])  # type: ignore[list-item]


def _one_by_one(strings: list[str]) -> np.ndarray:
    """The reference: each string checked and read by h3 itself."""
    for s in strings:
        if not is_valid_cell(s):
            raise ValueError(f"not a valid H3 cell: {s!r}")
    return np.array([h3.str_to_int(s) for s in strings], dtype=np.uint64)


def test_many_strings_read_in_bulk_as_h3_reads_them_one_by_one() -> None:
    """Past 32 strings they are read in bulk: the same cells, and the same first error, as
    h3 one by one, for cells written as h3 writes them and for every other spelling."""
    rng = np.random.default_rng(3)
    cells = points_to_cells(*_random_points(500), 9)
    strings = [str(s) for s in cells_to_strings(cells)]
    np.testing.assert_array_equal(strings_to_cells(strings), _one_by_one(strings))
    spelled = [strings[0].upper(), "0" + strings[1], "0x" + strings[2]]
    for other in spelled:
        some = [*strings[:100], other]
        try:
            expected = _one_by_one(some)
        except ValueError as err:
            with pytest.raises(ValueError, match=re.escape(str(err))):
                strings_to_cells(some)
        else:
            np.testing.assert_array_equal(strings_to_cells(some), expected)
    # one digit changed at random: often no cell at all, sometimes another valid one
    for _ in range(300):
        i, pos = int(rng.integers(100)), int(rng.integers(15))
        digit = "0123456789abcdef"[int(rng.integers(16))]
        some = list(strings[:100])
        some[i] = some[i][:pos] + digit + some[i][pos + 1 :]
        try:
            expected = _one_by_one(some)
        except ValueError:
            with pytest.raises(ValueError, match=f"not a valid H3 cell: {some[i]!r}"):
                strings_to_cells(some)
        else:
            np.testing.assert_array_equal(strings_to_cells(some), expected)


def test_is_valid_cell() -> None:
    assert is_valid_cell(h3.latlng_to_cell(LOOP_LAT, LOOP_LNG, 9))
    assert not is_valid_cell("zzz")
    assert not is_valid_cell(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["-1", "617733151052627967", "ffffffffffffffffff", "9" * 23, "a" * 20]
)
def test_too_long_or_negative_text_is_no_cell(text: str) -> None:
    """h3 raises OverflowError on these; they are simply not cells."""
    assert not is_valid_cell(text)
    assert text_to_cell(text) is None
    with pytest.raises(ValueError, match="not a valid H3 cell"):
        strings_to_cells([text])


def test_text_to_cell_reads_hexadecimal_and_decimal_ids() -> None:
    cell = h3.latlng_to_cell(LOOP_LAT, LOOP_LNG, 9)
    value = h3.str_to_int(cell)
    for text in (cell, cell.upper(), f"0x{cell}", f" {cell} ", str(value), f"0{value}"):
        assert text_to_cell(text) == value, text
    for text in ("", "0x", "+" + str(value), str(value + 1), str(2**64 + value), "٣"):
        assert text_to_cell(text) is None, text


def test_cells_resolution() -> None:
    assert cells_resolution(points_to_cells(*_random_points(50), 7)) == 7
    mixed = np.concatenate([points_to_cells([0.0], [0.0], 7), points_to_cells([0.0], [0.0], 9)])
    with pytest.raises(ValueError, match=r"mix resolutions \[7, 9\]"):
        cells_resolution(mixed)
    with pytest.raises(ValueError, match="no cells"):
        cells_resolution(np.empty(0, np.uint64))


@pytest.mark.parametrize(("k", "size"), [(0, 1), (1, 7), (2, 19), (3, 37)])
def test_grid_disk_cells_sizes(k: int, size: int) -> None:
    cell = _loop_cell()
    disk = grid_disk_cells([cell], k)
    assert disk.size == size
    assert np.all(disk[1:] > disk[:-1])  # sorted and unique
    expected = sorted(h3.grid_disk(h3.int_to_str(int(cell)), k))
    assert cells_to_strings(disk).tolist() == expected


def test_grid_disk_cells_merges_overlapping_disks_and_rejects_negative_k() -> None:
    a = _loop_cell()
    b = strings_to_cells([h3.grid_ring(h3.int_to_str(int(a)), 1)[0]])[0]  # a neighbour of a
    assert grid_disk_cells([a, b], 1).size == 10  # 7 + 7 - 4 shared
    assert grid_disk_cells(np.empty(0, np.uint64), 2).size == 0
    with pytest.raises(ConfigError, match="k must be >= 0, got -1"):
        grid_disk_cells([a], -1)


def test_grid_disk_table_pairs() -> None:
    cells = points_to_cells([LOOP_LAT, 40.7128], [LOOP_LNG, -74.0060], 9)
    rows, nbrs = grid_disk_table(cells, 1)
    assert rows.tolist() == [0] * 7 + [1] * 7
    assert nbrs.dtype == np.uint64
    for i, c in enumerate(cells):
        got = set(cells_to_strings(nbrs[rows == i]))
        assert got == set(h3.grid_disk(h3.int_to_str(int(c)), 1))


def test_cells_to_parents() -> None:
    cells = points_to_cells(*_random_points(100), 10)
    parents = cells_to_parents(cells, 6)
    expected = [h3.cell_to_parent(s, 6) for s in cells_to_strings(cells)]
    assert cells_to_strings(parents).tolist() == expected
    assert cells_resolution(parents) == 6


def test_cells_to_latlng_matches_h3() -> None:
    cells = points_to_cells(*_random_points(100), 8)
    lat, lng = cells_to_latlng(cells)
    expected = np.array([h3.cell_to_latlng(s) for s in cells_to_strings(cells)])
    np.testing.assert_allclose(lat, expected[:, 0], atol=1e-9)
    np.testing.assert_allclose(lng, expected[:, 1], atol=1e-9)
    assert cells_to_latlng(np.empty(0, np.uint64))[0].size == 0


def test_areas() -> None:
    assert cell_area_km2(9) == pytest.approx(0.1053, rel=0.01)  # h3 table: 0.105332513 km2
    cells = points_to_cells([LOOP_LAT, 0.0], [LOOP_LNG, 0.0], 9)
    expected = [h3.cell_area(s, unit="km^2") for s in cells_to_strings(cells)]
    np.testing.assert_allclose(cells_area_km2(cells), expected)


def test_cell_to_boundary_is_lat_lng() -> None:
    cell = _loop_cell()
    boundary = cell_to_boundary(int(cell))
    assert len(boundary) == 6
    assert all(abs(lat - LOOP_LAT) < 0.01 and abs(lng - LOOP_LNG) < 0.01 for lat, lng in boundary)


def test_cells_to_geojson_feature_collection() -> None:
    cells = grid_disk_cells([_loop_cell()], 1)
    geo = cells_to_geojson(cells, {"count": np.arange(7), "label": list("abcdefg")})
    assert geo["type"] == "FeatureCollection"
    assert len(geo["features"]) == 7
    for i, (cell, feature) in enumerate(zip(cells, geo["features"], strict=True)):
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Polygon"
        ring = feature["geometry"]["coordinates"][0]
        assert len(ring) == 7 and ring[0] == ring[-1]  # closed hexagon
        # GeoJSON order is (lng, lat): x near -87.6, y near 41.9
        assert all(abs(x - LOOP_LNG) < 0.02 and abs(y - LOOP_LAT) < 0.02 for x, y in ring)
        props = feature["properties"]
        assert props == {"cell": format(int(cell), "x"), "count": i, "label": "abcdefg"[i]}
        assert type(props["count"]) is int  # JSON-ready, not numpy
        lat, lng = h3.cell_to_latlng(props["cell"])
        assert shape(feature["geometry"]).contains(Point(lng, lat))


@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(-79.99, 79.99),
    lng=st.floats(-179.0, 179.0),  # keeps cells clear of the antimeridian
    res=st.integers(5, 12),
)
def test_point_lies_in_its_cell_polygon(lat: float, lng: float, res: int) -> None:
    cell = points_to_cells([lat], [lng], res)[0]
    # shapely is (x=lng, y=lat)
    polygon = Polygon([(b, a) for a, b in cell_to_boundary(int(cell))])
    assert polygon.is_valid
    # H3 edges are great-circle arcs, shapely's are straight in lng/lat degrees; they part by
    # up to ~1e-4 of the cell size at res 5 near 80 degrees (less at finer resolutions), so a
    # point just inside an arc may sit just outside the straight edge. Allow 1e-3 of the size:
    # a real error (swapped lat/lng, wrong cell) puts the point whole cells away.
    tolerance = 1e-3 * math.sqrt(polygon.area)
    assert polygon.distance(Point(lng, lat)) <= tolerance
