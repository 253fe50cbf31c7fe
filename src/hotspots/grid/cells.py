"""Vectorised H3 operations on cells held as ``uint64`` arrays.

Cells are ``uint64`` inside hotspots and become H3 strings only at the edges (files, JSON).
h3ronpy does the bulk work in Rust; where it is missing, plain ``h3`` is used cell by cell
(correct, about three times slower).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hotspots.errors import ConfigError

try:  # the fast path
    import h3ronpy
    import h3ronpy.vector as h3v

    HAVE_H3RONPY = True
except ImportError:  # pragma: no cover - exercised only where h3ronpy is not installed
    HAVE_H3RONPY = False

CellArray = npt.NDArray[np.uint64]
FloatArray = npt.NDArray[np.float64]


def check_resolution(resolution: int) -> int:
    """Return ``resolution`` if it is an H3 resolution (0..15), else raise ConfigError."""
    if not isinstance(resolution, int | np.integer) or not 0 <= int(resolution) <= 15:
        raise ConfigError(f"H3 resolution must be an integer from 0 to 15, got {resolution!r}")
    return int(resolution)


def _to_uint64(arr: Any) -> CellArray:
    """An arrow uint64 array without nulls -> numpy, zero-copy where possible."""
    pa_arr = pa.array(arr)
    if pa_arr.null_count:
        raise ValueError(f"{pa_arr.null_count} cells could not be computed")
    return np.asarray(pa_arr.to_numpy(zero_copy_only=False), dtype=np.uint64)


def points_to_cells(lat: npt.ArrayLike, lng: npt.ArrayLike, resolution: int) -> CellArray:
    """Index points (degrees) to H3 cells at ``resolution``; every point must be finite."""
    res = check_resolution(resolution)
    lat_a = np.ascontiguousarray(lat, dtype=np.float64)
    lng_a = np.ascontiguousarray(lng, dtype=np.float64)
    if lat_a.shape != lng_a.shape:
        raise ValueError(f"lat and lng differ in length: {lat_a.shape} vs {lng_a.shape}")
    if lat_a.size == 0:
        return np.empty(0, dtype=np.uint64)
    bad = ~(np.isfinite(lat_a) & np.isfinite(lng_a)) | (np.abs(lat_a) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{int(bad.sum())} points are not valid; first: ({lat_a[i]}, {lng_a[i]})")
    if HAVE_H3RONPY:
        return _to_uint64(h3v.coordinates_to_cells(lat_a, lng_a, res))
    return np.fromiter(  # pragma: no cover
        (h3.str_to_int(h3.latlng_to_cell(a, b, res)) for a, b in zip(lat_a, lng_a, strict=True)),
        dtype=np.uint64,
        count=lat_a.size,
    )


def cells_to_strings(cells: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """uint64 cells -> H3 hexadecimal strings (for files and JSON)."""
    arr = np.asarray(cells, dtype=np.uint64)
    return np.array([format(int(c), "x") for c in arr], dtype=object)


def strings_to_cells(strings: Iterable[str]) -> CellArray:
    """H3 strings -> uint64 cells; raises ValueError naming the first invalid string."""
    values = list(strings)
    if HAVE_H3RONPY and len(values) > 32:
        found = _canonical_to_cells(values)
        if found is not None:
            return found
    out = np.empty(len(values), dtype=np.uint64)
    for i, s in enumerate(values):
        if not isinstance(s, str) or not is_valid_cell(s):
            raise ValueError(f"not a valid H3 cell: {s!r}")
        out[i] = h3.str_to_int(s)
    return out


def _canonical_to_cells(values: list[Any]) -> CellArray | None:
    """``values`` as cells in bulk when each is a valid cell written as h3 writes it
    (lower-case hexadecimal, no prefix: what hotspots' own files hold), else None (the
    caller then checks them one by one, as it did: the same cells and the same error)."""
    try:
        text = pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    cells = pa.array(h3ronpy.cells_parse(text, set_failing_to_invalid=True))
    if cells.null_count:
        return None
    if not pa.array(h3ronpy.cells_valid(cells, booleanarray=True)).to_numpy(False).all():
        return None
    written = pa.array(h3ronpy.cells_to_string(cells)).to_numpy(zero_copy_only=False)
    if not np.array_equal(written, np.asarray(values, dtype=object)):
        return None  # upper case, a prefix, leading zeros: as before, one by one
    return cells.to_numpy(zero_copy_only=False).astype(np.uint64)


def is_valid_cell(cell: str) -> bool:
    """True if ``cell`` is a valid H3 cell string (hexadecimal)."""
    try:
        return bool(h3.is_valid_cell(cell))
    except (TypeError, ValueError, OverflowError):  # h3 overflows past 16 hex digits
        return False


_UINT64_MAX = 2**64 - 1


def text_to_cell(text: str) -> int | None:
    """The H3 cell a person typed, as an int: its hexadecimal string (``0x`` optional, any
    case) or the same index in decimal (cells are ``uint64`` inside); None if it is neither.

    A valid cell's hexadecimal string has 15 digits and its decimal 18 or 19, so the two
    readings never both name a cell.
    """
    text = text.strip().lower()
    hexa = text[2:] if text.startswith("0x") else text
    if is_valid_cell(hexa):
        return int(h3.str_to_int(hexa))
    if text.isascii() and text.isdigit() and len(text) <= 20 and int(text) <= _UINT64_MAX:
        value = int(text)
        if is_valid_cell(format(value, "x")):
            return value
    return None


def cells_to_latlng(cells: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Cell centres as two arrays ``(lat, lng)`` in degrees."""
    arr = np.asarray(cells, dtype=np.uint64)
    if arr.size == 0:
        return np.empty(0), np.empty(0)
    if HAVE_H3RONPY:
        batch = pa.record_batch(h3v.cells_to_coordinates(pa.array(arr)))
        return (
            batch.column("lat").to_numpy().astype(np.float64),
            batch.column("lng").to_numpy().astype(np.float64),
        )
    pts = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in arr])  # pragma: no cover
    return pts[:, 0], pts[:, 1]  # pragma: no cover


def cells_resolution(cells: npt.ArrayLike) -> int:
    """The one resolution shared by ``cells``; ValueError if they mix resolutions."""
    arr = np.asarray(cells, dtype=np.uint64)
    if arr.size == 0:
        raise ValueError("no cells given")
    # bits 52..55 of an H3 index hold the resolution
    res = np.unique((arr >> np.uint64(52)) & np.uint64(0xF))
    if res.size != 1:
        raise ValueError(f"cells mix resolutions {sorted(int(r) for r in res)}")
    return int(res[0])


def grid_disk_cells(cells: npt.ArrayLike, k: int) -> CellArray:
    """All cells within ``k`` steps of any of ``cells``, sorted and unique."""
    arr = np.unique(np.asarray(cells, dtype=np.uint64))
    if k < 0:
        raise ConfigError(f"k must be >= 0, got {k}")
    if k == 0 or arr.size == 0:
        return arr
    if HAVE_H3RONPY:
        return np.unique(_to_uint64(h3ronpy.grid_disk(pa.array(arr), k, flatten=True)))
    disk = {h3.str_to_int(n) for c in arr for n in h3.grid_disk(h3.int_to_str(int(c)), k)}
    return np.array(sorted(disk), dtype=np.uint64)  # pragma: no cover


def grid_disk_table(cells: npt.ArrayLike, k: int) -> tuple[npt.NDArray[np.int64], CellArray]:
    """Pairs (i, neighbour) for every cell ``cells[i]`` and each cell within ``k`` of it.

    Returned as two aligned arrays: the position ``i`` into ``cells`` and the neighbour cell.
    Used to sum counts over rings without a Python loop per cell.
    """
    arr = np.asarray(cells, dtype=np.uint64)
    if HAVE_H3RONPY:
        nested = pa.array(h3ronpy.grid_disk(pa.array(arr), k, flatten=False))
        lengths = np.diff(nested.offsets.to_numpy())
        flat = _to_uint64(nested.flatten())
        return np.repeat(np.arange(arr.size, dtype=np.int64), lengths), flat
    rows, nbrs = [], []  # pragma: no cover
    for i, c in enumerate(arr):  # pragma: no cover
        for n in h3.grid_disk(h3.int_to_str(int(c)), k):
            rows.append(i)
            nbrs.append(h3.str_to_int(n))
    return np.array(rows, dtype=np.int64), np.array(nbrs, dtype=np.uint64)  # pragma: no cover


def cells_to_parents(cells: npt.ArrayLike, resolution: int) -> CellArray:
    """The parent of each cell at the coarser ``resolution``."""
    arr = np.asarray(cells, dtype=np.uint64)
    res = check_resolution(resolution)
    if HAVE_H3RONPY:
        return _to_uint64(h3ronpy.change_resolution(pa.array(arr), res))
    return np.array(  # pragma: no cover
        [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), res)) for c in arr],
        dtype=np.uint64,
    )


def cell_area_km2(resolution: int) -> float:
    """Average area of one H3 cell at ``resolution``, in square kilometres."""
    return float(h3.average_hexagon_area(check_resolution(resolution), unit="km^2"))


def cells_area_km2(cells: npt.ArrayLike) -> FloatArray:
    """Exact area of each cell in square kilometres."""
    arr = np.asarray(cells, dtype=np.uint64)
    if HAVE_H3RONPY:
        return np.asarray(h3ronpy.cells_area_km2(pa.array(arr)), dtype=np.float64)
    return np.array(  # pragma: no cover
        [h3.cell_area(h3.int_to_str(int(c)), unit="km^2") for c in arr], dtype=np.float64
    )


def cell_to_boundary(cell: int) -> list[tuple[float, float]]:
    """Boundary vertices of one cell as ``(lat, lng)`` pairs (h3 order)."""
    return [(float(a), float(b)) for a, b in h3.cell_to_boundary(h3.int_to_str(int(cell)))]


def cell_to_polygon(cell: int, digits: int | None = None) -> dict[str, Any]:
    """One cell as a GeoJSON Polygon: closed ring of ``[lng, lat]`` (h3 gives lat, lng),
    coordinates rounded to ``digits`` decimals when given."""
    pairs = cell_to_boundary(cell)
    if digits is not None:
        pairs = [(round(lat, digits), round(lng, digits)) for lat, lng in pairs]
    ring = [[lng, lat] for lat, lng in pairs]
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def cells_to_geojson(
    cells: npt.ArrayLike, properties: Mapping[str, npt.ArrayLike] | None = None
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection with one polygon per cell and optional per-cell properties."""
    arr = np.asarray(cells, dtype=np.uint64)
    props = {k: np.asarray(v) for k, v in (properties or {}).items()}
    features = []
    for i, c in enumerate(arr):
        p: dict[str, Any] = {"cell": format(int(c), "x")}
        p.update({k: v[i].item() if hasattr(v[i], "item") else v[i] for k, v in props.items()})
        features.append({"type": "Feature", "geometry": cell_to_polygon(int(c)), "properties": p})
    return {"type": "FeatureCollection", "features": features}
