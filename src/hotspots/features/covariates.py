"""Static cell covariates from GeoJSON / GeoPackage layers: counts, distances, area shares.

    layers = [
        CovariateLayer("bars.geojson", "count", "bars"),
        CovariateLayer("stations.gpkg", "distance", "station_km"),
        CovariateLayer("landuse.geojson", "area_share", "retail_share", where="kind=retail"),
    ]
    frame = cell_covariates(panel.cells, layers)   # indexed by cell (uint64)

``count``: point features per cell. ``distance``: km from the cell centre to the nearest
feature (0 inside a polygon). ``area_share``: share of the cell's area covered by polygons
(overlapping polygons count once). Distances and areas are measured in a local UTM CRS
estimated from the cells, so they are metric, not degrees.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from hotspots.errors import ConfigError, InputFileError
from hotspots.grid import cell_to_boundary, cells_resolution, cells_to_latlng, points_to_cells

logger = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("count", "distance", "area_share")
_POINTS = {"Point", "MultiPoint"}
_POLYGONS = {"Polygon", "MultiPolygon"}
WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class CovariateLayer:
    """One covariate: a file, what to measure and the column name.

    ``where`` keeps only features whose ``column`` equals ``value`` (compared as text),
    written ``"column=value"``.
    """

    path: str | Path
    kind: str
    name: str
    where: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(
                f"covariate {self.name!r}: kind must be one of {list(KINDS)}, got {self.kind!r}"
            )
        if not str(self.name).strip():
            raise ConfigError(f"covariate from {self.path}: the name is empty")
        if self.where is not None and "=" not in self.where:
            raise ConfigError(
                f"covariate {self.name!r}: where must look like 'column=value', got {self.where!r}"
            )


def cell_covariates(cells: npt.ArrayLike, layers: Sequence[CovariateLayer]) -> pd.DataFrame:
    """One float column per layer, one row per cell; the index is the cell (uint64)."""
    arr = np.asarray(cells, dtype=np.uint64)
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ConfigError(f"covariate names must be unique, got {names}")
    index = pd.Index(arr, dtype=np.uint64, name="cell")
    frame = pd.DataFrame(index=index)
    for layer in layers:
        frame[layer.name] = _measure(arr, layer, read_layer(layer))
    return frame


def read_layer(layer: CovariateLayer) -> gpd.GeoDataFrame:
    """The layer's features in WGS84 (a file without a CRS is taken as WGS84, as GeoJSON is)."""
    path = Path(layer.path)
    if not path.is_file():
        raise InputFileError(f"covariate {layer.name!r}: file {path} does not exist")
    try:
        frame = gpd.read_file(path)
    except Exception as err:  # pyogrio raises several types for unreadable files
        raise InputFileError(f"covariate {layer.name!r}: cannot read {path}: {err}") from err
    frame = frame.set_crs(WGS84) if frame.crs is None else frame.to_crs(WGS84)
    if layer.where is not None:
        column, _, value = layer.where.partition("=")
        column = column.strip()
        if column not in frame.columns:
            raise ConfigError(
                f"covariate {layer.name!r}: column {column!r} (in where) is not in {path}; "
                f"columns are: {[c for c in frame.columns if c != 'geometry']}"
            )
        frame = frame[frame[column].astype(str) == value.strip()]
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    return gpd.GeoDataFrame(frame, geometry=frame.geometry.name, crs=WGS84)


def _measure(cells: npt.NDArray[np.uint64], layer: CovariateLayer, frame: Any) -> Any:
    """The layer's value for every cell."""
    types = set(frame.geom_type)
    allowed = {"count": _POINTS, "area_share": _POLYGONS}.get(layer.kind)
    if allowed is not None and not types <= allowed:
        raise InputFileError(
            f"covariate {layer.name!r} ({layer.kind}) needs "
            f"{' or '.join(sorted(allowed))} features; {layer.path} has {sorted(types)}"
        )
    if len(frame) == 0:
        logger.warning("covariate %r: no features in %s", layer.name, layer.path)
        return np.full(cells.size, np.nan if layer.kind == "distance" else 0.0)
    if layer.kind == "count":
        return _point_counts(cells, frame)
    if layer.kind == "distance":
        return _nearest_km(cells, frame)
    return _area_share(cells, frame)


def _point_counts(cells: npt.NDArray[np.uint64], frame: Any) -> npt.NDArray[np.float64]:
    points = frame.geometry.explode(index_parts=False)
    found = points_to_cells(points.y.to_numpy(), points.x.to_numpy(), cells_resolution(cells))
    pos = np.minimum(np.searchsorted(cells, found), cells.size - 1)
    inside = cells[pos] == found
    return np.bincount(pos[inside], minlength=cells.size).astype(np.float64)


def _local_crs(cells: npt.NDArray[np.uint64]) -> Any:
    lat, lng = cells_to_latlng(cells)
    # shapely points are (x=lng, y=lat)
    return gpd.GeoSeries(gpd.points_from_xy(lng, lat), crs=WGS84).estimate_utm_crs()


def _nearest_km(cells: npt.NDArray[np.uint64], frame: Any) -> npt.NDArray[np.float64]:
    crs = _local_crs(cells)
    lat, lng = cells_to_latlng(cells)
    centres = gpd.GeoSeries(gpd.points_from_xy(lng, lat), crs=WGS84).to_crs(crs)  # x=lng
    tree = shapely.STRtree(frame.geometry.to_crs(crs).to_numpy())
    (which, _), dist = tree.query_nearest(
        centres.to_numpy(), return_distance=True, all_matches=False
    )
    out = np.full(cells.size, np.nan)
    out[which] = dist / 1000.0
    return out


def _hexagons(cells: npt.NDArray[np.uint64]) -> gpd.GeoSeries:
    """Cell polygons in WGS84; h3 gives (lat, lng) vertices, shapely wants (x=lng, y=lat)."""
    shapes = [shapely.Polygon([(lng, lat) for lat, lng in cell_to_boundary(int(c))]) for c in cells]
    return gpd.GeoSeries(shapes, crs=WGS84)


def _area_share(cells: npt.NDArray[np.uint64], frame: Any) -> npt.NDArray[np.float64]:
    crs = _local_crs(cells)
    hexes = _hexagons(cells).to_crs(crs).to_numpy()
    cover = shapely.union_all(frame.geometry.to_crs(crs).to_numpy())  # overlaps count once
    shared = shapely.area(shapely.intersection(hexes, cover))
    return np.clip(shared / shapely.area(hexes), 0.0, 1.0)
