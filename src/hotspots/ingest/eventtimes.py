"""parse_times: the event times a column map names, from one time column
(``times.parse_time_column``) or from split ``date`` (+ ``hour`` / ``minute``) or
``year`` / ``month`` / ``day`` / ``hour`` / ``minute`` columns.

An hour column may hold whole hours, clock text (``07:30``) or HHMM numbers (``730``, as the
LAPD exports its ``TIME OCC``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.ingest.mapping import ColumnMap
from hotspots.ingest.times import ParsedTimes, parse_time_column, place
from hotspots.ingest.written import WrittenClock
from hotspots.ingest.zonecolumn import iso_walls, parse_zoned, parse_zoned_column

# clock text: 14:05, 14:05:00.000, 2:05 PM, 2:05PM, and Access's and Excel's time-only values
# on their day zero (1899-12-30 14:05:00, 12/30/1899 2:05:00 PM)
_CLOCK = (
    r"^\s*(?:(?:1899-12-30|12/30/1899|30/12/1899)[ T]+)?(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?"
    r"\s*(?:([AaPp])\.?[Mm]\.?)?\s*$"
)
# Event tables hold nanosecond times (pandas' default unit), which reach from 1677-09-21 to
# 2262-04-11; a time outside, such as year 0001 or 1600 (typing slips), cannot be an event.
NS_RANGE = (pd.Timestamp("1677-09-22", tz="UTC"), pd.Timestamp("2262-04-10", tz="UTC"))


def _numbers(frame: pd.DataFrame, column: str | None, lo: int, hi: int) -> pd.Series | None:
    """A split time column as floats, NaN where missing, non-integer or outside lo..hi."""
    if column is None:
        return None
    num = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    ok = (num >= lo) & (num <= hi) & (num == np.floor(num))
    return num.where(ok)


def _clock(
    frame: pd.DataFrame, cmap: ColumnMap, known: str | None = None
) -> tuple[pd.Series, pd.Series | None, str]:
    """(hour, minute or None, how the hour column was read): whole hours 0-23, clock text
    ``HH:MM[:SS]`` (the minute from it), or HHMM numbers when most of the column's numbers
    pass 23 (``2130`` is 21:30: all but the first 24 minutes of a day do; a stray 24 in an
    hour column does not make it HHMM), or when ``known`` (how a model's training data were
    read) says HHMM: a batch of one incident at 00:15 holds only ``15``. NaN where a value is
    none of these."""
    column = frame[cmap.hour]
    minute = _numbers(frame, cmap.minute, 0, 59)
    raw = pd.to_numeric(column, errors="coerce").astype("float64")
    whole = raw.notna() & (raw == np.floor(raw))
    hour = raw.where(whole & (raw >= 0) & (raw <= 23))  # as _numbers reads it
    most = int((whole & (raw > 23)).sum()) * 2 > int(whole.sum()) and known in (None, "HHMM")
    if (most or known == "HHMM") and minute is None:
        hhmm = raw.where(whole & (raw >= 0) & (raw <= 2359) & (raw % 100 < 60))
        return hhmm // 100, hhmm % 100, "HHMM"
    if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
        found = column.astype("string").str.extract(_CLOCK)
        text_hour, text_minute = found[0].astype("float64"), found[1].astype("float64")
        half = found[2].str.upper()  # A / P on a 12-hour clock: 1-12 only, 12 AM is 00
        twelve = half.notna()
        text_hour = text_hour.where(~twelve | text_hour.between(1, 12))
        text_hour = text_hour.where(~twelve, text_hour % 12 + (half == "P").astype("float64") * 12)
        text_hour = text_hour.where((text_hour <= 23) & (text_minute <= 59))
        if bool(text_hour.notna().any()) and minute is None:
            return hour.fillna(text_hour), text_minute.where(text_hour.notna()), "HH:MM"
    return hour, minute, "hours"


def _add_clock(
    base: pd.Series, frame: pd.DataFrame, cmap: ColumnMap, known: str | None = None
) -> tuple[pd.Series, str]:
    """``base`` dates plus the hour (and minute) columns' time of day, and how the hour
    column was read ("" without one)."""
    if cmap.hour is None:
        return base, ""
    hour, minute, form = _clock(frame, cmap, known)
    offset = hour * 3600 + (minute.fillna(0) if minute is not None else 0) * 60
    if cmap.minute is not None and minute is not None:  # unreadable minute: unreadable time
        offset = offset.where(minute.notna() | frame[cmap.minute].isna())
    return base + pd.to_timedelta(offset, unit="s"), form


def parse_split_columns(
    frame: pd.DataFrame,
    cmap: ColumnMap,
    tz: str,
    source_tz: str,
    fmt: str | None = None,
    order: str | None = None,
    hour_form: str | None = None,
) -> ParsedTimes:
    """Parse ``date`` (+hour/minute) or ``year/month[/day[/hour[/minute]]]`` columns
    (``hour_form``: how a model's training data read the hour column, see ``_clock``)."""
    n = len(frame)
    column_format: str | None = None
    notes: tuple[str, ...] = ()
    wrong = None
    if cmap.date:
        dates = parse_time_column(frame[cmap.date], tz, tz, fmt, order)
        base = dates.times.dt.tz_localize(None).dt.normalize()
        fmt_used = column_format = dates.fmt
        notes, wrong = dates.notes, dates.wrong_zone
    elif cmap.year and cmap.month:
        parts = {
            "year": _numbers(frame, cmap.year, 1900, 2200),
            "month": _numbers(frame, cmap.month, 1, 12),
            "day": _numbers(frame, cmap.day, 1, 31) if cmap.day else pd.Series(1.0, frame.index),
        }
        base = pd.to_datetime(pd.DataFrame(parts), errors="coerce")
        fmt_used = "split columns"
    else:
        raise ConfigError("a time needs time=, date= or year= and month= columns")
    naive, form = _add_clock(base, frame, cmap, hour_form)
    if form and form != "hours":
        fmt_used = f"{fmt_used}; hour column as {form}"
    level = 0 if cmap.hour else (1 if (cmap.date or cmap.day) else 2)
    precision = np.full(n, level, np.int8)
    if cmap.tz:  # the zone column read after each wall time, written out as ISO text
        text = iso_walls(naive, precision)
        zoned = parse_zoned(text, frame[cmap.tz], tz, source_tz, "ISO8601", column=cmap.tz)
        wrong = zoned.wrong_zone if wrong is None else wrong | zoned.wrong_zone
        notes += zoned.notes
        times, clock = zoned.times, zoned.clock
    else:
        times = place(naive, precision, tz, source_tz)
        clock = WrittenClock(source_tz) if source_tz != tz and cmap.hour else None
    return ParsedTimes(times, precision, fmt_used, column_format, form or None, notes, wrong, clock)


def parse_times(
    frame: pd.DataFrame,
    cmap: ColumnMap,
    tz: str,
    source_tz: str,
    fmt: str | None = None,
    order: str | None = None,
    hour_form: str | None = None,
) -> ParsedTimes:
    """Parse the event times of ``frame`` as the column map says.

    Times outside the nanosecond range (``NS_RANGE``) are NaT, like any unreadable time.
    """
    if cmap.time and cmap.tz:
        zone = frame[cmap.tz]
        parsed = parse_zoned_column(frame[cmap.time], zone, tz, source_tz, fmt, order, cmap.tz)
    elif cmap.time:
        parsed = parse_time_column(frame[cmap.time], tz, source_tz, fmt, order)
    else:
        parsed = parse_split_columns(frame, cmap, tz, source_tz, fmt, order, hour_form)
    times = parsed.times
    outside = ((times < NS_RANGE[0]) | (times > NS_RANGE[1])).to_numpy(dtype=bool)
    if outside.any():
        times = times.mask(pd.Series(outside, index=times.index))
        return replace(parsed, times=times)
    return parsed
