"""Coordinates: numbers from raw columns, projected -> WGS84, and the study-area screen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError, DataValidationError, InputFileError

BoolArray = npt.NDArray[np.bool_]
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Coords:
    """WGS84 lat/lng (NaN where unusable) and the reject masks the coordinates decide."""

    lat: npt.NDArray[np.float64]
    lng: npt.NDArray[np.float64]
    masks: dict[str, BoolArray]
    valid: BoolArray
    notes: tuple[str, ...] = ()  # how a point column was read


_DECIMAL_COMMA = r"[-+]?\d+,\d+"


def _numeric(
    col: pd.Series,
) -> tuple[npt.NDArray[np.float64], BoolArray, BoolArray, str | None]:
    """(values, missing, not-a-number, a value read with a decimal comma) for one raw coordinate
    column. A column whose unreadable values are mostly decimal-comma numbers (``41,8781``:
    a European export, ``;``-delimited) has those read as decimals."""
    if pd.api.types.is_float_dtype(col.dtype):
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.isnan(values), np.zeros(len(col), dtype=bool), None
    text = col.astype("string").str.strip()
    missing = (text.fillna("") == "").to_numpy(dtype=bool)
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~missing & ~np.isfinite(values)
    comma = None
    if bad.any():
        unread = text[bad]
        commas = unread.str.fullmatch(_DECIMAL_COMMA).to_numpy(dtype=bool, na_value=False)
        if commas.sum() * 2 > len(unread):
            comma = str(unread[commas].iloc[0])
            fixed = pd.to_numeric(unread[commas].str.replace(",", ".", regex=False))
            where = np.flatnonzero(bad)[commas]
            values[where] = fixed.to_numpy(dtype=np.float64, na_value=np.nan)
            bad = ~missing & ~np.isfinite(values)
    return values, missing, bad, comma


def coordinates(raw: pd.DataFrame, projected: bool, crs: str | None) -> Coords:
    """Read lat/lng (or x/y in ``crs``, or one point column) from raw columns and flag
    missing, bad and zero ones."""
    notes: tuple[str, ...] = ()
    if "point" in raw:
        a, b, a_missing, a_bad, notes = split_points(raw["point"])
        b_missing, b_bad = a_missing, a_bad
    else:
        a_key, b_key = ("y", "x") if projected else ("lat", "lng")
        a, a_missing, a_bad, a_comma = _numeric(raw[a_key])
        b, b_missing, b_bad, b_comma = _numeric(raw[b_key])
        commas = {k: c for k, c in ((a_key, a_comma), (b_key, b_comma)) if c}
        if commas:
            keys, example = " and ".join(commas), next(iter(commas.values()))
            notes = (f"{keys} written with decimal commas (e.g. {example}), read so",)
    missing = a_missing | b_missing
    bad = ~missing & (a_bad | b_bad)
    zero = ~missing & ~bad & (a == 0) & (b == 0)
    usable = ~missing & ~bad & ~zero
    lat, lng = _to_wgs84(b, a, usable, crs or "") if projected else (a, b)
    beyond = usable & ~((np.abs(lat) <= 90) & (np.abs(lng) <= 180))
    bad |= beyond
    if not projected and "point" not in raw:
        notes += _projected_note(a, b, beyond, usable)
    valid = ~missing & ~bad & ~zero
    lat, lng = np.where(valid, lat, np.nan), np.where(valid, lng, np.nan)  # new arrays
    masks = {"missing_coordinates": missing, "bad_coordinates": bad, "zero_coordinates": zero}
    return Coords(lat, lng, masks, valid, notes)


def _projected_note(
    lat: npt.NDArray[np.float64],
    lng: npt.NDArray[np.float64],
    beyond: BoolArray,
    usable: BoolArray,
) -> tuple[str, ...]:
    """A note when most numeric lat/lng pairs are far beyond any degree: projected
    coordinates (Chicago's X/Y Coordinate in feet) mapped as lat/lng."""
    far = beyond & ((np.abs(lat) > 1000) | (np.abs(lng) > 1000))
    if int(far.sum()) * 2 <= int(usable.sum()):
        return ()
    at = int(np.flatnonzero(far)[0])
    return (
        f"lat/lng values such as lat {lat[at]:.10g}, lng {lng[at]:.10g} are no degrees: projected "
        "coordinates? map them as x=COL,y=COL with --crs EPSG:xxxx (Chicago's X/Y "
        "Coordinate: EPSG:3435)",
    )


def check_not_swapped(coords: Coords, source: str, tz: str | None = None) -> str | None:
    """The located rows' median point as a report note; DataValidationError when it lies
    south of 60 degrees S, where no police force records crime: latitude and longitude are
    then swapped (a Chicago or London export read the wrong way round lands there, and the
    distance screen, centred on the same median, would accept every row). Also when its
    longitude keeps a sun's time farther from ``tz`` than any place in that zone does
    (``sun_gap_hours``): a Chicago export whose longitudes lost their minus sign lands in
    Kazakhstan, whole, just as quietly."""
    if not coords.valid.any():
        return None
    lat, lng = median(coords.lat[coords.valid]), median(coords.lng[coords.valid])
    if lat < -60:
        raise DataValidationError(
            f"{source}: the located rows' median point is lat {lat:.4f}, lng {lng:.4f}, south "
            "of 60 degrees S where no police force records crime: are latitude and longitude "
            "swapped (--map lat=/lng=, or a point column written (lng, lat))?"
        )
    gap = sun_gap_hours(lng, tz) if tz else None
    if gap is not None and gap > MAX_SUN_GAP_HOURS:
        raise DataValidationError(
            f"{source}: the located rows' median point is lat {lat:.4f}, lng {lng:.4f}, whose "
            f"sun time is {gap:.1f} hours from {tz}'s standard time, and no place keeps a "
            f"time over {MAX_SUN_GAP_HOURS:g} hours from its sun's: have the longitudes lost "
            "their minus sign, or is the timezone (--tz, spec data.timezone) another place's?"
        )
    return f"located rows' median point: lat {lat:.4f}, lng {lng:.4f}"


# Standard time runs at most ~3 hours from the sun anywhere (Kashgar keeps Beijing time, 2.9
# h); a longitude's lost minus sign moves a city of the Americas 10-12 hours and Sydney 3.9
MAX_SUN_GAP_HOURS = 3.5


def sun_gap_hours(lng: float, tz: str) -> float | None:
    """Hours between the sun's time at ``lng`` (lng / 15) and ``tz``'s standard time (the
    smaller of its January and July offsets), across the date line; None for a zone of no
    place (UTC, Etc/GMT+5)."""
    if "/" not in tz or tz.startswith("Etc/"):
        return None
    zone = ZoneInfo(tz)
    offsets = [dt.datetime(2021, month, 1, tzinfo=zone).utcoffset() for month in (1, 7)]
    hours = [o.total_seconds() / 3600 for o in offsets if o is not None]
    return abs((min(hours) - lng / 15 + 12) % 24 - 12) if hours else None


_NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_WKT = rf"(?i)^(?:SRID=\d+;\s*)?POINT\s*(?:Z\s*)?\(\s*{_NUM}\s+{_NUM}(?:\s+{_NUM})?\s*\)$"
_GEOJSON = rf'^\{{.*"coordinates"\s*:\s*\[\s*{_NUM}\s*,\s*{_NUM}.*\}}$'
_PAIR = rf"^[(\[]?\s*{_NUM}\s*[,;]\s*{_NUM}\s*[)\]]?$"


def split_points(
    col: pd.Series,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], BoolArray, BoolArray, tuple[str, ...]]:
    """(lat, lng, missing, unreadable, notes) from one column holding both coordinates.

    A value is WKT ``POINT (lng lat)`` (an ``SRID=n;`` prefix and a third number allowed),
    a GeoJSON point (``{"type": "Point", "coordinates": [lng, lat]}``), or a pair of numbers
    ``(lat, lng)``, as the Socrata portals (Chicago, New York, Baltimore, ...) write their
    location columns; brackets optional, ``,`` or ``;`` between. Pairs whose first numbers
    are mostly beyond any latitude and whose second numbers are not are read as (lng, lat),
    and a note says so.
    """
    text = col.astype("string").str.strip()
    missing = (text.fillna("") == "").to_numpy(dtype=bool)

    def numbers(pattern: str, first: int, second: int) -> tuple[pd.Series, pd.Series]:
        found = text.str.extract(pattern)
        return (
            pd.to_numeric(found[first], errors="coerce"),
            pd.to_numeric(found[second], errors="coerce"),
        )

    wkt_lng, wkt_lat = numbers(_WKT, 0, 1)
    geo_lng, geo_lat = numbers(_GEOJSON, 0, 1)
    one, two = numbers(_PAIR, 0, 1)
    pair = one.notna() & two.notna()
    notes: tuple[str, ...] = ()
    swapped = pair & (one.abs() > 90) & (two.abs() <= 90)
    if int(swapped.sum()) * 2 > int(pair.sum()):
        one, two = two, one
        notes = (
            f"point column: {int(pair.sum()):,} pairs read as (longitude, latitude): the first "
            f"numbers of {int(swapped.sum()):,} are beyond any latitude",
        )
    lat = wkt_lat.fillna(geo_lat).fillna(one).to_numpy(dtype=np.float64, na_value=np.nan)
    lng = wkt_lng.fillna(geo_lng).fillna(two).to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~missing & ~(np.isfinite(lat) & np.isfinite(lng))
    return lat, lng, missing, bad, notes


def _to_wgs84(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], usable: BoolArray, crs: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    from pyproj import Transformer
    from pyproj.exceptions import CRSError

    try:
        transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    except CRSError as err:
        raise ConfigError(f"--crs {crs!r} is not a coordinate reference system: {err}") from err
    lat = np.full(x.shape, np.nan)
    lng = np.full(x.shape, np.nan)
    # always_xy: pyproj takes and returns (x, y) = (lng, lat)
    lng[usable], lat[usable] = transformer.transform(x[usable], y[usable])
    return lat, lng


def haversine_km(
    lat: npt.NDArray[np.float64], lng: npt.NDArray[np.float64], lat0: float, lng0: float
) -> npt.NDArray[np.float64]:
    """Great-circle distance in km from each point to (lat0, lng0)."""
    p1, p2 = np.radians(lat), np.radians(lat0)
    dlat, dlng = p1 - p2, np.radians(lng - lng0)
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def median(values: npt.NDArray[np.float64]) -> float:
    """``np.median(values)``, partitioning only the values near a sample's median.

    The middle rank is counted exactly: values below the band, then the band itself; when the
    band misses the middle (a freak sample), or with NaN, ``np.median`` decides.
    """
    n = len(values)
    if n < 100_000 or np.isnan(values).any():
        return float(np.median(values))
    sample = np.sort(values[:: n // 4096])
    lo, hi = sample[int(0.47 * len(sample))], sample[int(0.53 * len(sample))]
    middle = [(n - 1) // 2, n // 2]  # the two middle ranks (equal when n is odd)
    below = int(np.count_nonzero(values < lo))
    band = values[(values >= lo) & (values <= hi)]
    if not below <= middle[0] <= middle[1] < below + len(band):
        return float(np.median(values))
    part = np.partition(band, [k - below for k in middle])
    return float(np.mean(part[[k - below for k in middle]]))  # as np.median averages them


def farther_than(
    lat: npt.NDArray[np.float64],
    lng: npt.NDArray[np.float64],
    lat0: float,
    lng0: float,
    km: float,
) -> BoolArray:
    """``haversine_km(lat, lng, lat0, lng0) > km``, computed only where a cheap bound can't tell.

    The great circle is never longer than going along the meridian and then along a parallel,
    so ``R * (|dlat| + |dlng|)`` (radians) bounds it; points well inside that bound are near.
    """
    bound = np.radians(np.abs(lat - lat0) + np.abs(lng - lng0)) * EARTH_RADIUS_KM
    check = ~(bound < 0.99 * km)  # the 1% margin dwarfs any rounding in haversine_km
    far = np.zeros(lat.shape, dtype=bool)
    far[check] = haversine_km(lat[check], lng[check], lat0, lng0) > km
    return far


def read_boundary(path: str | Path) -> Any:
    """The union of a GeoJSON / GeoPackage / Shapefile's polygons, in WGS84 (x=lng, y=lat)."""
    import geopandas as gpd

    p = Path(path)
    try:
        frame = gpd.read_file(p)
    except Exception as err:  # the GDAL drivers raise many types; name the file once
        raise InputFileError(f"cannot read boundary file {p}: {err}") from err
    if frame.empty:
        raise InputFileError(f"boundary file {p} has no features")
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    polys = frame.geometry[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        types = sorted(set(frame.geometry.geom_type))
        raise InputFileError(f"boundary file {p} has no polygons; geometry types are {types}")
    return polys.union_all()


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``south,west,north,east`` (lat, lng order) -> a checked tuple."""
    try:
        south, west, north, east = (float(v) for v in text.split(","))
    except ValueError as err:
        raise ConfigError(
            f"--bbox {text!r} must be four numbers south,west,north,east (lat,lng order)"
        ) from err
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
        raise ConfigError(
            f"--bbox {text!r} is not south,west,north,east with south < north and west < east"
        )
    return south, west, north, east


@dataclass(frozen=True)
class Area:
    """Where events may be: a bbox, a boundary polygon, or else within a distance of the median.

    The distance screen (default 100 km from the median event) only applies when neither a
    bbox nor a boundary is given; it catches geocoding failures (a point in another state or
    country) without trimming a force's own area. 0 turns it off.
    """

    bbox: tuple[float, float, float, float] | None = None
    boundary: Any = None
    boundary_name: str | None = None
    max_distance_km: float = 100.0

    @classmethod
    def from_boundary_file(cls, path: str | Path, **kwargs: Any) -> Area:
        """Points must lie in the polygons of a boundary file."""
        return cls(boundary=read_boundary(path), boundary_name=Path(path).name, **kwargs)

    def outside(
        self, lat: npt.NDArray[np.float64], lng: npt.NDArray[np.float64], placed: BoolArray
    ) -> BoolArray:
        """True for placed points that fall outside the area."""
        out = np.zeros(lat.shape, dtype=bool)
        if not placed.any():
            return out
        la, ln = lat[placed], lng[placed]
        if self.bbox or self.boundary is not None:
            inside = np.ones(la.shape, dtype=bool)
            if self.bbox:
                s, w, n, e = self.bbox
                inside &= (la >= s) & (la <= n) & (ln >= w) & (ln <= e)
            if self.boundary is not None:
                import shapely

                inside &= shapely.contains_xy(self.boundary, ln, la)  # (x=lng, y=lat)
            out[placed] = ~inside
        elif self.max_distance_km > 0:
            lat0, lng0 = median(la), median(ln)
            out[placed] = farther_than(la, ln, lat0, lng0, self.max_distance_km)
        return out

    def miss_note(
        self,
        lat: npt.NDArray[np.float64],
        lng: npt.NDArray[np.float64],
        placed: BoolArray,
        outside: BoolArray,
    ) -> str | None:
        """When a bbox or boundary holds none of the placed points, where each of them lies
        (a layer of another area, or with latitude and longitude swapped), else None."""
        if not (self.bbox or self.boundary is not None) or not placed.any():
            return None
        if not outside[placed].all():
            return None
        if self.bbox:
            s, w, n, e = self.bbox
            what = "the bbox"
        else:
            w, s, e, n = self.boundary.bounds  # shapely's (minx=lng, miny=lat, maxx, maxy)
            what = f"the polygons of {self.boundary_name}"
        mid_lat, mid_lng = median(lat[placed]), median(lng[placed])
        return (
            f"none of the {int(placed.sum()):,} located rows lies inside {what} (lat "
            f"{s:.4f}..{n:.4f}, lng {w:.4f}..{e:.4f}); their median point is lat {mid_lat:.4f}, "
            f"lng {mid_lng:.4f}: is it this area's layer, in WGS84 (GeoJSON lists [lng, lat])?"
        )

    def describe(self) -> str:
        if self.bbox:
            return f"area: bbox south,west,north,east = {','.join(f'{v:g}' for v in self.bbox)}"
        if self.boundary is not None:
            return f"area: inside the polygons of {self.boundary_name}"
        if self.max_distance_km > 0:
            return f"area: within {self.max_distance_km:g} km of the median event location"
        return "area: no limit"
