"""A time zone column beside the times (``--map tz=COL``: exports with ``date, time, tz``).

Each row's zone is read as if written after its time: a UTC offset (``+01:00``, ``-0500``,
``UTC+1``, ``GMT-05:00``), ``Z``, ``UTC`` / ``GMT`` (offset zero), an abbreviation (``BST``,
``CDT``: read only where it is the source zone's own name at that local time, as after a
time, see ``ingest.zonenames``) or an IANA name (``America/Chicago``: the time read there;
a date alone stays the date written, as every date does). An empty zone leaves the time naive,
read in the source zone. Any other value (``Eastern``, ``Europe/Nowhere``) makes the row's time
unreadable, with a note naming the values: read in the source zone instead it would be hours
off with nothing said.

Vectorised over rows: the zone column has few distinct values, each read once.
"""

from __future__ import annotations

import re
from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import InputFileError
from hotspots.ingest.mapping import ColumnMap
from hotspots.ingest.timeformats import EPOCH_UNITS
from hotspots.ingest.times import ParsedTimes, parse_time_column
from hotspots.ingest.written import WrittenClock
from hotspots.ingest.zonenames import rows_text, wrong_zone_advice

# header names of a zone column: one left unmapped would have its times read in --tz
ZONE_COLUMNS = ("tz", "timezone", "time_zone", "time zone", "tz_name", "utc_offset")
_PROBE = "unmapped zone column "
_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d\d)|\.0+)?")  # -5.0: a float column
_NAME = re.compile(r"[A-Z]{3,5}")


def _suffix(value: str) -> tuple[str | None, str | None]:
    """(text to write after the time, IANA zone name): ("", None) for an empty value,
    (None, None) for one that is no zone."""
    text = value.strip()
    if not text:
        return "", None
    if "/" in text:
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            return None, None
        return "", text
    upper = text.upper()
    if upper == "Z":
        return "Z", None
    found = _OFFSET.fullmatch(upper)
    if found:
        sign, hours, minutes = found.group(1), int(found.group(2)), int(found.group(3) or 0)
        ok = hours <= 14 and minutes < 60
        return (f" {sign}{hours:02d}:{minutes:02d}" if ok else None), None
    return (f" {upper}" if _NAME.fullmatch(upper) else None), None


def parse_zoned(
    text: pd.Series,
    zone: pd.Series,
    tz: str,
    source_tz: str,
    fmt: str | None = None,
    order: str | None = None,
    column: str = "tz",
) -> ParsedTimes:
    """Times (strings) read in the zone the ``zone`` column gives each row."""
    codes, values = pd.factorize(zone.astype("string").fillna(""))
    read = [_suffix(str(v)) for v in values]
    suffix = np.asarray([s if s is not None else "" for s, _ in read], dtype=object)[codes]
    bad = np.asarray([s is None for s, _ in read], dtype=bool)[codes]
    joined = (text.astype("string").str.strip() + pd.Series(suffix, index=text.index)).mask(bad)
    parsed = parse_time_column(joined, tz, source_tz, fmt, order)
    times = parsed.times.dt.as_unit("ns")
    timed = parsed.precision == 0  # a date is a local date (times.place), whatever its zone
    written = joined.copy()  # with each IANA row's offset there, for the clock it was written on
    zoned = np.asarray([name is not None for _, name in read], dtype=bool)[codes] & timed
    for code, (_, name) in enumerate(read):
        rows = (codes == code) & zoned
        if rows.any():
            there = parse_time_column(text[rows], str(name), str(name), parsed.fmt).times
            times[rows] = there.dt.tz_convert(tz).dt.as_unit("ns")
            written[rows] = joined[rows] + _offset_text(there)
    clock = _with_offsets(parsed.clock, written, zoned, source_tz)
    notes = parsed.notes + _no_zone_notes(codes, values, [s is None for s, _ in read], column)
    return replace(parsed, times=times, notes=notes, clock=clock)


def _no_zone_notes(
    codes: npt.NDArray[np.intp], values: pd.Index, no_zone: list[bool], column: str
) -> tuple[str, ...]:
    """The note naming the zone column's values that are no zone (none without any)."""
    if not any(no_zone):
        return ()
    shown = ", ".join(
        f"{values[c]!r} ({rows_text(int((codes == c).sum()))})" for c in np.flatnonzero(no_zone)[:5]
    )
    return (
        f"unparseable_time: time zone column {column!r} holds values that are no zone: "
        f"{shown}; write UTC offsets (+01:00), abbreviations (EST) or IANA names "
        "(America/New_York)",
    )


def _offset_text(there: pd.Series) -> pd.Series:
    """Each (tz-aware) time's UTC offset in its zone, as written after a time (`` -05:00``);
    formatted once per distinct offset."""
    shift = there.dt.tz_localize(None) - there.dt.tz_convert("UTC").dt.tz_localize(None)
    minutes = (shift.dt.total_seconds() // 60).fillna(0).astype(np.int64).to_numpy()
    found, at = np.unique(minutes, return_inverse=True)
    labels = [f" {'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}" for m in found]
    return pd.Series(np.asarray(labels, dtype=object)[at], index=there.index, dtype="string")


def _with_offsets(
    clock: WrittenClock | None, written: pd.Series, zoned: npt.NDArray[np.bool_], source_tz: str
) -> WrittenClock | None:
    """``clock`` with the ``zoned`` rows (read in an IANA zone) on the wall clock they were
    written on: their ``written`` text carries that zone's offset."""
    if not zoned.any() or (clock is not None and clock.text is None):
        return clock  # nothing read in a zone of its own; epoch numbers are instants
    aware = np.zeros(len(written), bool) if clock is None or clock.aware is None else clock.aware
    return WrittenClock(source_tz, aware | zoned, written)


def iso_walls(naive: pd.Series, precision: npt.NDArray[np.int8]) -> pd.Series:
    """Naive wall times as ISO text at their precision (``2024-03-13T14:05:00``, a date
    ``2024-03-13``, a month ``2024-03``; NA at NaT), for ``parse_zoned`` to read with a zone."""
    at = naive.to_numpy(dtype="M8[s]")
    day, month = (np.datetime_as_string(at.astype(unit)) for unit in ("M8[D]", "M8[M]"))
    text = np.where(precision == 0, np.datetime_as_string(at), np.where(precision == 1, day, month))
    return pd.Series(text, index=naive.index, dtype="string").mask(naive.isna())


def parse_zoned_column(
    values: pd.Series,
    zone: pd.Series,
    tz: str,
    source_tz: str,
    fmt: str | None = None,
    order: str | None = None,
    column: str = "tz",
) -> ParsedTimes:
    """A time column read in the zone its zone column gives each row: the times read as
    written, in the column's own format (``03/13/2024 2:05 PM``), then each wall time with its
    zone as ISO text, as split date and hour columns are. A date stays the date written, an
    epoch number is an instant no zone moves, and a time with an offset of its own (two zones)
    is unreadable. A column whose times carry zone names (``14:05 BST``) is read as written,
    each zone value after its name."""
    walls = parse_time_column(values, "UTC", "UTC", fmt, order)
    if walls.fmt in EPOCH_UNITS:
        return parse_time_column(values, tz, source_tz, walls.fmt)
    if walls.wrong_zone is not None:  # names, which only the source zone reads (zonenames)
        return parse_zoned(values, zone, tz, source_tz, fmt, order, column)
    naive = walls.times.dt.tz_localize(None)
    if walls.clock is not None and walls.clock.aware is not None:
        naive = naive.mask(pd.Series(walls.clock.aware, index=naive.index))
    dated = pd.Series(walls.precision != 0, index=zone.index)
    text = iso_walls(naive, walls.precision)
    zoned = parse_zoned(text, zone.astype("string").mask(dated, ""), tz, source_tz, "ISO8601",
                        column=column)  # fmt: skip
    notes = walls.notes + zoned.notes
    return replace(zoned, fmt=walls.fmt, column_format=walls.column_format, notes=notes)


def zone_advice(
    raw: pd.DataFrame,
    wrong: npt.NDArray[np.bool_] | None,
    unparseable: npt.NDArray[np.bool_],
    cmap: ColumnMap,
    source_tz: str,
    source: str,
) -> dict[str, str]:
    """What a refusal says to do when zones make most of its rejects (``enforce_ceiling``):
    names that are not the source zone's, or zone column values that are no zone. ``raw`` is
    keyed by field (``raw["tz"]``), ``cmap`` names the source's columns."""
    advice = {}
    key = "tz" if cmap.tz else "time" if cmap.time else "date"
    where = f"column {getattr(cmap, key)!r} of {source}"
    if wrong is not None and wrong.any():
        advice["wrong_time_zone"] = wrong_zone_advice(raw[key], wrong, source_tz, where)
    if cmap.tz and unparseable.any():
        codes, values = pd.factorize(raw["tz"].astype("string").fillna(""))
        bad = np.asarray([_suffix(str(v))[0] is None for v in values], dtype=bool)[codes]
        if (bad & unparseable).any():
            example = str(values[codes[np.flatnonzero(bad & unparseable)[0]]])
            advice["unparseable_time"] = (
                f"{where} holds values that are no time zone (e.g. {example!r}): write UTC "
                "offsets (+01:00), abbreviations (EST) or IANA names (America/New_York) there, "
                "or leave it unmapped and give --source-tz if every time was written in one zone"
            )
    return advice


def zone_probes(cmap: ColumnMap, source_tz_given: bool) -> dict[str, str]:
    """Zone columns to read where the file has them (``check_zone_column``): none when the
    map names one, ``--source-tz`` says where every time was written, or no time of day is
    read."""
    if cmap.tz or source_tz_given or not (cmap.time or cmap.hour):
        return {}
    mapped = {column.casefold() for _, column in cmap.items()}
    return {_PROBE + name: name for name in ZONE_COLUMNS if name not in mapped}


def check_zone_column(
    raw: pd.DataFrame, tz: str, source: str, headers: dict[str, str] | None = None
) -> pd.DataFrame:
    """``raw`` without its probed zone columns; InputFileError when one holds a zone other
    than ``tz``: its times would be read as ``tz``'s with exit 0, hours off. ``headers``
    (``SourceTable.headers``) names the column as the file spells it ('Time Zone')."""
    probed = [key for key in raw.columns if str(key).startswith(_PROBE)]
    for key in probed:
        values = raw[key].astype("string").str.strip()
        given = values[values.notna() & (values != "") & (values != tz)]
        if len(given):
            column = (headers or {}).get(str(key), str(key).removeprefix(_PROBE))
            raise InputFileError(
                f"{source} has a time zone column {column!r} (e.g. {given.iloc[0]!r}) that "
                f"--map does not name, so its times would be read as {tz}'s: map it (tz={column}) "
                "to read each time in its zone, or give --source-tz with the zone every time "
                "was written in"
            )
    return raw.drop(columns=probed) if probed else raw
