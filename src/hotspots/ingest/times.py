"""Time parsing: one column, a date (+ hour/minute), or split year/month/day/... columns.

A time column may also hold Unix epoch numbers (``epoch-s`` / ``epoch-ms``, as ArcGIS and JSON
APIs export them: UTC instants), and an hour column clock text (``07:30``) or HHMM numbers
(``730``, as the LAPD exports its ``TIME OCC``).

Results are tz-aware in the target timezone, with a precision per row (minute, day or month).
Naive times with a time of day are read in ``source_tz``; times with a UTC offset are converted.
Dates and months carry no time of day, so they are taken as local calendar dates in the target
timezone and never shifted across midnight. Ambiguous wall times (the repeated hour when clocks
go back) are read as standard time; times in the skipped hour are moved forward.
Fixed-width ISO 8601 stamps and whole hours away from clock changes take the fast paths of
``fasttime``, which give exactly what pandas gives; pandas reads and places everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hotspots.errors import ConfigError
from hotspots.ingest.dayorder import (
    DateOrderError,
    in_order,
    month_starts_note,
    order_evidence,
    order_of,
)
from hotspots.ingest.fasttime import FixedIso, iso_fixed, localize_hourly
from hotspots.ingest.mapping import ColumnMap
from hotspots.ingest.textbuf import arrow_strings
from hotspots.ingest.written import WrittenClock
from hotspots.ingest.zonenames import read_zone_names, split_zone_names, zone_name_notes

# Tried in this order on a sample when no format is given; the best parser wins. A day/month
# format and its twin in the other order (ingest.dayorder) that read as much are settled by
# the whole column's values, or by a known order, or refused: never by this order.
_CLOCKS = (" %I:%M:%S %p", " %I:%M %p", " %H:%M:%S.%f", " %H:%M:%S", " %H:%M", "")
CANDIDATE_FORMATS = (
    "ISO8601",
    # month first, then day first; four-digit years, then two (03/04/21); then with dashes
    *(
        f"{date}%{year}{clock}"
        for date in ("%m/%d/", "%d/%m/")
        for year in "Yy"
        for clock in _CLOCKS
    ),
    *(f"{date}%Y{clock}" for date in ("%m-%d-", "%d-%m-") for clock in _CLOCKS),
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    # month names (Excel's and Oracle's 13-Apr-2021 / 13-APR-21, 13 April 2021, Apr 13, 2021):
    # the name settles the order
    *(
        f"{date}{clock}"
        for date in ("%d-%b-%Y", "%d-%b-%y", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y")
        for clock in _CLOCKS
    ),
    # a month alone (03/2021, Mar 2021): month precision
    "%m/%Y",
    "%b-%Y",
    "%b %Y",
    "%B %Y",
)
# A signed UTC offset at the end ("10:00:00+01:00", "10:00-0500", "10:00:00+01"); it counts
# only in a string that also holds a time of day (a ":"), as a date such as "01-02-2020" ends
# in "-2020" too. A trailing "Z" always counts.
_SIGNED_OFFSET = r"[+-]\d\d(?::?\d\d)?$"
SAMPLE = 2000
# Unix epoch numbers: whole seconds or milliseconds since 1970 UTC (10 / 13 digits from 2001
# to 2286, 9 / 12 before); a Parquet integer column comes as floats, so "...0" ends allowed
EPOCH_UNITS = {"epoch-s": "s", "epoch-ms": "ms"}
_EPOCH_PATTERNS = {"epoch-s": r"\d{9,10}(?:\.0*)?", "epoch-ms": r"\d{12,13}(?:\.0*)?"}
# Compact stamps YYYYMMDDHHMM[SS], as some records systems write them: 12 digits read as epoch
# milliseconds too (landing in 1976), and pandas reads "%M%S" into "03" as 00:03, so a column
# of them is told by its whole shape, not by which format parses it first.
_DAY_HOUR = r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:[01]\d|2[0-3])[0-5]\d"
COMPACT_FORMATS = {"%Y%m%d%H%M": _DAY_HOUR, "%Y%m%d%H%M%S": _DAY_HOUR + r"[0-5]\d"}
YEAR_ONLY = r"\s*\d{4}\s*"  # "2021": pandas reads it as 2021-01-01, a month it does not say
_CLOCK = r"^\s*(\d{1,2}):(\d{2})(?::\d{2})?\s*$"
# Event tables hold nanosecond times (pandas' default unit), which reach from 1677-09-21 to
# 2262-04-11; a time outside, such as year 0001 or 1600 (typing slips), cannot be an event.
NS_RANGE = (pd.Timestamp("1677-09-22", tz="UTC"), pd.Timestamp("2262-04-10", tz="UTC"))


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


def _to_datetime(s: pd.Series, fmt: str, utc: bool) -> pd.Series:
    # pandas' cache of distinct strings pays off only when values repeat (months, dates);
    # for minute-stamped exports it costs four times the parse itself
    head = s.head(10_000)
    cache = head.nunique() < len(head) // 10
    return pd.to_datetime(s, format=fmt, errors="coerce", utc=utc, cache=cache)


def _spread(values: pd.Series, n: int) -> pd.Series:
    """At most ``n`` values, evenly spaced over the series (all of it when shorter)."""
    if len(values) <= n:
        return values
    return values.iloc[np.linspace(0, len(values) - 1, n).astype(int)]


def infer_format(values: pd.Series, order: str | None = None) -> tuple[str, float]:
    """The candidate format that parses most of a sample, with the share it parses.

    The sample is spread over the whole column: a date-sorted export's first rows all fall on
    days 1-12 of its first month, which read as months too. When a day/month format and its
    twin read the sample alike, the whole column settles the order (``_settle_order``).
    """
    fmt, share, _ = read_format(values, order)
    return fmt, share


def read_format(values: pd.Series, order: str | None = None) -> tuple[str, float, str | None]:
    """``infer_format``'s format and share, and a note for the report when the order was
    inferred from first-of-month dates (else None)."""
    sample = _spread(values, 20 * SAMPLE).dropna()
    sample = _spread(sample[sample.str.strip() != ""].drop_duplicates(), SAMPLE)
    if sample.empty:
        return "ISO8601", 0.0, None
    stripped = sample.str.strip()
    for name, pattern in {**COMPACT_FORMATS, **_EPOCH_PATTERNS}.items():
        if stripped.str.fullmatch(pattern).all():
            return name, 1.0, None
    utc = bool(_has_offset(sample).any())
    best, best_share = "ISO8601", -1.0
    for fmt in CANDIDATE_FORMATS:
        share = float(_to_datetime(sample, fmt, utc).notna().mean())
        if share > best_share:
            best, best_share = fmt, share
        if share == 1.0:
            break
    read = order_of(best) if best_share > 0 else None
    note = None
    if read is not None:
        twin = in_order(best, "day-first" if read == "month-first" else "month-first")
        tie = float(_to_datetime(sample, twin, utc).notna().mean()) == best_share
        if tie or (order is not None and read != order):
            best, note = _settle_order(values, best, order)
    return best, best_share, note


def _settle_order(values: pd.Series, fmt: str, order: str | None) -> tuple[str, str | None]:
    """``fmt`` in the order the whole column's values read (one vectorised pass, so a
    deciding date the sample missed still counts), else in the known ``order``, else in the
    order first-of-month dates over several years read in (with a note saying so);
    DateOrderError when none tells, or when the values tell against ``order``."""
    evidence = order_evidence(values)
    read = evidence.order
    if read is None and order is None and evidence.alike:
        return fmt, None  # 01/01, 05/05, 12/12 only: either order reads the same dates
    if read is None and order is None and evidence.month_starts:
        return in_order(fmt, evidence.month_starts), month_starts_note(evidence)
    settled = read or order
    against = read is not None and order is not None and read != order
    if settled is None or against:
        raise DateOrderError(evidence, fmt, known=order)
    return in_order(fmt, settled), None


def _format_precision(fmt: str, values: pd.Series) -> np.ndarray:
    """Per-row precision code implied by a format (ISO8601 decides by string length)."""
    n = len(values)
    if fmt == "ISO8601":
        arr = pa.array(values, type=pa.string())
        length = pc.fill_null(pc.utf8_length(pc.utf8_trim_whitespace(arr)), 0).to_numpy()
        return np.where(length <= 7, 2, np.where(length <= 10, 1, 0)).astype(np.int8)
    if "%H" in fmt or "%I" in fmt:
        return np.zeros(n, np.int8)
    return np.full(n, 1 if "%d" in fmt else 2, np.int8)


def localize(naive: pd.Series, tz: str) -> pd.Series:
    """Attach ``tz`` to naive wall times (ambiguous -> standard time, gaps -> shifted forward)."""
    return localize_hourly(naive, tz, partial(_localize_exact, tz=tz))


def _localize_exact(naive: pd.Series, tz: str) -> pd.Series:
    ambiguous = np.zeros(len(naive), dtype=bool)
    return naive.dt.tz_localize(tz, ambiguous=ambiguous, nonexistent="shift_forward")


def _place(naive: pd.Series, precision: np.ndarray, tz: str, source_tz: str) -> pd.Series:
    """Naive times -> tz: times of day are read in source_tz, dates are local dates in tz."""
    if source_tz == tz or not (precision == 0).any():
        return localize(naive, tz)
    out = localize(naive, tz)
    timed = precision == 0
    out[timed] = localize(naive[timed], source_tz).dt.tz_convert(tz)
    return out


def _has_offset(text: pd.Series) -> np.ndarray:
    """Per row: True where the string ends in a UTC offset."""
    arr = pa.array(text, type=pa.string())
    signed = pc.and_(pc.match_substring(arr, ":"), pc.match_substring_regex(arr, _SIGNED_OFFSET))
    found = pc.or_(pc.ends_with(arr, "Z"), signed)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def _rows(text: pd.Series, mask: np.ndarray) -> pd.Series:
    return text if mask.all() else text[mask]


def _naive(text: pd.Series, fmt: str, aware: np.ndarray, fast: FixedIso | None) -> pd.Series:
    """Naive times of the rows without an offset: the fast path's, and pandas' for the rest."""
    if fast is None or not fast.ok.any():
        return _to_datetime(text.mask(aware), fmt, False)
    slow = ~fast.ok
    rest = _to_datetime(text[slow].mask(aware[slow]), fmt, False) if slow.any() else None
    if rest is not None and isinstance(rest.dtype, pd.DatetimeTZDtype):
        return _to_datetime(text.mask(aware), fmt, False)  # a zone name the offset check missed
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
    precision[slow] = _format_precision(fmt, _rows(text, slow))
    aware = np.zeros(len(text), dtype=bool)
    aware[slow] = _has_offset(_rows(text, slow))
    naive = None
    offset = np.ones(len(text), dtype=bool) if "%z" in fmt else aware
    written = offset.any() or source_tz != tz
    clock = WrittenClock(source_tz, offset, text) if written else None
    if "%z" in fmt or aware.all():
        times = _to_datetime(text, fmt, True).dt.tz_convert(tz)
    else:
        naive = _naive(text, fmt, aware, fast)
        times = _place(naive, precision, tz, source_tz)
        if aware.any():  # both kinds in one column: merge them on one time unit
            times = times.dt.as_unit("us")
            converted = _to_datetime(text[aware], fmt, True).dt.tz_convert(tz)
            times[aware] = converted.dt.as_unit("us")
    if zones is None:
        return ParsedTimes(times, precision, fmt, fmt, notes=notes, clock=clock)
    times, wrong = read_zone_names(times, naive, zones, aware, source_tz)
    notes += tuple(zone_name_notes(zones, wrong, values, source_tz))
    return ParsedTimes(times, precision, fmt, fmt, notes=notes, wrong_zone=wrong, clock=clock)


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
        found = column.astype("string").str.extract(_CLOCK).astype("float64")
        text_hour = found[0].where((found[0] <= 23) & (found[1] <= 59))
        if bool(text_hour.notna().any()) and minute is None:
            return hour.fillna(text_hour), found[1].where(text_hour.notna()), "HH:MM"
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
    times = _place(naive, precision, tz, source_tz)
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
    if cmap.time:
        parsed = parse_time_column(frame[cmap.time], tz, source_tz, fmt, order)
    else:
        parsed = parse_split_columns(frame, cmap, tz, source_tz, fmt, order, hour_form)
    times = parsed.times
    outside = ((times < NS_RANGE[0]) | (times > NS_RANGE[1])).to_numpy(dtype=bool)
    if outside.any():
        times = times.mask(pd.Series(outside, index=times.index))
        return replace(parsed, times=times)
    return parsed
