"""Fast paths of time parsing for the shapes almost every export uses; pandas does the rest.

``iso_fixed`` reads ``YYYY-MM``, ``YYYY-MM-DD`` and ``YYYY-MM-DD[ T]HH:MM[:SS]`` straight from
arrow's string bytes, eight bytes at a time, and checks every field (month lengths and Feb 29
included) the way pandas' ISO 8601 parser does; any other string is left to pandas.
``localize_hourly`` attaches a timezone through one UTC offset per wall-clock hour, leaving the
hours that hold a transition (skipped or repeated times) to pandas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from hotspots.ingest.textbuf import word_view

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
BoolArray = npt.NDArray[np.bool_]

# string length -> precision code (schema.PRECISIONS: 0 minute, 1 day, 2 month)
SHAPES = {19: 0, 16: 0, 10: 1, 7: 2}
_PRECISION = np.zeros(21, dtype=np.int8)  # by string length (20: longer); only read where ok
_PRECISION[[7, 10]] = 2, 1
YEARS = (1678, 2261)  # inside datetime64[ns], so any unit pandas picks for the rest holds them
MIN_ROWS_HOURLY = 10_000  # below this pandas' own localisation is as quick


def _bytes_mask(positions: tuple[int, ...]) -> np.uint64:
    return np.uint64(sum(0xFF << (8 * p) for p in positions))


def _bytes_value(chars: dict[int, str]) -> np.uint64:
    return np.uint64(sum(ord(c) << (8 * p) for p, c in chars.items()))


def _digits_ok(word: U64, positions: tuple[int, ...]) -> BoolArray:
    """True where the bytes of ``word`` at ``positions`` are all ASCII digits."""
    mask = _bytes_mask(positions)
    high, threes = np.uint64(0xF0F0F0F0F0F0F0F0) & mask, np.uint64(0x3030303030303030) & mask
    # a byte 0x30..0x3F is a digit when adding 6 leaves its high nibble at 3 (no carry out)
    plus6 = (word & mask) + (np.uint64(0x0606060606060606) & mask)
    return ((word & high) == threes) & ((plus6 & high) == threes)


def _chars_ok(word: U64, chars: dict[int, str]) -> BoolArray:
    return (word & _bytes_mask(tuple(chars))) == _bytes_value(chars)


def _pairs(word: U64) -> U64:
    """Byte k becomes the two-digit number of digit bytes k and k + 1 (at most 99: no carry)."""
    low = word & np.uint64(0x0F0F0F0F0F0F0F0F)
    return low * np.uint64(10) + (low >> np.uint64(8))


def _byte(word: U64, k: int) -> npt.NDArray[np.uint8]:
    """Byte ``k`` of each little-endian word: a strided view, no copy."""
    return word.view(np.uint8)[k::8]


def _month_tables() -> tuple[I64, I64]:
    """Per month from YEARS[0]-01: days from 1970-01-01 to its first day, and its length."""
    months = np.arange((YEARS[1] - YEARS[0] + 1) * 12 + 1)
    first = (np.datetime64(f"{YEARS[0]}-01", "M") + months).astype("M8[D]").astype(np.int64)
    return first[:-1], np.diff(first)


_MONTH_START, _MONTH_DAYS = _month_tables()


def _read_shape(size: int, word: U64, at: I64) -> tuple[BoolArray, I64]:
    """(valid, seconds since 1970 of the naive wall time) of strings ``size`` bytes long."""
    a = word[at]  # bytes 0-7: "YYYY-MM-"
    seps = {4: "-", 7: "-"} if size > 7 else {4: "-"}
    ok = _digits_ok(a, (0, 1, 2, 3, 5, 6)) & _chars_ok(a, seps)
    pairs = _pairs(a)
    year = _byte(pairs, 0).astype(np.int32) * 100 + _byte(pairs, 2)
    month = _byte(pairs, 5)
    day = np.ones(len(at), dtype=np.uint8)
    clock = np.zeros(len(at), dtype=np.int32)
    if size == 10:
        d = word[at + 2]  # bytes 2-9: "YY-MM-DD"
        ok &= _digits_ok(d, (6, 7))
        day = _byte(_pairs(d), 6)
    elif size >= 16:
        b = word[at + 8]  # bytes 8-15: "DD HH:MM" (or "T" between date and time)
        ok &= _digits_ok(b, (0, 1, 3, 4, 6, 7)) & _chars_ok(b, {5: ":"})
        ok &= _chars_ok(b, {2: " "}) | _chars_ok(b, {2: "T"})
        pairs = _pairs(b)
        day, hour, minute = _byte(pairs, 0), _byte(pairs, 3), _byte(pairs, 6)
        ok &= (hour <= 23) & (minute <= 59)
        clock = hour.astype(np.int32) * 3600 + minute.astype(np.int32) * 60
    if size == 19:
        c = word[at + 11]  # bytes 11-18: "HH:MM:SS"
        ok &= _digits_ok(c, (6, 7)) & _chars_ok(c, {5: ":"})
        second = _byte(_pairs(c), 6)
        ok &= second <= 59
        clock += second
    ok &= (year >= YEARS[0]) & (year <= YEARS[1]) & (month >= 1) & (month <= 12)
    month_at = np.where(ok, (year - YEARS[0]) * 12 + month - 1, 0)
    ok &= (day >= 1) & (day <= _MONTH_DAYS[month_at])
    return ok, (_MONTH_START[month_at] + (day - 1)) * 86400 + clock


@dataclass(frozen=True)
class FixedIso:
    """Rows read by the fast path (``ok``), their naive times in seconds and precision codes."""

    ok: BoolArray
    seconds: I64
    precision: npt.NDArray[np.int8]


def _iso_chunk(chunk: pa.Array) -> FixedIso:
    word, start, size = word_view(chunk, 24)  # words are read up to 11 bytes past a start
    counts = np.bincount(np.minimum(size, 20), minlength=21)
    main = max(SHAPES, key=lambda length: counts[length])
    # the commonest shape is read for every row at once (no gather, no scatter) ...
    ok, seconds = _read_shape(main, word, start)
    ok &= size == main
    for length in SHAPES:  # ... and the other shapes only for their own few rows
        rows = np.flatnonzero(size == length)
        if length != main and rows.size:
            ok[rows], seconds[rows] = _read_shape(length, word, start[rows])
    return FixedIso(ok, seconds, _PRECISION[np.minimum(size, 20)])


def iso_fixed(text: pa.ChunkedArray) -> FixedIso:
    """Read the fixed-width ISO 8601 shapes; ``ok`` is False for every other string."""
    parts = [_iso_chunk(chunk) for chunk in text.chunks]
    if not parts:
        return FixedIso(np.zeros(0, bool), np.zeros(0, np.int64), np.zeros(0, np.int8))
    return FixedIso(
        np.concatenate([p.ok for p in parts]),
        np.concatenate([p.seconds for p in parts]),
        np.concatenate([p.precision for p in parts]),
    )


def _hour_offsets(hours: I64, per_hour: int, unit: str, tz: str) -> tuple[I64, BoolArray]:
    """UTC offset of each wall-clock hour (in ``unit``), and whether it holds for the whole hour.

    An hour is regular when its first and last instant are neither skipped nor repeated and
    share one offset; a transition inside the hour makes one of them fail.
    """
    found = []
    for wall in (hours * per_hour, hours * per_hour + (per_hour - 1)):
        index = pd.DatetimeIndex(wall.view(f"M8[{unit}]"))
        local = index.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        found.append((wall - local.asi8, np.asarray(local.isna())))  # asi8: UTC instants
    (begin, bad_begin), (end, bad_end) = found
    return begin, ~bad_begin & ~bad_end & (begin == end)


def localize_hourly(
    naive: pd.Series,
    tz: str,
    exact: Callable[[pd.Series], pd.Series],
    min_rows: int | None = None,
) -> pd.Series:
    """``exact(naive)`` (a localisation), computed per wall-clock hour where that is the same.

    Rows in hours that are not regular (a DST transition) and columns too small or too spread
    out for an hour table go through ``exact`` itself.
    """
    wall = naive.to_numpy()
    if len(naive) < (MIN_ROWS_HOURLY if min_rows is None else min_rows) or wall.dtype.kind != "M":
        return exact(naive)
    unit = str(np.datetime_data(wall.dtype)[0])
    per_hour = 3600 * {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}.get(unit, 0)
    values = wall.view(np.int64)
    known = ~np.isnat(wall)
    if not per_hour or not known.any():
        return exact(naive)
    hour = values // per_hour
    first = int(hour[known].min())
    span = int(hour[known].max()) - first + 1
    if span > 4 * len(naive) + 100_000:  # keep the hour table small beside the column
        return exact(naive)
    seen = np.flatnonzero(np.bincount(hour[known] - first, minlength=span))
    offset, regular = _hour_offsets(seen + first, per_hour, unit, tz)
    slot = np.zeros(span, dtype=np.int64)
    slot[seen] = np.arange(seen.size)
    at = slot[np.where(known, hour - first, 0)]
    utc = values - offset[at]
    slow = known & ~regular[at]
    if slow.any():
        utc[slow] = exact(naive[slow]).array.asi8
    utc[~known] = np.iinfo(np.int64).min  # NaT
    index = pd.DatetimeIndex(utc.view(f"M8[{unit}]")).tz_localize("UTC").tz_convert(tz)
    return pd.Series(index, index=naive.index, name=naive.name)
