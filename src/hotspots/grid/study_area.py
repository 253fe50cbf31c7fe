"""The study area: the fixed, sorted set of H3 cells every panel and forecast covers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3
import numpy as np
import numpy.typing as npt

from hotspots.errors import ConfigError
from hotspots.grid.cells import (
    HAVE_H3RONPY,
    CellArray,
    _to_uint64,
    cell_area_km2,
    cells_area_km2,
    cells_resolution,
    cells_to_latlng,
    check_resolution,
    grid_disk_cells,
    points_to_cells,
)
from hotspots.ingest.coords import read_boundary


@dataclass(frozen=True, eq=False)
class StudyArea:
    """Sorted unique ``uint64`` cells at one resolution; positions index panel columns."""

    cells: CellArray
    resolution: int

    def __post_init__(self) -> None:
        cells = np.unique(np.asarray(self.cells, dtype=np.uint64))
        if cells.size and cells_resolution(cells) != self.resolution:
            raise ConfigError(
                f"study area cells are at resolution {cells_resolution(cells)}, "
                f"not {self.resolution}"
            )
        object.__setattr__(self, "cells", cells)

    def __len__(self) -> int:
        return int(self.cells.size)

    @property
    def area_km2(self) -> float:
        """The sum of the cells' own areas: what a forecast document or a plan reports (H3
        cells of one resolution differ in area by place, 12% above the average at 30 deg N,
        so the cell count x the average cell area would be off)."""
        return float(cells_area_km2(self.cells).sum()) if len(self) else 0.0

    def index_of(self, cells: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Position of each cell in the study area, -1 where it is outside."""
        arr = np.asarray(cells, dtype=np.uint64)
        if self.cells.size == 0:
            return np.full(arr.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.cells, arr)
        pos_c = np.minimum(pos, self.cells.size - 1)
        return np.where(self.cells[pos_c] == arr, pos_c, -1).astype(np.int64)

    def contains(self, cells: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """True where a cell is in the study area."""
        return self.index_of(cells) >= 0

    def grown(self, k: int) -> StudyArea:
        """This area plus every cell within ``k`` rings of it."""
        return StudyArea(grid_disk_cells(self.cells, k), self.resolution)

    @classmethod
    def from_points(
        cls, lat: npt.ArrayLike, lng: npt.ArrayLike, resolution: int, k: int = 0
    ) -> StudyArea:
        """The cells that hold at least one point, grown by ``k`` rings."""
        res = check_resolution(resolution)
        cells = np.unique(points_to_cells(lat, lng, res))
        return cls(grid_disk_cells(cells, k), res)

    @classmethod
    def from_geometry(cls, geometry: Any, resolution: int, k: int = 0) -> StudyArea:
        """Cells whose centre lies in a (multi)polygon given in WGS84 lng/lat."""
        res = check_resolution(resolution)
        parts = list(getattr(geometry, "geoms", [geometry]))
        found: list[CellArray] = []
        for part in parts:
            if part.geom_type != "Polygon" or part.is_empty:
                continue
            if HAVE_H3RONPY:
                import h3ronpy.vector as h3v

                found.append(_to_uint64(h3v.geometry_to_cells(part, res)))
            else:  # pragma: no cover
                shape = h3.geo_to_h3shape(part.__geo_interface__)
                found.append(
                    np.array([h3.str_to_int(c) for c in h3.h3shape_to_cells(shape, res)], np.uint64)
                )
        cells = np.unique(np.concatenate(found)) if found else np.empty(0, np.uint64)
        if cells.size == 0:
            raise ConfigError(
                f"the boundary covers no H3 cell centre at resolution {res}; "
                "use a finer resolution or check the boundary's coordinates"
            )
        return cls(grid_disk_cells(cells, k), res)

    @classmethod
    def from_boundary(cls, path: str | Path, resolution: int, k: int = 0) -> StudyArea:
        """Cells covering the polygons of a GeoJSON / GeoPackage / Shapefile boundary."""
        return cls.from_geometry(read_boundary(path), resolution, k)


KM_PER_DEGREE = 111.0
"""Kilometres per degree of latitude (and of longitude at the equator), near enough to pad."""


def cells_to_bbox(
    cells: npt.ArrayLike, resolution: int, pad_cells: float = 2.0
) -> tuple[float, float, float, float]:
    """South, west, north, east of the cells' centres, padded by ``pad_cells`` cell widths
    (the box a batch of a few posted rows is screened against, having no useful median)."""
    lat, lng = cells_to_latlng(np.asarray(cells, dtype=np.uint64))
    pad = pad_cells * float(np.sqrt(cell_area_km2(resolution))) / KM_PER_DEGREE
    cos = max(float(np.cos(np.radians(np.abs(lat).max()))), 0.1)
    return (
        float(lat.min()) - pad,
        float(lng.min()) - pad / cos,
        float(lat.max()) + pad,
        float(lng.max()) + pad / cos,
    )
