"""Events from the simulated counts (times, points, origins) and the defective raw export."""

from __future__ import annotations

import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.extensions import ExtensionArray

from hotspots.grid import StudyArea, cells_to_latlng, points_to_cells
from hotspots.grid.cells import CellArray, FloatArray
from hotspots.synthetic.profiles import (
    BBOX,
    CATEGORIES,
    DEFECT_RATES,
    KM_PER_DEGREE,
    ODD_TIMES,
    ORIGINS,
    PROFILES,
    TIMEZONE,
)
from hotspots.synthetic.simulate import IntArray


def events_frame(
    rng: np.random.Generator,
    area: StudyArea,
    first_day: pd.Timestamp,
    rows: tuple[IntArray, ...],
    bbox: tuple[float, float, float, float] = BBOX,
) -> tuple[pd.DataFrame, CellArray]:
    """The clean events table sorted by time, and each event's cell; ``rows`` as ``expand_hits``;
    points inside ``bbox`` (min_lat, min_lng, max_lat, max_lng)."""
    cat, cell, day = rows
    when = _times(rng, first_day, cat, day)
    lat, lng = _place_points(rng, area, cell, bbox)
    origin = _draw(rng, [p.origin for p in PROFILES], cat)
    order = np.lexsort((cell, cat, when))
    occurred = np.datetime_as_string(when[order], unit="s").astype("U19")
    occurred.view(np.uint32).reshape(-1, 19)[:, 10] = ord(" ")  # ISO "T" -> " ", in place
    frame = pd.DataFrame(
        {
            "incident_id": _ids(1, order.size, _id_width(order.size)),
            "occurred": occurred,
            "latitude": lat[order],
            "longitude": lng[order],
            "offence": pd.array(CATEGORIES, dtype="str").take(cat[order]),
            "origin": pd.array(ORIGINS, dtype="str").take(origin[order]),
        }
    )
    return frame, area.cells[cell[order]]


def _id_width(n_events: int) -> int:
    """Digits of incident ids, with room for the ids of the added defective rows."""
    return max(7, len(str(2 * n_events)))


def _ids(first: int, count: int, width: int) -> ExtensionArray:
    """Ids ``SYN-0000001`` onwards (pandas string methods: fast and compact)."""
    digits = pd.Series(np.arange(first, first + count), dtype="int64").astype("str")
    return ("SYN-" + digits.str.zfill(width)).array


def _times(
    rng: np.random.Generator, first_day: pd.Timestamp, cat: IntArray, day: IntArray
) -> npt.NDArray[np.datetime64]:
    """Naive local wall-clock times: hour from the category's profile, minute uniform."""
    hours = np.arange(24)
    profile = np.full((len(PROFILES), 24), 0.2)
    for i, p in enumerate(PROFILES):
        for peak, width, weight in p.hours:
            gap = np.abs(hours - peak)
            profile[i] += weight * np.exp(-0.5 * (np.minimum(gap, 24 - gap) / width) ** 2)
    hour = _draw(rng, profile, cat)
    midnights = pd.date_range(first_day, periods=int(day.max(initial=0)) + 2).tz_localize(TIMEZONE)
    short_days = np.flatnonzero(np.diff(midnights.asi8) < 24 * 3600 * 10**9)
    hour[np.isin(day, short_days) & (hour == 2)] = 3  # 02:xx does not exist when clocks go forward
    seconds = hour * 3600 + rng.integers(0, 60, cat.size) * 60
    base = np.datetime64(first_day.date(), "s")
    return base + day.astype("timedelta64[D]") + seconds.astype("timedelta64[s]")


def _place_points(
    rng: np.random.Generator,
    area: StudyArea,
    cell: IntArray,
    bbox: tuple[float, float, float, float] = BBOX,
) -> tuple[FloatArray, FloatArray]:
    """A point (6 decimals) near each cell's centre that indexes back to the cell.

    Points are also kept inside ``bbox``, so a boundary-clipped ingest keeps every clean event.
    """
    c_lat, c_lng = cells_to_latlng(area.cells)
    radius = 0.6 * h3.average_hexagon_edge_length(area.resolution, unit="km")
    lat, lng = np.round(c_lat[cell], 6), np.round(c_lng[cell], 6)
    todo = np.arange(cell.size)
    for _ in range(30):  # each round redraws only the few points that fell out
        r = radius * np.sqrt(rng.random(todo.size))
        theta = rng.uniform(0, 2 * np.pi, todo.size)
        d_lat = r * np.sin(theta) / KM_PER_DEGREE
        d_lng = r * np.cos(theta) / (KM_PER_DEGREE * np.cos(np.radians(c_lat[cell[todo]])))
        lat[todo] = np.round(c_lat[cell[todo]] + d_lat, 6)
        lng[todo] = np.round(c_lng[cell[todo]] + d_lng, 6)
        home = points_to_cells(lat[todo], lng[todo], area.resolution) == area.cells[cell[todo]]
        inside = (lat[todo] > bbox[0]) & (lng[todo] > bbox[1])
        inside &= (lat[todo] < bbox[2]) & (lng[todo] < bbox[3])
        todo = todo[~(home & inside)]
        if todo.size == 0:
            break
    lat[todo], lng[todo] = np.round(c_lat[cell[todo]], 6), np.round(c_lng[cell[todo]], 6)
    return lat, lng


def _draw(rng: np.random.Generator, weights: npt.ArrayLike, cat: IntArray) -> IntArray:
    """For each event an outcome index drawn from row ``cat`` of ``weights`` (per category)."""
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(cat.size)
    out = np.empty(cat.size, dtype=np.int64)
    for i in range(w.shape[0]):  # per category; an (events x outcomes) table would be too big
        mask = cat == i
        out[mask] = np.minimum(np.searchsorted(cdf[i], u[mask], side="right"), w.shape[1] - 1)
    return out


def with_defects(
    rng: np.random.Generator, events: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Events plus added defective rows, each right after the event it was copied from."""
    n = len(events)
    defects = {reason: int(round(rate * n)) for reason, rate in DEFECT_RATES.items()}
    reason = np.repeat(np.array(list(defects)), list(defects.values()))
    template = rng.integers(0, n, reason.size)
    extra = events.iloc[template].reset_index(drop=True)
    fresh = reason != "duplicate_id"
    extra.loc[fresh, "incident_id"] = _ids(n + 1, int(fresh.sum()), _id_width(n))
    _corrupt(rng, extra, reason)
    order = np.argsort(np.concatenate([np.arange(n), template + 0.5]), kind="stable")
    raw = pd.concat([events, extra], ignore_index=True).iloc[order].reset_index(drop=True)
    return raw, defects


def _corrupt(rng: np.random.Generator, extra: pd.DataFrame, reason: npt.NDArray[np.str_]) -> None:
    """Give each copied row the one defect its ``reason`` names, in place."""
    xy = ["latitude", "longitude"]
    extra.loc[reason == "missing_coordinates", xy] = np.nan
    extra.loc[reason == "zero_coordinates", xy] = 0.0
    odd = reason == "unparseable_time"
    extra.loc[odd, "occurred"] = rng.choice(np.array(ODD_TIMES), int(odd.sum()))
    future = reason == "future_time"
    later = "2099" + extra.loc[future, "occurred"].str.slice(4)
    extra.loc[future, "occurred"] = later.str.replace("2099-02-29", "2099-02-28", regex=False)
    far = reason == "outside_area"
    size = (int(far.sum()), 2)
    shift = rng.uniform(0.5, 5.0, size) * rng.choice([-1.0, 1.0], size)
    extra.loc[far, xy] = np.round(extra.loc[far, xy].to_numpy() + shift, 6)
