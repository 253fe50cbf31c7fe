"""Time zone abbreviations after a time of day (``2021-06-01 14:00 BST``, ``... 2:00 PM EST``).

Abbreviations are ambiguous worldwide (IST is Indian, Irish and Israel time; CST US Central
and China), so one is taken only where it is the name the zone that times of day are read in
(``--source-tz``, by default ``--tz``) gives that local time: BST in a London summer, GMT in
its winter. The time is then that local time, and in the hour repeated when clocks go back
the name says which of the two it is (01:30 BST comes an hour before 01:30 GMT). ``UTC`` and
``GMT`` are read as an offset of zero in any zone, as ``Z`` and ``+00:00`` are (a Chicago
export's ``14:05 GMT`` is 08:05 CST; before, it was a ``wrong_time_zone`` reject, and GMT on
a London summer date too). Any other name (EST in London, BST on a January date, any name on
a time the clocks skip) makes the row a ``wrong_time_zone`` reject: read as the zone's time
it would be hours off; ``wrong_zone_advice`` says what to do when they are many.

Vectorised: the names are found in the strings' bytes (numpy, no Python string per row), the
zone's names come from a table of its changes over the rows' dates (one zoneinfo call per
day, each change found to the second), and rows look their name up in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hotspots.ingest.textbuf import arrow_strings, lengths, may_need_trim, string_buffers

UNIVERSAL = ("UTC", "GMT")  # offset zero wherever the export was written
_DAY_NS = 86_400 * 10**9
_LENGTHS = (3, 4, 5)  # EST, AEST, ACDT: a name of 3-5 capitals
_BLANKS = np.frombuffer(b" \t", np.uint8)
_BEFORE = np.frombuffer(b"0123456789MmZ", np.uint8)  # what ends a clock: a digit, AM/PM, Z
# the zone to give --source-tz for a name that is not the source zone's (a name several
# zones use says so)
_WRITTEN_IN = {
    **dict.fromkeys(("EST", "EDT"), "America/New_York"),
    **dict.fromkeys(("CDT",), "America/Chicago"),
    **dict.fromkeys(("MST", "MDT"), "America/Denver (Arizona: America/Phoenix)"),
    **dict.fromkeys(("PST", "PDT"), "America/Los_Angeles"),
    **dict.fromkeys(("BST",), "Europe/London"),
    **dict.fromkeys(("CET", "CEST"), "Europe/Paris"),
    **dict.fromkeys(("EET", "EEST"), "Europe/Athens"),
    **dict.fromkeys(("AEST", "AEDT"), "Australia/Sydney"),
    "CST": "America/Chicago (US Central) or Asia/Shanghai (China)",
    "IST": "Asia/Kolkata (India), Europe/Dublin (Irish summer) or Asia/Jerusalem (Israel)",
}


@dataclass(frozen=True)
class ZoneNames:
    """The names split off a time column: per row a code into ``vocabulary``, -1 for none."""

    codes: npt.NDArray[np.int64]
    vocabulary: list[str]

    @property
    def named(self) -> npt.NDArray[np.bool_]:
        return self.codes >= 0

    def code(self, name: str) -> int:
        return self.vocabulary.index(name) if name in self.vocabulary else -2


def _tail_names(chunked: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per row the length of a trailing name (3-5 capitals after a blank after a digit, an
    AM/PM or a Z; 0 for none) and the name's bytes as one number. Read from the bytes: a
    regex pass over a million rows took over a second. Only rows ending in a capital are
    looked at further."""
    sizes, keys = [], []
    for chunk in chunked.chunks:
        offsets, data = string_buffers(chunk)
        size, end = lengths(chunk), offsets[1:]
        found, key = np.zeros(len(chunk), np.int64), np.zeros(len(chunk), np.int64)
        last = data[np.where(size > 0, end - 1, 0)] if data.size else np.zeros(len(chunk), np.uint8)
        rows = np.flatnonzero((size >= 6) & (last >= ord("A")) & (last <= ord("Z")))
        size, end = size[rows], end[rows]
        back = [data[np.where(size >= j, end - j, 0)] for j in range(1, 8)]  # back[j - 1]
        capital = [(b >= ord("A")) & (b <= ord("Z")) for b in back[:5]]
        for k in _LENGTHS:
            ok = (size >= k + 2) & np.isin(back[k], _BLANKS) & np.isin(back[k + 1], _BEFORE)
            for j in range(k):
                ok &= capital[j]
            found[rows[ok]] = k
            key[rows[ok]] = sum(back[j][ok].astype(np.int64) << (8 * j) for j in range(k))
        sizes.append(found)
        keys.append(key)
    if not sizes:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(sizes), np.concatenate(keys)


def _key_name(key: int) -> str:
    return bytes(reversed(key.to_bytes(5, "little").rstrip(b"\0"))).decode("ascii")


def split_zone_names(text: pd.Series) -> tuple[pd.Series, ZoneNames | None]:
    """``text`` without a trailing zone name after a time of day, and the names (None when
    no row has one)."""
    strings = arrow_strings(text)
    if may_need_trim(strings):
        strings = pc.utf8_trim_whitespace(strings)
    size, key = _tail_names(strings)
    if not size.any():
        return text, None
    clock = pc.fill_null(pc.match_substring(strings, ":"), False).to_numpy(zero_copy_only=False)
    size[~clock] = 0  # a name needs a time of day
    if not size.any():
        return text, None
    rest = strings
    for k in _LENGTHS:
        if (size == k).any():
            cut = pc.utf8_slice_codeunits(strings, 0, -(k + 1))
            rest = pc.if_else(pa.array(size == k), cut, rest)
    named = size > 0
    found, inverse = np.unique(key[named], return_inverse=True)
    codes = np.full(len(size), -1, dtype=np.int64)
    codes[named] = inverse
    strings_of = {pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}.get
    stripped = pd.Series(rest.to_pandas(types_mapper=strings_of), name=text.name)
    stripped.index = text.index
    return stripped, ZoneNames(codes, [_key_name(int(k)) for k in found])


def _name_changes(tz: str, lo_ns: int, hi_ns: int) -> tuple[npt.NDArray[np.int64], list[str]]:
    """The instants (UTC ns) from which ``tz`` gives each name between ``lo_ns`` and
    ``hi_ns``: a name and offset per day, each change found to the second by bisection."""
    zone = ZoneInfo(tz)

    def key(seconds: int) -> tuple[str | None, object]:
        local = datetime.fromtimestamp(seconds, tz=UTC).astimezone(zone)
        return local.tzname(), local.utcoffset()

    first = lo_ns // _DAY_NS * 86_400 - 86_400
    days = range(first, hi_ns // _DAY_NS * 86_400 + 2 * 86_400, 86_400)
    keys = [key(day) for day in days]
    starts, names = [first], [str(keys[0][0])]
    for i in range(1, len(keys)):
        if keys[i] == keys[i - 1]:
            continue
        before, after = days[i - 1], days[i]  # key(before) != key(after): bisect the change
        while after - before > 1:
            middle = (before + after) // 2
            before, after = (middle, after) if key(middle) == keys[i - 1] else (before, middle)
        starts.append(after)
        names.append(str(keys[i][0]))
    return np.asarray(starts, dtype=np.int64) * 10**9, names


def names_at(instants: pd.DatetimeIndex, tz: str, zones: ZoneNames) -> npt.NDArray[np.int64]:
    """The name ``tz`` gives each (tz-aware) instant, as a code of ``zones`` (-2: a name no
    row has; -3 at NaT)."""
    ns = instants.as_unit("ns").asi8
    known = ~np.asarray(instants.isna())
    out = np.full(len(ns), -3, dtype=np.int64)
    if not known.any():
        return out
    starts, names = _name_changes(tz, int(ns[known].min()), int(ns[known].max()))
    at = np.searchsorted(starts, ns[known], side="right") - 1
    out[known] = np.asarray([zones.code(name) for name in names], dtype=np.int64)[at]
    return out


def read_zone_names(
    times: pd.Series, naive: pd.Series | None, zones: ZoneNames, aware: np.ndarray, source_tz: str
) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
    """``times`` with each named row read as the local time its name says, and the rows whose
    name ``source_tz`` does not give that time (NaT in the times returned).

    ``naive`` holds the wall times of the rows without an offset (None when every row has
    one); rows with an offset keep their instant, and their name must be its name too.
    """
    rows = np.flatnonzero(zones.named & np.asarray(times.notna()))
    name = zones.codes[rows]
    universal = np.isin(name, [zones.code(u) for u in UNIVERSAL])
    utc = np.asarray(times.dt.tz_convert("UTC").array.as_unit("ns").asi8).copy()
    found = utc[rows].copy()
    ok = universal.copy()
    offset = aware[rows] | (naive is None)
    if offset.any():
        stamps = pd.DatetimeIndex(found[offset].view("M8[ns]")).tz_localize("UTC")
        ok[offset] |= names_at(stamps, source_tz, zones) == name[offset]
    if naive is not None and not offset.all():
        wall = pd.DatetimeIndex(naive.iloc[rows[~offset]].to_numpy()).as_unit("ns")
        got, good = _walls(wall, name[~offset], source_tz, zones)
        found[~offset] = np.where(universal[~offset], wall.asi8, got)
        ok[~offset] |= good
    utc[rows] = np.where(ok, found, np.iinfo(np.int64).min)
    back = pd.DatetimeIndex(utc.view("M8[ns]")).tz_localize("UTC").tz_convert(str(times.dt.tz))
    out = pd.Series(back.as_unit(times.dt.unit), index=times.index, name=times.name)
    wrong = np.zeros(len(times), dtype=bool)
    wrong[rows[~ok]] = True
    return out, wrong


def _walls(
    wall: pd.DatetimeIndex, name: npt.NDArray[np.int64], tz: str, zones: ZoneNames
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """UTC ns of wall times read in ``tz`` as the time of day ``name`` says, and whether it
    does: the earlier of a repeated time (summer time) or the later, whichever has that name;
    no name on a time the clocks skip."""
    n = len(wall)
    earlier = wall.tz_localize(tz, ambiguous=np.ones(n, bool), nonexistent="NaT")
    later = wall.tz_localize(tz, ambiguous=np.zeros(n, bool), nonexistent="NaT")
    first = names_at(earlier, tz, zones) == name
    second = names_at(later, tz, zones) == name
    return np.where(first, earlier.asi8, later.asi8), first | second


def rows_text(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def zone_name_notes(
    zones: ZoneNames, wrong: npt.NDArray[np.bool_], values: pd.Series, source_tz: str
) -> list[str]:
    """Which names were read, and which were not the zone's (each with a value as written)."""
    vocabulary = np.asarray(zones.vocabulary, dtype=object)
    read = np.bincount(zones.codes[zones.named & ~wrong], minlength=len(vocabulary))
    notes = []
    zero = np.isin(vocabulary, UNIVERSAL)
    for label, which in (
        ("as an offset of zero (+00:00)", zero),
        (f"as {source_tz}'s own at those times", ~zero),
    ):
        codes = np.flatnonzero(read * which)
        if codes.size:
            counts = ", ".join(f"{vocabulary[c]} {read[c]:,}" for c in codes)
            notes.append(f"time zone names read {label}: {counts}")
    if wrong.any():
        bad = np.bincount(zones.codes[wrong], minlength=len(vocabulary))
        shown = []
        for c in np.flatnonzero(bad):
            at = int(np.flatnonzero(wrong & (zones.codes == c))[0])
            value = str(values.iloc[at]).strip()
            shown.append(f"{vocabulary[c]!r} ({rows_text(int(bad[c]))}, e.g. {value!r})")
        notes.append(
            f"wrong_time_zone: times named {', '.join(shown)} are not so named in {source_tz} "
            "at that local time; read as its local time they would be an hour or more off"
        )
    return notes


def wrong_zone_advice(
    values: pd.Series, wrong: npt.NDArray[np.bool_], source_tz: str, where: str
) -> str:
    """What a refusal mostly of ``wrong_time_zone`` rows says: the column, a value as written
    and what to do (``where``: ``column 'time' of crimes.csv``)."""
    example = str(values.iloc[int(np.flatnonzero(wrong)[0])]).strip()
    name = example.rsplit(maxsplit=1)[-1] if example else "?"
    year = pd.Timestamp("2024-01-01").value  # a year of the zone's names (2024's rules)
    if name in _name_changes(source_tz, year, year + 365 * _DAY_NS)[1]:
        return (
            f"{where} holds times named {name!r} (e.g. {example!r}), {source_tz}'s name at "
            "other times of year: the times or their names are wrong; if the times are right, "
            "drop the names and they are read as its local times"
        )
    zone = _WRITTEN_IN.get(name, "the IANA zone they were written in")
    return (
        f"{where} holds times named {name!r} (e.g. {example!r}), a name {source_tz} does not "
        f"give them: if the times were written in another zone, give --source-tz {zone} "
        "(spec: data.source_timezone), or export them with UTC offsets (+01:00)"
    )
