"""Time parsing of one time column (split date/hour/... columns: ``ingest.eventtimes``).

A time column may also hold Unix epoch numbers (``epoch-s`` / ``epoch-ms``, as ArcGIS and JSON
APIs export them: UTC instants); its format is inferred by ``ingest.timeformats``.

Results are tz-aware in the target timezone, with a precision per row (minute, day or month).
Naive times with a time of day are read in ``source_tz``; times with a UTC offset are converted.
Dates and months carry no time of day, so they are taken as local calendar dates in the target
timezone and never shifted across midnight. Ambiguous wall times (the repeated hour when clocks
go back) are read as standard time; times in the skipped hour are moved forward.
Fixed-width ISO 8601 stamps and whole hours away from clock changes take the fast paths of
``fasttime``, which give exactly what pandas gives; pandas reads and places everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from hotspots.ingest.fasttime import FixedIso, iso_fixed, localize_hourly
from hotspots.ingest.textbuf import arrow_strings
from hotspots.ingest.timeformats import (
    EPOCH_UNITS,
    YEAR_ONLY,
    format_precision,
    has_offset,
    read_format,
    to_datetime,
)
from hotspots.ingest.written import WrittenClock
from hotspots.ingest.zonenames import read_zone_names, split_zone_names, zone_name_notes


@dataclass(frozen=True)
class ParsedTimes:
    """Parsed times (tz-aware, NaT where unparseable), precision codes and the format used."""

    times: pd.Series
    precision: np.ndarray  # int8 codes into schema.PRECISIONS: 0 minute, 1 day, 2 month
    fmt: str
    column_format: str | None = None
    """The time (or date) column's format, as ``--time-format`` takes it; None for split
    year/month columns."""
    hour_form: str | None = None  # how an hour column was read: hours, HH:MM or HHMM
    notes: tuple[str, ...] = ()  # what the report says about how the times were read
    wrong_zone: np.ndarray | None = None  # rows whose zone name is not the zone's (NaT times)
    clock: WrittenClock | None = None
    """The wall clock the times were written in where it may not be ``tz``'s (``Z``, epoch
    numbers, offsets, another source zone); None when it is the local one."""


def localize(naive: pd.Series, tz: str) -> pd.Series:
    """Attach ``tz`` to naive wall times (ambiguous -> standard time, gaps -> shifted forward)."""
    return localize_hourly(naive, tz, partial(_localize_exact, tz=tz))


def _localize_exact(naive: pd.Series, tz: str) -> pd.Series:
    ambiguous = np.zeros(len(naive), dtype=bool)
    return naive.dt.tz_localize(tz, ambiguous=ambiguous, nonexistent="shift_forward")


def place(naive: pd.Series, precision: np.ndarray, tz: str, source_tz: str) -> pd.Series:
    """Naive times -> tz: times of day are read in source_tz, dates are local dates in tz."""
    if source_tz == tz or not (precision == 0).any():
        return localize(naive, tz)
    out = localize(naive, tz)
    timed = precision == 0
    out[timed] = localize(naive[timed], source_tz).dt.tz_convert(tz)
    return out


def _rows(text: pd.Series, mask: np.ndarray) -> pd.Series:
    return text if mask.all() else text[mask]


def _naive(text: pd.Series, fmt: str, aware: np.ndarray, fast: FixedIso | None) -> pd.Series:
    """Naive times of the rows without an offset: the fast path's, and pandas' for the rest."""
    if fast is None or not fast.ok.any():
        return to_datetime(text.mask(aware), fmt, False)
    slow = ~fast.ok
    rest = to_datetime(text[slow].mask(aware[slow]), fmt, False) if slow.any() else None
    if rest is not None and isinstance(rest.dtype, pd.DatetimeTZDtype):
        return to_datetime(text.mask(aware), fmt, False)  # a zone name the offset check missed
    # the unit pandas gives the whole column: microseconds unless a string needs nanoseconds
    unit = "ns" if rest is not None and rest.dt.unit == "ns" else "us"
    out = np.empty(len(text), dtype=f"M8[{unit}]")
    out[fast.ok] = fast.seconds[fast.ok].astype("M8[s]")
    if rest is not None:
        out[slow] = rest.to_numpy()
    return pd.Series(out, index=text.index, name=text.name)


def parse_time_column(
    values: pd.Series, tz: str, source_tz: str, fmt: str | None = None, order: str | None = None
) -> ParsedTimes:
    """Parse one time column (strings) in a given or inferred format.

    Rows with a UTC offset are converted to ``tz``; rows without one are placed as naive
    times, so one column may mix both. ``order`` (``day-first`` / ``month-first``) settles
    the day/month order of an inferred format when the values do not.
    """
    text, zones = split_zone_names(values.astype("string"))
    notes: tuple[str, ...] = ()
    if fmt is None:
        fmt, _, note = read_format(text, order)
        notes = (note,) if note else ()
    if fmt in EPOCH_UNITS:  # instants: no timezone to read them in
        number = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(np.float64)
        unit = {"s": 10**9, "ms": 10**6}[EPOCH_UNITS[fmt]]  # nanoseconds per unit
        ok = np.isfinite(number) & (number == np.floor(number)) & (np.abs(number) < 9e18 / unit)
        nanos = np.full(len(number), np.iinfo(np.int64).min)  # NaT
        nanos[ok] = number[ok].astype(np.int64) * unit  # integers: exact to the nanosecond
        stamps = pd.DatetimeIndex(nanos.view("M8[ns]")).tz_localize("UTC").tz_convert(tz)
        times = pd.Series(stamps, index=text.index, name=text.name)
        utc = WrittenClock(source_tz, aware=np.ones(len(text), dtype=bool))
        return ParsedTimes(times, np.zeros(len(text), np.int8), fmt, fmt, notes=notes, clock=utc)
    strings = arrow_strings(text) if fmt == "ISO8601" else None
    fast = iso_fixed(strings) if strings is not None else None
    slow = ~fast.ok if fast is not None else np.ones(len(text), dtype=bool)
    if strings is not None and slow.any():  # a year alone reads as 1 January: it is no time
        # one RE2 pass in Arrow: pandas' str.fullmatch on a million slow rows took 0.4 s
        alone = pc.match_substring_regex(strings, f"^{YEAR_ONLY}$")
        years = slow & pc.fill_null(alone, False).to_numpy(zero_copy_only=False)
        text = text.mask(years) if years.any() else text
    precision = fast.precision if fast is not None else np.zeros(len(text), np.int8)
    precision[slow] = format_precision(fmt, _rows(text, slow))
    aware = np.zeros(len(text), dtype=bool)
    aware[slow] = has_offset(_rows(text, slow))
    naive = None
    offset = np.ones(len(text), dtype=bool) if "%z" in fmt else aware
    written = offset.any() or source_tz != tz
    clock = WrittenClock(source_tz, offset, text) if written else None
    if "%z" in fmt or aware.all():
        times = to_datetime(text, fmt, True).dt.tz_convert(tz)
    else:
        naive = _naive(text, fmt, aware, fast)
        times = place(naive, precision, tz, source_tz)
        if aware.any():  # both kinds in one column: merge them on one time unit
            times = times.dt.as_unit("us")
            converted = to_datetime(text[aware], fmt, True).dt.tz_convert(tz)
            times[aware] = converted.dt.as_unit("us")
    if zones is None:
        return ParsedTimes(times, precision, fmt, fmt, notes=notes, clock=clock)
    times, wrong = read_zone_names(times, naive, zones, aware, source_tz)
    notes += tuple(zone_name_notes(zones, wrong, values, source_tz))
    return ParsedTimes(times, precision, fmt, fmt, notes=notes, wrong_zone=wrong, clock=clock)
