"""The demo files: raw export, weekly truth, boundary, metadata, column map and timezone."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry import box, mapping

from hotspots.grid import cells_to_strings
from hotspots.synthetic.city import City
from hotspots.synthetic.oracle import origin_truth_frame
from hotspots.synthetic.profiles import (
    CATEGORIES,
    COLUMN_MAP,
    DISCRETIONARY,
    GZIP,
    NAME,
    TIMEZONE,
)

logger = logging.getLogger(__name__)


def write_city(city: City, out_dir: str | Path) -> dict[str, Path]:
    """Write the demo files into ``out_dir`` (created if needed), each atomically.

    ``events.csv.gz`` (the raw export), ``truth_W.parquet`` (weekly truth: the compensator,
    which knows each week's own near repeats), ``truth_origin_W.parquet`` (the weekly oracle a
    forecast can be held to: expected counts given the events before each week, see
    ``synthetic.oracle``), both with cells as H3 strings, ``boundary.geojson``, ``city.json``
    and, for the Makefile's demo, ``column_map.txt`` and ``timezone.txt``. Returns their
    paths keyed by file name.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = pd.array(cells_to_strings(city.cells), dtype="str")  # one string per cell, not row
    truths = {}
    for name, frame in (
        ("truth_W.parquet", city.truth_frame("W")),
        ("truth_origin_W.parquet", origin_truth_frame(city, "W")),
    ):
        frame["cell"] = names.take(np.searchsorted(city.cells, frame["cell"].to_numpy()))
        truths[name] = frame
    writers: dict[str, Callable[[Path], Any]] = {
        "events.csv.gz": lambda p: _write_csv_gz(city.raw, p, "events.csv.gz"),
        "truth_W.parquet": lambda p: truths["truth_W.parquet"].to_parquet(p, index=False),
        "truth_origin_W.parquet": (
            lambda p: truths["truth_origin_W.parquet"].to_parquet(p, index=False)
        ),
        "boundary.geojson": lambda p: p.write_text(json.dumps(_boundary(city.bbox))),
        "city.json": lambda p: p.write_text(json.dumps(_metadata(city), indent=2)),
        "column_map.txt": lambda p: p.write_text(COLUMN_MAP + "\n"),
        "timezone.txt": lambda p: p.write_text(TIMEZONE + "\n"),
    }
    paths = {name: _write_atomic(out / name, write) for name, write in writers.items()}
    logger.info("wrote %s to %s", NAME, out)
    return paths


def _write_atomic(path: Path, write: Callable[[Path], Any]) -> Path:
    """Write through a temporary name in the same directory, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_csv_gz(frame: pd.DataFrame, path: Path, name: str) -> None:
    """Gzip CSV whose header names ``name``, not the temporary file (same city, same bytes)."""
    with path.open("wb") as fh:  # gzip takes its header's file name from the handle otherwise
        frame.to_csv(fh, index=False, compression={**GZIP, "filename": name})


def _boundary(bbox: tuple[float, float, float, float]) -> dict[str, Any]:
    """The bounding box as a GeoJSON FeatureCollection (coordinates in GeoJSON's lng, lat)."""
    polygon = mapping(box(bbox[1], bbox[0], bbox[3], bbox[2]))  # box(minx=lng, miny=lat, ...)
    feature = {"type": "Feature", "properties": {"name": NAME}, "geometry": polygon}
    return {"type": "FeatureCollection", "features": [feature]}


def _metadata(city: City) -> dict[str, Any]:
    """What ``city.json`` records: how the city was made and how to read its files."""
    return {
        "name": NAME,
        "seed": city.seed,
        "start": city.start.date().isoformat(),
        "days": city.days,
        "resolution": city.area.resolution,
        "timezone": TIMEZONE,
        "bbox": dict(zip(("min_lat", "min_lng", "max_lat", "max_lng"), city.bbox, strict=True)),
        "categories": list(CATEGORIES),
        "discretionary": list(DISCRETIONARY),
        "n_events": len(city.events),
        "n_raw_rows": len(city.raw),
        "defects": city.defects,
        "column_map": COLUMN_MAP,
    }
