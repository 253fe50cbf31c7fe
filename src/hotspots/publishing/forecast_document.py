"""Publish a forecast once: rank the cells, explain them and serialise every common view.

    snapshot = publish_forecast(model, panel, name="burglary", version="3", as_of="2024-03-04")
    snapshot.view(top=25).bytes            # pre-built: the endpoint only picks bytes
    snapshot.view(coverage=0.01, within="North", fmt="geojson")

See ``hotspots.publishing.snapshot`` for the JSON / GeoJSON shapes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import poisson

from hotspots.errors import ConfigError, DataValidationError
from hotspots.evaluation import rank_cells
from hotspots.features import Panel, period_range
from hotspots.forecasters import Forecaster, origin_of
from hotspots.forecasters.explain import MAX_REASONS, Reasons, relative_risk
from hotspots.grid import (
    StudyArea,
    cell_to_polygon,
    cells_area_km2,
    cells_to_latlng,
    cells_to_strings,
)
from hotspots.publishing.snapshot import (
    PREBUILT_TOPS,
    RankedPeriod,
    Snapshot,
    View,
    cell_fragments,
    dumps,
    feature_fragments,
)
from hotspots.publishing.suppression import checked_min_events, withheld

log = logging.getLogger(__name__)

INTERVAL = (0.1, 0.9)
"""Quantiles of the Poisson prediction interval (an 80% interval)."""

FloatArray = npt.NDArray[np.float64]


def poisson_interval(mean: npt.ArrayLike) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """10% and 90% quantiles of a Poisson count with each ``mean`` (vectorised).

    This is the spread of the count around the point forecast, not model uncertainty.
    """
    mu = np.asarray(mean, dtype=np.float64)
    low, high = (poisson.ppf(q, mu) for q in INTERVAL)
    return np.nan_to_num(low).astype(np.int32), np.nan_to_num(high).astype(np.int32)


def publish_forecast(
    model: Forecaster,
    panel: Panel,
    *,
    name: str,
    version: str,
    as_of: Any,
    horizon: int = 1,
    issued_at: Any = None,
    min_events_shown: int = 0,
    areas: Mapping[str, npt.ArrayLike] | None = None,
) -> Snapshot:
    """Forecast, rank, explain and serialise once; the result only serves bytes.

    Parameters
    ----------
    model, panel, as_of, horizon
        As ``model.predict(panel, as_of, horizon)``.
    name, version
        The published model's name and version (shown in every document).
    issued_at
        When it is published (default now); naive times are taken as UTC.
    min_events_shown
        Cells with fewer target events in the history are ranked but marked
        ``suppressed`` and their drivers carry no counts.
    areas
        Named areas for ``view(within=...)``: a boolean mask over the model's cells or an
        array of cells (cells outside the study area are ignored).
    """
    checked_min_events(min_events_shown)  # before the model is asked
    frame = model.predict(panel, as_of, horizon)
    cells = np.asarray(model.cells_, dtype=np.uint64)
    origin = origin_of(panel.periods, panel.freq, as_of, horizon)
    if origin.history_end < 1:
        raise DataValidationError(f"the panel has no whole period before as_of {as_of!r}")
    mean = frame["expected_count"].to_numpy(np.float64).reshape(horizon, cells.size)
    events = history_events(panel, cells, model.target_, origin.history_end)
    suppressed = withheld(events, min_events_shown)
    rr = np.stack([relative_risk(row) for row in mean])
    drivers = model.explain(panel, as_of, horizon, hide_counts=suppressed)
    lat, lng = cells_to_latlng(cells)
    area = cells_area_km2(cells)
    starts = pd.DatetimeIndex(origin.targets)
    ends = [pd.Timestamp(period_range(s, s + pd.Timedelta(days=40), panel.freq)[1]) for s in starts]
    tables = tuple(
        _ranked(
            starts[h],
            ends[h],
            cells,
            mean[h],
            rr[h],
            (lat, lng, area),
            events,
            suppressed,
            drivers,
            h,
        )
        for h in range(horizon)
    )
    strings = cells_to_strings(cells).tolist()
    snapshot = Snapshot(
        name=str(name),
        version=str(version),
        as_of=pd.Timestamp(as_of),
        issued_at=_utc(issued_at),
        data_through=pd.Timestamp(panel.periods[origin.history_end - 1]),
        periods=tuple(zip(starts, ends, strict=True)),
        target=tuple(model.target_),
        tables=tables,
        documents=(View(b"", b"", ""),),  # replaced below, once the fragments exist
        geojson=View(b"", b"", ""),
        areas=_area_masks(areas or {}, cells),
        _props=tuple(cell_fragments(t, strings) for t in tables),
        _feature_props=tuple(feature_fragments(t, strings, MAX_REASONS) for t in tables),
        _geoms=_geometry_fragments(cells),
    )
    everything = np.arange(cells.size, dtype=np.int64)
    documents = tuple(snapshot.render(h, everything, "json", False) for h in range(horizon))
    object.__setattr__(snapshot, "documents", documents)
    object.__setattr__(snapshot, "geojson", snapshot.render(0, everything, "geojson", False))
    for top in PREBUILT_TOPS:
        if top <= cells.size:
            snapshot.view(top=top)
    log.info("published %s %s as of %s: %d cells", name, version, as_of, cells.size)
    return snapshot


def history_events(
    panel: Panel, cells: npt.NDArray[np.uint64], target: tuple[str, ...], end: int
) -> npt.NDArray[np.int64]:
    """Target events per cell (aligned to ``cells``) in the panel's first ``end`` periods."""
    idx = [panel.categories.index(c) for c in target if c in panel.categories]
    per_cell = panel.counts[idx, :end].sum(axis=(0, 1), dtype=np.int64)
    out = np.zeros(cells.size, dtype=np.int64)
    found = StudyArea(panel.cells, panel.resolution).index_of(cells)
    out[found >= 0] = per_cell[found[found >= 0]]
    return out


def _ranked(
    start: pd.Timestamp,
    end: pd.Timestamp,
    cells: npt.NDArray[np.uint64],
    mean: FloatArray,
    rr: FloatArray,
    place: tuple[FloatArray, FloatArray, FloatArray],
    events: npt.NDArray[np.int64],
    suppressed: npt.NDArray[np.bool_],
    drivers: Reasons,
    h: int,
) -> RankedPeriod:
    """One period's cells in rank order: highest expected count first, ties by cell id."""
    order = rank_cells(mean, cells)
    mu = mean[order]
    low, high = poisson_interval(mu)
    lat, lng, area = place
    texts = drivers.texts[h]
    return RankedPeriod(
        start=start,
        end=end,
        order=order,
        cell=cells[order],
        rank=np.arange(1, cells.size + 1, dtype=np.int32),
        expected_count=mu,
        low=low,
        high=high,
        relative_risk=rr[order],
        lat=lat[order],
        lng=lng[order],
        area_km2=area[order],
        events=events[order],
        suppressed=suppressed[order],
        driver_features=drivers.features[h][order],
        drivers=tuple(texts[i] for i in order.tolist()),
    )


def _geometry_fragments(cells: npt.NDArray[np.uint64]) -> list[bytes]:
    """Each cell's GeoJSON Polygon: ``[lng, lat]`` (h3 gives lat, lng), ring closed."""
    return [dumps(cell_to_polygon(c, digits=6)).encode() for c in cells.tolist()]


def _area_masks(
    areas: Mapping[str, npt.ArrayLike], cells: npt.NDArray[np.uint64]
) -> dict[str, npt.NDArray[np.bool_]]:
    """Each named area as a boolean mask over ``cells``."""
    out: dict[str, npt.NDArray[np.bool_]] = {}
    for area_name, value in areas.items():
        arr = np.asarray(value)
        if arr.dtype == bool:
            if arr.shape != cells.shape:
                raise ConfigError(
                    f"area {area_name!r} is a mask of {arr.shape[0] if arr.ndim else 0} values; "
                    f"the model has {cells.size} cells"
                )
            out[str(area_name)] = arr.copy()
        else:
            out[str(area_name)] = np.isin(cells, arr.astype(np.uint64))
    return out


def _utc(value: Any) -> pd.Timestamp:
    """``value`` (default now) as a UTC timestamp; naive times are UTC."""
    if value is None:
        return pd.Timestamp.now(tz="UTC").floor("ms")  # two publishes never share a stem
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"issued_at must be a date and time, got {value!r}") from err
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def areas_from_boundary_file(
    path: str | Path, name_field: str, cells: npt.ArrayLike, resolution: int
) -> dict[str, npt.NDArray[np.bool_]]:
    """Named areas from a polygon file: for each ``name_field`` value, a mask over ``cells``.

    A cell is in an area when its centre is (``StudyArea.from_geometry``); features sharing
    a name are merged.
    """
    import geopandas as gpd

    from hotspots.errors import InputFileError

    cells_a = np.asarray(cells, dtype=np.uint64)
    try:
        frame = gpd.read_file(Path(path))
    except Exception as err:  # the GDAL drivers raise many types; name the file once
        raise InputFileError(f"cannot read boundary file {path}: {err}") from err
    if name_field not in frame.columns:
        raise ConfigError(
            f"field {name_field!r} not found in {path}; fields are: "
            f"{[c for c in frame.columns if c != 'geometry']}"
        )
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    out: dict[str, npt.NDArray[np.bool_]] = {}
    for area_name, group in frame.groupby(name_field, sort=True):
        try:
            inside = StudyArea.from_geometry(group.geometry.union_all(), resolution).cells
        except ConfigError:  # the polygon holds no cell centre at this resolution
            inside = np.empty(0, dtype=np.uint64)
        out[str(area_name)] = np.isin(cells_a, inside)
    return out
