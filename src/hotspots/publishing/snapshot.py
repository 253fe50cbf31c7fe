"""A published forecast: ranked arrays plus pre-serialised JSON / GeoJSON bytes and ETags.

Dashboards poll the latest forecast every few seconds, so nothing is computed per request:
each cell's JSON is serialised once at publish time (``publish_forecast``) and a view is
the join of the chosen cells' fragments, built once and kept in a small LRU cache.

JSON document (``fmt="json"``), one forecast period::

    {"issued_at": "2024-03-04T08:00:00Z", "model": {"name": ..., "version": ...},
     "data_through": "2024-02-26",          # start of the last history period
     "as_of": "2024-03-04", "period": {"start": "2024-03-04", "end": "2024-03-11"},
     "target": ["Burglary"],
     "budget": {"cells": k, "area_km2": 3.72, "coverage": 0.01},
     "hotspots": [{"rank": 1, "cell": "88...", "expected_count": 2.31,
                   "interval": {"low": 0, "high": 4, "level": 0.8},
                   "relative_risk": 7.9, "centroid": {"lat": ..., "lng": ...},
                   "drivers": ["..."], "suppressed": false,
                   "boundary": {"type": "Polygon", ...}}]}   # boundary only if asked

``period.end`` is exclusive (the next period's start). ``rank`` is the rank among every study
cell, also in a filtered view. ``interval`` is the central 80% interval of a Poisson count
with the forecast mean: the spread of the count around the point forecast, NOT the model's
uncertainty about the mean. GeoJSON (``fmt="geojson"``) is a FeatureCollection of Polygon
features (``[lng, lat]``, rings closed) with the document fields as foreign members, which
Kepler.gl, deck.gl, Leaflet and QGIS open as is. Its properties are the same values, flat and
typed, the same fields on every feature (a GeoPackage or shapefile column each, which QGIS
can style; nested objects would become text)::

    {"rank": 1, "cell": "88...", "expected_count": 2.31, "interval_low": 0,
     "interval_high": 4, "interval_level": 0.8, "relative_risk": 7.9, "centroid_lat": ...,
     "centroid_lng": ..., "driver_1": "...", "driver_2": "...", "driver_3": null,
     "suppressed": false}
"""

from __future__ import annotations

import builtins
import gzip
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.evaluation.metrics import flagged_count

CACHE_SIZE = 256
"""Distinct views kept per snapshot."""

DEFAULT_TOP = 100
PREBUILT_TOPS: tuple[int, ...] = (10, 25, 50, 100, 250)
"""JSON views of the first period built at publish time, so the first poll is fast too."""

FORMATS = ("json", "geojson")
_SEPARATORS = (",", ":")


@dataclass(frozen=True)
class View:
    """One serialised view: the bytes, the same gzipped, and a strong ETag."""

    bytes: builtins.bytes
    gzip_bytes: builtins.bytes
    etag: str

    @classmethod
    def of(cls, data: builtins.bytes) -> View:
        """Gzip (deterministic: no timestamp) and hash ``data``."""
        return cls(data, gzip.compress(data, compresslevel=6, mtime=0), strong_etag(data))


def strong_etag(data: bytes) -> str:
    """``"`` + sha256 hex of ``data`` + ``"``: equal bytes, equal ETag."""
    return f'"{hashlib.sha256(data).hexdigest()}"'


def dumps(obj: Any) -> str:
    """Compact JSON (no spaces), UTF-8 kept as is."""
    return json.dumps(obj, separators=_SEPARATORS, ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True, eq=False)
class RankedPeriod:
    """One forecast period's study cells in rank order (compact numpy arrays).

    ``order[r]`` is the position (in the model's sorted cells) of the cell ranked ``r + 1``;
    ``low``/``high`` bound the 80% Poisson interval; ``events`` counts the target events in
    the cell's history; ``drivers[r]`` are its reasons.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    order: npt.NDArray[np.int64]
    cell: npt.NDArray[np.uint64]
    rank: npt.NDArray[np.int32]
    expected_count: npt.NDArray[np.float64]
    low: npt.NDArray[np.int32]
    high: npt.NDArray[np.int32]
    relative_risk: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    lng: npt.NDArray[np.float64]
    area_km2: npt.NDArray[np.float64]
    events: npt.NDArray[np.int64]
    suppressed: npt.NDArray[np.bool_]
    driver_features: npt.NDArray[np.int16]
    drivers: tuple[tuple[str, ...], ...]

    def __len__(self) -> int:
        return int(self.cell.size)


@dataclass(frozen=True, eq=False)
class Snapshot:
    """A forecast as published: metadata, ranked tables, full documents and cached views.

    ``json_bytes`` / ``geojson_bytes`` hold every study cell of the first period (the whole
    ranked list when ``horizon == 1``); ``etag`` is the strong ETag of ``json_bytes``;
    ``documents[h]`` is the full JSON document of period ``h``.
    """

    name: str
    version: str
    as_of: pd.Timestamp
    issued_at: pd.Timestamp
    data_through: pd.Timestamp
    periods: tuple[tuple[pd.Timestamp, pd.Timestamp], ...]
    target: tuple[str, ...]
    tables: tuple[RankedPeriod, ...]
    documents: tuple[View, ...]
    geojson: View
    areas: Mapping[str, npt.NDArray[np.bool_]] = field(repr=False)
    _props: tuple[list[bytes], ...] = field(repr=False)
    _feature_props: tuple[list[bytes], ...] = field(repr=False)
    _geoms: list[bytes] = field(repr=False)
    _cache: OrderedDict[tuple[Any, ...], View] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def etag(self) -> str:
        """Strong ETag of the full JSON document."""
        return self.documents[0].etag

    @property
    def json_bytes(self) -> bytes:
        """The full ranked list of the first period as JSON."""
        return self.documents[0].bytes

    @property
    def json_gzip(self) -> bytes:
        """``json_bytes`` gzipped."""
        return self.documents[0].gzip_bytes

    @property
    def geojson_bytes(self) -> bytes:
        """The full ranked list of the first period as a GeoJSON FeatureCollection."""
        return self.geojson.bytes

    @property
    def geojson_gzip(self) -> bytes:
        """``geojson_bytes`` gzipped."""
        return self.geojson.gzip_bytes

    @property
    def n_cells(self) -> int:
        """Number of study cells."""
        return len(self.tables[0])

    def view(
        self,
        top: int | None = None,
        area_km2: float | None = None,
        coverage: float | None = None,
        bbox: Sequence[float] | None = None,
        within: str | None = None,
        fmt: str = "json",
        boundary: bool = False,
        period: int = 0,
    ) -> View:
        """The top cells under one budget, after the ``bbox`` / ``within`` filters.

        Give at most one of ``top`` (cells), ``area_km2`` (the top cells whose areas add up
        to at most this, at least one) or ``coverage`` (a share of the study cells, rounded
        like ``evaluation.flagged_count``); the default is ``top=100`` (every cell if fewer).
        ``bbox`` is ``(south, west, north, east)`` in degrees and keeps cells whose centre is
        inside; ``within`` names one of the snapshot's areas. ``boundary`` adds each cell's
        polygon to JSON (GeoJSON always has it); ``period`` picks the forecast period.
        Each distinct view is built once (LRU of ``CACHE_SIZE``).
        """
        if sum(b is not None for b in (top, area_km2, coverage)) > 1:
            raise ConfigError(
                "give exactly one of top, area_km2 or coverage, got "
                f"top={top!r}, area_km2={area_km2!r}, coverage={coverage!r}"
            )
        if top is None and area_km2 is None and coverage is None:
            top = min(DEFAULT_TOP, self.n_cells)
        box = None if bbox is None else tuple(float(v) for v in bbox)
        key = (top, area_km2, coverage, box, within, fmt, bool(boundary), period)
        with self._lock:
            if (hit := self._cache.get(key)) is not None:
                self._cache.move_to_end(key)
                return hit
        built = self._build_view(top, area_km2, coverage, box, within, fmt, boundary, period)
        with self._lock:
            self._cache[key] = built
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return built

    # -- building ------------------------------------------------------------------------
    def _build_view(
        self,
        top: int | None,
        area_km2: float | None,
        coverage: float | None,
        bbox: tuple[float, ...] | None,
        within: str | None,
        fmt: str,
        boundary: bool,
        period: int,
    ) -> View:
        if fmt not in FORMATS:
            raise ConfigError(f"fmt must be one of {list(FORMATS)}, got {fmt!r}")
        if not isinstance(period, int | np.integer) or not 0 <= period < len(self.tables):
            raise ConfigError(
                f"period must be between 0 and {len(self.tables) - 1}, got {period!r}"
            )
        table = self.tables[period]
        chosen = self._filter(table, bbox, within)
        k = self._budget_cells(table, chosen, top, area_km2, coverage)
        return self.render(period, chosen[:k], fmt, boundary)

    def _filter(
        self, table: RankedPeriod, bbox: tuple[float, ...] | None, within: str | None
    ) -> npt.NDArray[np.int64]:
        """Rank positions of the cells that pass the filters, best first."""
        keep = np.ones(len(table), dtype=bool)
        if bbox is not None:
            if len(bbox) != 4 or not (
                -90 <= bbox[0] < bbox[2] <= 90 and -180 <= bbox[1] < bbox[3] <= 180
            ):
                raise ConfigError(
                    f"bbox must be (south, west, north, east) with south < north and west < "
                    f"east, got {bbox!r}"
                )
            keep &= (table.lat >= bbox[0]) & (table.lat <= bbox[2])
            keep &= (table.lng >= bbox[1]) & (table.lng <= bbox[3])
        if within is not None:
            if within not in self.areas:
                known = ", ".join(map(repr, sorted(self.areas))) or "none are configured"
                raise ConfigError(f"within {within!r} is not a named area; areas: {known}")
            keep &= self.areas[within][table.order]
        return np.flatnonzero(keep)

    def _budget_cells(
        self,
        table: RankedPeriod,
        chosen: npt.NDArray[np.int64],
        top: int | None,
        area_km2: float | None,
        coverage: float | None,
    ) -> int:
        """How many of the ``chosen`` cells the budget allows."""
        n = len(table)
        if top is not None:
            if isinstance(top, bool) or not isinstance(top, int | np.integer) or not 1 <= top <= n:
                raise ConfigError(f"top must be between 1 and {n}, got {top!r}")
            k = int(top)
        elif coverage is not None:
            if not 0 < float(coverage) <= 1:
                raise ConfigError(f"coverage must be in (0, 1], got {coverage!r}")
            k = flagged_count(n, float(coverage))
        else:
            if not 0 < float(area_km2 or 0.0) < float("inf"):
                raise ConfigError(f"area_km2 must be a finite number > 0, got {area_km2!r}")
            cum = np.cumsum(table.area_km2[chosen])
            k = max(1, int(np.searchsorted(cum, float(area_km2 or 0.0) * (1 + 1e-9), "right")))
        return min(k, chosen.size)

    def render(
        self, period: int, positions: npt.NDArray[np.int64], fmt: str, boundary: bool
    ) -> View:
        """Serialise the cells at rank ``positions`` of ``period`` (no cache)."""
        table = self.tables[period]
        start, end = self.periods[period]
        area = float(table.area_km2[positions].sum())
        head = {
            "issued_at": iso_utc(self.issued_at),
            "model": {"name": self.name, "version": self.version},
            "data_through": iso_local(self.data_through),
            "as_of": iso_local(self.as_of),
            "period": {"start": iso_local(start), "end": iso_local(end)},
            "target": list(self.target),
            "budget": {
                "cells": int(positions.size),
                "area_km2": round(area, 4),
                "coverage": round(positions.size / len(table), 6),
            },
        }
        props = self._props[period]
        cells = table.order[positions].tolist()
        if fmt == "geojson":
            flat = self._feature_props[period]
            items = [
                b'{"type":"Feature","geometry":%b,"properties":{%b}}' % (self._geoms[c], flat[r])
                for r, c in zip(positions.tolist(), cells, strict=True)
            ]
            opening = dumps({"type": "FeatureCollection", **head})[:-1] + ',"features":['
        else:
            if boundary:
                items = [
                    b'{%b,"boundary":%b}' % (props[r], self._geoms[c])
                    for r, c in zip(positions.tolist(), cells, strict=True)
                ]
            else:
                items = [b"{%b}" % props[r] for r in positions.tolist()]
            opening = dumps(head)[:-1] + ',"hotspots":['
        return View.of(opening.encode() + b",".join(items) + b"]}")


def iso_local(ts: pd.Timestamp) -> str:
    """A naive local time as ISO text: the date alone at midnight."""
    return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()


def iso_utc(ts: pd.Timestamp) -> str:
    """A UTC time as ISO text ending in ``Z``."""
    return ts.tz_convert("UTC").tz_localize(None).isoformat() + "Z"


def cell_fragments(table: RankedPeriod, cell_strings: Sequence[str]) -> list[bytes]:
    """Each ranked cell's JSON properties without braces, serialised once."""
    return [
        dumps(
            {
                "rank": rank,
                "cell": cell,
                "expected_count": mu,
                "interval": {"low": low, "high": high, "level": 0.8},
                "relative_risk": rr,
                "centroid": {"lat": lat, "lng": lng},
                "drivers": list(drivers),
                "suppressed": hidden,
            }
        )[1:-1].encode()
        for rank, cell, mu, low, high, rr, lat, lng, drivers, hidden in _rows(table, cell_strings)
    ]


def feature_fragments(
    table: RankedPeriod, cell_strings: Sequence[str], n_drivers: int
) -> list[bytes]:
    """Each ranked cell's GeoJSON properties without braces: the values of
    ``cell_fragments``, flat, with ``driver_1..n_drivers`` (null past a cell's drivers)."""
    out = []
    for rank, cell, mu, low, high, rr, lat, lng, drivers, hidden in _rows(table, cell_strings):
        named = list(drivers)[:n_drivers]
        props = {
            "rank": rank,
            "cell": cell,
            "expected_count": mu,
            "interval_low": low,
            "interval_high": high,
            "interval_level": 0.8,
            "relative_risk": rr,
            "centroid_lat": lat,
            "centroid_lng": lng,
            **{f"driver_{i + 1}": named[i] if i < len(named) else None for i in range(n_drivers)},
            "suppressed": hidden,
        }
        out.append(dumps(props)[1:-1].encode())
    return out


def _rows(table: RankedPeriod, cell_strings: Sequence[str]) -> Any:
    """The values of each ranked cell, in rank order, as published (rounded)."""
    return zip(
        table.rank.tolist(),
        [cell_strings[i] for i in table.order.tolist()],
        np.round(table.expected_count, 4).tolist(),
        table.low.tolist(),
        table.high.tolist(),
        np.round(table.relative_risk, 4).tolist(),
        np.round(table.lat, 6).tolist(),
        np.round(table.lng, 6).tolist(),
        table.drivers,
        table.suppressed.tolist(),
        strict=True,
    )
