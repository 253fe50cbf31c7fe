"""Synthetica's constants: where it is, how its files look, and each category's profile."""

from __future__ import annotations

import math
from dataclasses import dataclass

NAME = "Synthetica"
TIMEZONE = "America/Chicago"
CENTER = (40.0, -100.0)  # lat, lng
HALF_SIDE_KM = 12.0
KM_PER_DEGREE = 111.32
_HALF_LAT = HALF_SIDE_KM / KM_PER_DEGREE
_HALF_LNG = _HALF_LAT / math.cos(math.radians(CENTER[0]))
BBOX = (CENTER[0] - _HALF_LAT, CENTER[1] - _HALF_LNG, CENTER[0] + _HALF_LAT, CENTER[1] + _HALF_LNG)
"""Synthetica's bounding box: min_lat, min_lng, max_lat, max_lng."""
COLUMN_MAP = (
    "time=occurred,lat=latitude,lng=longitude,category=offence,id=incident_id,origin=origin"
)
RAW_COLUMNS = ("incident_id", "occurred", "latitude", "longitude", "offence", "origin")
ORIGINS = ("call", "online", "on-view")
DECAY = 0.75  # daily decay of near-repeat excitation: mean lag 1 / (1 - 0.75) = 4 days
SELF_SHARE = 0.6  # share of an event's excitation kept in its own cell; the rest to ring 1
PLACE_SHARED = 0.5  # share of the variance of a cell's attractiveness common to every category
PLACE_SMOOTH = 0.5  # weight of the ring-1 mean added to a cell's own attractiveness
DRIFT_DAYS = 180  # correlation time of the slow drift of each place's rate
BURN_IN_DAYS = 40  # simulated before ``start`` so the excitation starts in equilibrium
FREQS = ("D", "W", "M")
DEFECT_RATES = {  # extra defective rows, as a share of the clean events
    "missing_coordinates": 0.004,
    "zero_coordinates": 0.003,
    "duplicate_id": 0.003,
    "unparseable_time": 0.004,
    "future_time": 0.001,
    "outside_area": 0.001,
}
GZIP = {"method": "gzip", "compresslevel": 6, "mtime": 0}  # mtime 0: same city, same bytes
ODD_TIMES = ("", "unknown", "2023-02-30 10:00:00", "31/13/2023", "2023-13-45 25:61:00")


@dataclass(frozen=True)
class CategoryProfile:
    """How one category behaves: volume, clustering, rhythms, places and origins."""

    name: str
    share: float  # of all events
    alpha: float  # branching ratio: expected near-repeat events caused by one event
    amplitude: float  # yearly swing of the rate, +- this fraction
    peak_day: int  # day of the year with the highest rate
    weekday: tuple[float, ...]  # relative rate Monday .. Sunday
    hours: tuple[tuple[float, float, float], ...]  # (peak hour, width in hours, weight)
    mix: tuple[float, ...]  # weight of base, downtown, dense areas, corridors, own spots
    place_sd: float  # log-sd of each cell's own attractiveness: the micro-place concentration
    drift: float  # log-sd of the slow drift of each cell's rate (places heat up, cool down)
    origin: tuple[float, float, float]  # P(call), P(online), P(on-view)


PROFILES: tuple[CategoryProfile, ...] = (
    CategoryProfile(
        "Burglary Residential", 0.18, 0.10, 0.20, 350, (1.1, 1.1, 1.1, 1.1, 1.1, 0.8, 0.7),
        ((11, 3, 1.0), (19, 2, 0.5)), (0.50, 0.05, 0.30, 0.10, 0.05), 0.8, 0.5, (0.8, 0.2, 0.0),
    ),
    CategoryProfile(
        "Theft from Vehicle", 0.24, 0.12, 0.12, 300, (1.0, 1.0, 1.0, 1.0, 1.1, 1.0, 0.9),
        ((22, 4, 1.0), (8, 2, 0.3)), (0.35, 0.15, 0.20, 0.25, 0.05), 0.85, 0.5, (0.45, 0.5, 0.05),
    ),
    CategoryProfile(
        "Robbery", 0.07, 0.03, 0.15, 340, (0.9, 0.9, 0.95, 1.0, 1.15, 1.15, 0.95),
        ((21, 3, 1.0),), (0.20, 0.25, 0.15, 0.30, 0.10), 0.95, 0.5, (0.9, 0.0, 0.1),
    ),
    CategoryProfile(
        "Assault", 0.22, 0.03, 0.22, 196, (0.8, 0.75, 0.8, 0.85, 1.1, 1.45, 1.25),
        ((1, 2.5, 1.0), (21, 2, 0.6)), (0.30, 0.20, 0.25, 0.15, 0.10), 0.7, 0.5, (0.75, 0.0, 0.25),
    ),
    CategoryProfile(
        "Criminal Damage", 0.20, 0.06, 0.20, 180, (0.95, 0.9, 0.9, 0.95, 1.1, 1.2, 1.0),
        ((23, 3, 1.0), (16, 2, 0.4)), (0.45, 0.05, 0.25, 0.15, 0.10), 0.9, 0.5, (0.6, 0.35, 0.05),
    ),
    CategoryProfile(
        "Drugs", 0.09, 0.02, 0.05, 120, (1.15, 1.2, 1.2, 1.15, 1.0, 0.7, 0.6),
        ((15, 4, 1.0),), (0.15, 0.30, 0.15, 0.10, 0.30), 1.2, 0.5, (0.1, 0.0, 0.9),
    ),
)  # fmt: skip
CATEGORIES: tuple[str, ...] = tuple(p.name for p in PROFILES)
DISCRETIONARY: tuple[str, ...] = ("Drugs",)
"""Categories driven by police activity rather than victims; the ingest excludes them by default."""
