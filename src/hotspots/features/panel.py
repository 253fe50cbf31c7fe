"""The cell x period count panel every forecaster trains on.

``events_to_panel`` counts events per category, period and study cell into a dense
``(n_categories, n_periods, n_cells)`` array, with zeros for every study cell and period.
Periods are local wall-clock days, weeks starting Monday, or calendar months.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError, DataValidationError, UnknownCategoryError
from hotspots.features.event_table import EventTable, precision_codes
from hotspots.features.precision import check_precision
from hotspots.grid import (
    StudyArea,
    check_resolution,
    points_to_cells,
)

FREQS: tuple[str, ...] = ("D", "W", "M")
"""Panel periods: local days, weeks starting Monday, calendar months."""

TOTAL = "__total__"
"""The category name ``Panel.to_frame`` gives the all-category total rows."""

DEFAULT_RESOLUTION = 9
_PANDAS_FREQ = {"D": "D", "W": "W-MON", "M": "MS"}
_NS_PER_DAY = 86_400 * 10**9
_NAT = np.iinfo(np.int64).min
_DROPPED = ("n_outside", "n_out_of_range", "n_other_category")

Int64Array = npt.NDArray[np.int64]


def _check_freq(freq: str) -> str:
    if freq not in FREQS:
        raise ConfigError(f"period frequency must be one of {list(FREQS)}, got {freq!r}")
    return freq


def _wall_ns(times: Any) -> Int64Array:
    """Naive local wall-clock time in ns; tz-aware times keep their own local clock."""
    idx = pd.DatetimeIndex(times)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    return idx.as_unit("ns").asi8


def _period_codes(wall_ns: Int64Array, freq: str) -> Int64Array:
    """Consecutive period numbers: days, Monday weeks or months since 1970."""
    days = wall_ns // _NS_PER_DAY
    if freq == "D":
        return days
    if freq == "W":
        return (days + 3) // 7  # 1970-01-01 was a Thursday, so day -3 is week 0's Monday
    return wall_ns.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)


def _code_starts_ns(codes: Int64Array, freq: str) -> Int64Array:
    """Inverse of ``_period_codes``: the start of each numbered period, in ns."""
    if freq == "D":
        return codes * _NS_PER_DAY
    if freq == "W":
        return (codes * 7 - 3) * _NS_PER_DAY
    return codes.astype("datetime64[M]").astype("datetime64[ns]").view(np.int64)


def period_floor(times: Any, freq: str) -> npt.NDArray[np.datetime64]:
    """Start of the local period holding each time, as naive ``datetime64[ns]``.

    tz-aware times are first turned into their local wall-clock time, so a day is the
    local calendar day even across DST changes. Weeks start Monday; NaT stays NaT.
    """
    freq = _check_freq(freq)
    wall = _wall_ns(times)
    starts = _code_starts_ns(_period_codes(wall, freq), freq)
    starts[wall == _NAT] = _NAT
    return starts.view("datetime64[ns]")


def period_range(start: Any, end: Any, freq: str) -> pd.DatetimeIndex:
    """Period starts from the period holding ``start`` up to, excluding, ``end``."""
    freq = _check_freq(freq)
    lo, hi = _wall_ns([start, end])
    first = _period_codes(np.array([lo]), freq)[0]
    last = _period_codes(np.array([hi - 1]), freq)[0]  # the last period starting before end
    codes = np.arange(first, max(last + 1, first), dtype=np.int64)
    starts = pd.DatetimeIndex(_code_starts_ns(codes, freq).view("datetime64[ns]"))
    return pd.DatetimeIndex(starts, freq=_PANDAS_FREQ[freq]) if codes.size else starts


@dataclass(frozen=True, eq=False)
class Panel:
    """Counts per category, period and study cell, zeros included.

    ``counts[c, t, i]`` is the number of events of ``categories[c]`` in the period starting
    ``periods[t]`` in cell ``cells[i]``. ``n_outside`` events fell outside the study area,
    ``n_out_of_range`` outside ``[start, end)`` and ``n_other_category`` in categories not
    asked for; none of them is in ``counts``. ``events`` are the counted events themselves
    (``events_to_panel`` keeps them; a panel read from Parquet has counts only).
    ``covariates`` are static per-cell covariates (a DataFrame indexed by uint64 cell, numeric
    columns; see ``features.static``), or None.
    """

    counts: npt.NDArray[np.int32]
    cells: npt.NDArray[np.uint64]
    periods: pd.DatetimeIndex
    categories: tuple[str, ...]
    freq: str
    resolution: int
    n_outside: int = 0
    n_out_of_range: int = 0
    n_other_category: int = 0
    events: EventTable | None = None
    covariates: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        _check_freq(self.freq)
        check_resolution(self.resolution)
        cells = np.asarray(self.cells, dtype=np.uint64)
        if cells.ndim != 1 or (cells.size > 1 and not np.all(cells[1:] > cells[:-1])):
            raise DataValidationError("panel cells must be a sorted 1-d array of unique cells")
        periods = pd.DatetimeIndex(self.periods).as_unit("ns")
        if periods.tz is not None or not np.array_equal(
            period_floor(periods, self.freq), periods.values
        ):
            raise DataValidationError(f"panel periods are not naive '{self.freq}' period starts")
        cats = tuple(str(c) for c in self.categories)
        if len(set(cats)) != len(cats) or TOTAL in cats:
            raise DataValidationError(f"panel categories must be unique and not {TOTAL!r}: {cats}")
        shape = (len(cats), len(periods), cells.size)
        if np.shape(self.counts) != shape:
            raise DataValidationError(
                f"panel counts have shape {np.shape(self.counts)}, not {shape}"
            )
        if self.events is not None and len(self.events):
            ev = self.events
            if ev.cell.min() < 0 or ev.cell.max() >= cells.size or ev.category.max() >= len(cats):
                raise DataValidationError("panel events name cells or categories it lacks")
        object.__setattr__(self, "cells", cells)
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "categories", cats)

    @property
    def study_area(self) -> StudyArea:
        """The panel's cells as a StudyArea."""
        return StudyArea(self.cells, self.resolution)

    def total(self) -> npt.NDArray[np.int32]:
        """Counts summed over categories, shape ``(n_periods, n_cells)``."""
        return self.counts.sum(axis=0, dtype=self.counts.dtype)

    def of(self, category: str) -> npt.NDArray[np.int32]:
        """Counts of one category (or ``TOTAL``), shape ``(n_periods, n_cells)``."""
        if category == TOTAL:
            return self.total()
        if category not in self.categories:
            raise UnknownCategoryError(
                f"category {category!r} is not in the panel; categories are: "
                f"{list(self.categories)}"
            )
        return self.counts[self.categories.index(category)]

    def to_frame(self, include_total: bool = True, nonzero_only: bool = False) -> pd.DataFrame:
        """Tidy rows ``cell, period_start, category, count``, ordered category, period, cell.

        With ``include_total`` the all-category sum comes as category ``TOTAL``.
        """
        arr = np.concatenate([self.counts, self.total()[None]]) if include_total else self.counts
        names = [*self.categories, TOTAL] if include_total else list(self.categories)
        flat = arr.reshape(-1)
        idx = np.flatnonzero(flat) if nonzero_only else np.arange(flat.size)
        n_cells = max(self.cells.size, 1)
        cat, rest = np.divmod(idx, max(len(self.periods) * n_cells, 1))
        per, cell = np.divmod(rest, n_cells)
        return pd.DataFrame(
            {
                "cell": self.cells[cell],
                "period_start": self.periods.values[per],
                "category": pd.Categorical.from_codes(cat, categories=pd.Index(names)),
                "count": flat[idx],
            }
        )

    def to_parquet(self, path: str | Path) -> None:
        """Write the panel atomically (see ``hotspots.features.panel_io``)."""
        from hotspots.features.panel_io import write_panel

        write_panel(self, path)

    @classmethod
    def from_parquet(cls, path: str | Path) -> Panel:
        """Read a panel written by ``to_parquet``, all-zero cells and periods included."""
        from hotspots.features.panel_io import read_panel

        return read_panel(path)


_REQUIRED = ("occurred_at", "lat", "lng", "category")


def _check_events(events: pd.DataFrame, freq: str) -> None:
    """Raise DataValidationError unless the events can be counted into ``freq`` periods."""
    missing = [c for c in _REQUIRED if c not in events.columns]
    if missing:
        raise DataValidationError(
            f"event table lacks {missing}; columns are {list(events.columns)}"
        )
    if len(events) == 0:
        raise DataValidationError("the event table is empty: there is nothing to count")
    times = events["occurred_at"]
    if not pd.api.types.is_datetime64_any_dtype(times):
        raise DataValidationError(f"occurred_at must hold datetimes, not {times.dtype}")
    if n_nat := int(times.isna().sum()):
        raise DataValidationError(f"{n_nat} events have no occurred_at")
    lat, lng = events["lat"].to_numpy(np.float64), events["lng"].to_numpy(np.float64)
    if n_bad := int((~(np.isfinite(lat) & np.isfinite(lng)) | (np.abs(lat) > 90)).sum()):
        raise DataValidationError(f"{n_bad} events have a missing or invalid lat/lng")
    check_precision(events, freq)


def _resolve_resolution(resolution: int | None, study_area: StudyArea | None) -> int:
    if study_area is None:
        return check_resolution(DEFAULT_RESOLUTION if resolution is None else resolution)
    if resolution is not None and check_resolution(resolution) != study_area.resolution:
        raise ConfigError(
            f"resolution {resolution} differs from the study area's {study_area.resolution}"
        )
    return study_area.resolution


def to_timestamp(value: Any, name: str) -> pd.Timestamp:
    """``value`` as a Timestamp; ConfigError naming ``name`` if it is not a date or time."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{name} must be a date or time, got {value!r}") from err
    if ts is pd.NaT:
        raise ConfigError(f"{name} must be a date or time, got {value!r}")
    return ts


def _bound_ns(value: Any, tz: Any, name: str) -> int:
    """A start/end bound as naive local wall-clock ns (tz-aware bounds move to ``tz``)."""
    ts = to_timestamp(value, name)
    if ts.tz is not None:
        ts = (ts.tz_convert(tz) if tz is not None else ts).tz_localize(None)
    return int(ts.as_unit("ns").value)


def _window(start: Any, end: Any, codes: Int64Array, freq: str, tz: Any) -> tuple[int, int]:
    """``[start, end)`` in wall-clock ns; defaults span the events' first to last period."""
    lo = int(_code_starts_ns(codes.min(keepdims=True), freq)[0])
    hi = int(_code_starts_ns(codes.max(keepdims=True) + 1, freq)[0])
    lo = lo if start is None else _bound_ns(start, tz, "start")
    hi = hi if end is None else _bound_ns(end, tz, "end")
    if hi <= lo:
        raise ConfigError(
            f"the window [{pd.Timestamp(lo)}, {pd.Timestamp(hi)}) is empty: end must be after "
            "start (by default they span the events' periods)"
        )
    return lo, hi


def _category_codes(
    values: pd.Series, categories: Sequence[str] | None
) -> tuple[tuple[str, ...], Int64Array]:
    """Panel categories and each event's position among them (-1: not counted)."""
    codes, uniques = pd.factorize(values, sort=True)  # missing -> -1
    if categories is None:
        cats = tuple(str(u) for u in uniques)
        if not cats:
            raise DataValidationError("no event has a category")
        return cats, codes.astype(np.int64)
    cats = tuple(categories)
    if not cats or isinstance(categories, str) or len(set(cats)) < len(cats):
        raise ConfigError(f"categories must be a non-empty list of unique names: {categories!r}")
    # a trailing -1 maps the missing-value code -1 to "not counted"
    lookup = np.append(pd.Index(cats).get_indexer(pd.Index(uniques)), -1)
    return cats, lookup[codes].astype(np.int64)


def _point_cells(
    lat: npt.NDArray[np.float64], lng: npt.NDArray[np.float64], resolution: int
) -> tuple[npt.NDArray[np.uint64], Int64Array]:
    """Cells of the distinct points and each event's index into them.

    Events often share coordinates (block-level geocoding), so each pair is indexed once.
    """
    inverse, uniq = pd.factorize(lat + 1j * lng)
    return points_to_cells(uniq.real, uniq.imag, resolution), inverse.astype(np.int64)


def _count(
    cat: Int64Array, period: Int64Array, cell: Int64Array, shape: tuple[int, int, int]
) -> npt.NDArray[np.int32]:
    """Dense int32 counts; one bincount per category keeps the int64 scratch small."""
    n_per, n_cells = shape[1], shape[2]
    counts = np.zeros(shape, dtype=np.int32)
    local = period * n_cells + cell
    order = np.argsort(cat.astype(np.int16 if shape[0] < 2**15 else np.int64), kind="stable")
    bounds = np.searchsorted(cat[order], np.arange(shape[0] + 1))
    for c in range(shape[0]):  # a handful of categories, never a loop per event or cell
        block = local[order[bounds[c] : bounds[c + 1]]]
        counts[c] = np.bincount(block, minlength=n_per * n_cells).reshape(n_per, n_cells)
    return counts


def events_to_panel(
    events: pd.DataFrame,
    resolution: int | None = None,
    freq: str = "W",
    *,
    study_area: StudyArea | None = None,
    k: int = 0,
    start: Any = None,
    end: Any = None,
    categories: Sequence[str] | None = None,
) -> Panel:
    """Count events per category, period and study cell.

    Parameters
    ----------
    events
        An event table (see ``hotspots.ingest.schema``).
    resolution
        H3 resolution; defaults to the study area's, else 9.
    freq
        ``"D"``, ``"W"`` (weeks start Monday) or ``"M"``, in local wall-clock time.
        Month-precision events only go into ``"M"`` panels.
    study_area
        The cells to count; by default the cells with any event in ``[start, end)``.
        Either way grown by ``k`` rings. Events in other cells count in ``n_outside``.
    start, end
        Naive local bounds, ``end`` exclusive; default the first event's period to the end
        of the last event's. Bounds inside a period leave that period partly counted.
    categories
        Categories to count, in panel order; default every category, sorted.
    """
    freq = _check_freq(freq)
    res = _resolve_resolution(resolution, study_area)
    _check_events(events, freq)
    times = events["occurred_at"]
    wall = _wall_ns(times)
    codes = _period_codes(wall, freq)
    lo, hi = _window(start, end, codes, freq, getattr(times.dtype, "tz", None))
    periods = period_range(pd.Timestamp(lo), pd.Timestamp(hi), freq)
    cats, cat_pos = _category_codes(events["category"], categories)
    in_range = (wall >= lo) & (wall < hi)
    if study_area is None and not in_range.any():
        raise DataValidationError(f"no event between {pd.Timestamp(lo)} and {pd.Timestamp(hi)}")
    lat = events["lat"].to_numpy(np.float64)[in_range]
    ucells, inverse = _point_cells(lat, events["lng"].to_numpy(np.float64)[in_range], res)
    area = StudyArea(ucells, res) if study_area is None else study_area
    area = area.grown(k) if k else area
    cell_pos = area.index_of(ucells)[inverse]
    cat_in = cat_pos[in_range]
    keep = (cat_in >= 0) & (cell_pos >= 0)
    per_pos = codes[in_range][keep] - _period_codes(periods.asi8[:1], freq)[0]
    counts = _count(cat_in[keep], per_pos, cell_pos[keep], (len(cats), len(periods), len(area)))
    outside, other = int(((cat_in >= 0) & (cell_pos < 0)).sum()), int((cat_in < 0).sum())
    prec = events["time_precision"].to_numpy() if "time_precision" in events.columns else None
    table = EventTable.from_arrays(
        wall[in_range][keep],
        cell_pos[keep],
        cat_in[keep],
        lat[keep],
        events["lng"].to_numpy(np.float64)[in_range][keep],
        precision_codes(prec, len(events))[in_range][keep],
    )
    return Panel(
        counts, area.cells, periods, cats, freq, res, outside, int((~in_range).sum()), other, table
    )
