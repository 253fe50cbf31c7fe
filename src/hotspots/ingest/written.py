"""The wall clock times were written in, where it may not be the local one.

Parsed times are instants shown in the target zone; a time written ``2021-03-01T00:00:00Z``
(or the epoch number of that instant, as ArcGIS exports dates) reads 18:00 on 28 February in
America/Chicago. What the writer meant (midnight on a 1st: a month) shows only in the zone it
was written in: UTC for ``Z`` and epoch numbers, a string's own offset (``+01:00``), or the
source zone for naive times of day. Read back lazily, for the rows asked about only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# a trailing UTC offset: sign, hours, optional minutes ("Z" and no offset read as 0)
_OFFSET = r"(?P<sign>[+-])(?P<hours>\d\d):?(?P<minutes>\d\d)?\s*$"


@dataclass(frozen=True)
class WrittenWall:
    """Wall times as written (naive, nanoseconds) and the zones they were written in."""

    times: npt.NDArray[np.datetime64]
    zones: str  # "UTC", "+01:00", "Europe/London" or several, comma-separated


@dataclass(frozen=True)
class WrittenClock:
    """How to read back the wall clock times were written in (``wall``).

    ``text`` holds the strings of a time column whose ``aware`` rows carry a UTC offset;
    without ``text``, ``aware`` rows are epoch numbers (UTC instants). Other rows with a time
    of day were written in ``source_tz``; dates without one are local dates already.
    """

    source_tz: str
    aware: npt.NDArray[np.bool_] | None = None
    text: pd.Series | None = None

    def wall(
        self, times: pd.Series, precision: npt.NDArray[np.int8], pos: npt.NDArray[np.int64]
    ) -> WrittenWall:
        """The wall times, as written, of the rows at positions ``pos`` of ``times``."""
        sub = times.iloc[pos]
        out = sub.dt.tz_localize(None).to_numpy(dtype="M8[ns]", copy=True)  # dates: local
        zones: list[str] = []
        aware = self.aware[pos] if self.aware is not None else np.zeros(pos.size, bool)
        naive_clock = ~aware & (precision[pos] == 0)
        if naive_clock.any():
            where = sub[naive_clock].dt.tz_convert(self.source_tz).dt.tz_localize(None)
            out[naive_clock] = where.to_numpy(dtype="M8[ns]")
            zones.append(self.source_tz)
        if aware.any():
            utc = sub[aware].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="M8[ns]")
            if self.text is None:
                seconds = np.zeros(int(aware.sum()), np.int64)
            else:
                seconds = offsets_seconds(self.text.iloc[pos[aware]])
            out[aware] = utc + seconds.astype("m8[s]")
            zones = [_offset_name(int(s)) for s in np.unique(seconds)] + zones
        return WrittenWall(out, ", ".join(zones))


def offsets_seconds(text: pd.Series) -> npt.NDArray[np.int64]:
    """Per string, its trailing UTC offset in seconds (0 for ``Z`` or none), one Arrow pass."""
    found = pc.extract_regex(pa.array(text, type=pa.string()), _OFFSET)
    parts = {
        name: pc.fill_null(found.field(name), "" if name == "sign" else "0")
        for name in ("sign", "hours", "minutes")
    }
    hours = pc.cast(pc.if_else(pc.equal(parts["hours"], ""), "0", parts["hours"]), pa.int64())
    minutes = pc.cast(pc.if_else(pc.equal(parts["minutes"], ""), "0", parts["minutes"]), pa.int64())
    seconds = (
        hours.to_numpy(zero_copy_only=False) * 60 + minutes.to_numpy(zero_copy_only=False)
    ) * 60
    sign = np.where(parts["sign"].to_numpy(zero_copy_only=False) == "-", -1, 1)
    return np.asarray(seconds * sign, dtype=np.int64)


def _offset_name(seconds: int) -> str:
    if seconds == 0:
        return "UTC"
    minutes = abs(seconds) // 60
    return f"{'-' if seconds < 0 else '+'}{minutes // 60:02d}:{minutes % 60:02d}"
