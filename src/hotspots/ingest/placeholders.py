"""Placeholder clock times: the minute an export writes where an event's time of day is
unknown (San Francisco's 00:01, other forces' 00:00 or 12:00), read as dates.

Read as times, such rows heap up in one hour of every area, which a plan's ``when`` then names
as its busiest. A minute of the day is a placeholder when it holds far more rows than the
neighbouring hours predict for it (``expected_counts``): the hour's other minutes times the
median share the same minute has of the other minutes in the two hours either side (so
reporting's rounding to :00 and :30 carries over, and a whole busy hour raises both), or, in
an export of whole hours, the median count of the same minute in those hours. It must hold at
least ``FACTOR`` times that, ``MIN_ROWS`` rows, and an excess of ``MIN_SHARE`` of the timed
rows. Figures of the real extracts (minute: rows, expected, excess share of the timed rows):

=========== ====== ======= ======== ============================================
export      minute rows    expected verdict
=========== ====== ======= ======== ============================================
SF          00:01  22,350  141      158x, 2.4%: a placeholder
SF          12:00  21,620  11,990   1.8x: not told from rounding to the hour
Chicago     00:01  496     38       13x, but 0.3%: too few to fake a busy hour
Vancouver   00:00  1,688   594      2.8x: not
Vancouver   00:01  128     13       9.7x, but 0.3%: too few
Houston     00:00  4,938   3,460    1.4x in local whole hours (1.2x at most on
                                    the UTC clock it is read in): not
synthetic   04:07  100     71       1.4x (of 149,504 events): not
=========== ====== ======= ======== ============================================

Every other minute of them with 50 rows or more is under 3.2x (SF's 23:59: 696 rows, 3.1x).
``MIN_SHARE`` is a quarter of an even hour's share (1/24): a smaller heap, spread over the
areas as their events are, adds under a quarter to its hour's share. No count from the times
alone tells SF's noon (1.8x, 1.1%) from Vancouver's midnight (2.8x, 3.2%), so neither is read
as a placeholder; a plan's when counts only what the hours around predict of such a heap
(``publishing.plan_heaps``).

The rows keep their date, as written, at day precision (local midnight, as a date is placed):
they still count in daily, weekly and monthly panels, but not in any hour.

A batch read for a model (events posted to it, or re-read to retrain or forecast it) is too
small to show its export's placeholder (10 rows at 00:01 of 300 are under ``MIN_ROWS``), so
the minutes the model's training data held (``known``: its manifest's ``placeholder_times``)
are placeholders of the batch too, at any count; the batch's own detection still runs.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.ingest.times import localize
from hotspots.ingest.validate import ValidationReport
from hotspots.ingest.written import WrittenClock

MINUTE, DAY = 0, 1  # schema.PRECISIONS codes
FACTOR = 5.0
MIN_ROWS = 50
MIN_SHARE = 0.01
NEAR_HOURS = (-2, -1, 1, 2)
_NS_PER_MINUTE = 60 * 10**9
_NO_DATES = np.array([], dtype="M8[ns]")
_NO_MINUTES = np.array([], dtype=np.int64)


@dataclass(frozen=True)
class PlaceholderMinute:
    """One placeholder minute of the day: its rows and what the neighbouring hours predict."""

    minute: int  # of the day, 0-1439
    rows: int
    expected: float
    known: bool = False  # not found in these rows: a placeholder of the model's training data

    @property
    def label(self) -> str:
        return f"{self.minute // 60:02d}:{self.minute % 60:02d}"

    def why(self) -> str:
        """Why the minute is a placeholder, for the report's note."""
        if self.known:
            return "a placeholder minute of the model's training data"
        times = self.rows / max(self.expected, 1.0)
        return f"{times:.0f}x the {self.expected:,.0f} the hours around predict"


@dataclass(frozen=True)
class PlaceholderTimes:
    """The placeholder minutes of an export (none: ``minutes`` empty) and the rows written at
    them."""

    minutes: tuple[PlaceholderMinute, ...]
    rows: npt.NDArray[np.bool_]
    dates: npt.NDArray[np.datetime64]  # the written date (naive midnight) of each of ``rows``
    at: npt.NDArray[np.int64]  # the placeholder minute of each of ``rows``

    def as_days(
        self, times: pd.Series, precision: npt.NDArray[np.int8]
    ) -> tuple[pd.Series, npt.NDArray[np.int8]]:
        """``times`` and ``precision`` with the placeholder rows at day precision, placed at
        local midnight of their written date (the same objects when there are none)."""
        if not self.minutes:
            return times, precision
        moved = times.dt.as_unit("ns")  # a copy
        naive = pd.Series(self.dates)
        placed = naive if times.dt.tz is None else localize(naive, str(times.dt.tz))
        moved.iloc[np.flatnonzero(self.rows)] = placed.array
        out = precision.copy()
        out[self.rows] = DAY
        return moved, out

    def counts(self, keep: npt.NDArray[np.bool_]) -> dict[str, int]:
        """The rows of ``keep`` (the accepted rows) per placeholder minute, keyed ``"HH:MM"``."""
        kept = self.at[keep[self.rows]]
        return {m.label: int((kept == m.minute).sum()) for m in self.minutes}

    def report_to(self, report: ValidationReport, keep: npt.NDArray[np.bool_]) -> None:
        """Count the accepted (``keep``) placeholder rows into the report, with its note."""
        if self.minutes:
            report.placeholder_times = self.counts(keep)
            report.notes.append(self.note(report.placeholder_times))

    def note(self, counts: dict[str, int]) -> str:
        """The report's one line: which minutes, how many rows, and what became of them."""
        found = "; ".join(
            f"{counts.get(m.label, 0):,} accepted rows at {m.label} ({m.why()})"
            for m in self.minutes
        )
        return (
            f"placeholder_time: {found}; a stand-in for an unknown time of day, so these rows "
            "keep their date at time_precision day and count in no hour of a plan's when"
        )


def minutes_of_day(wall: npt.NDArray[np.datetime64]) -> npt.NDArray[np.int64]:
    """The minute of the day (0-1439) of naive wall times."""
    return (wall.astype("M8[ns]").view(np.int64) // _NS_PER_MINUTE) % 1440


def expected_counts(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Per minute of the day, the rows the neighbouring hours predict for it (module doc)."""
    c = counts.reshape(24, 60).astype(np.float64)
    other = c.sum(axis=1, keepdims=True) - c
    share = np.divide(c, other, out=np.zeros_like(c), where=other > 0)
    near_share = np.median([np.roll(share, -d, axis=0) for d in NEAR_HOURS], axis=0)
    near_count = np.median([np.roll(c, -d, axis=0) for d in NEAR_HOURS], axis=0)
    return np.where(other > 0, near_share * other, near_count).ravel()


def label_minutes(labels: Collection[str]) -> npt.NDArray[np.int64]:
    """The minutes of the day (0-1439) of ``"HH:MM"`` labels, as a report keys them."""
    out = []
    for label in labels:
        hour, _, minute = str(label).partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ConfigError(
                f"placeholder minute {label!r} is not a clock time HH:MM (a model manifest's "
                "data.placeholder_times keys are, such as '00:01')"
            )
        out.append(int(hour) * 60 + int(minute))
    return np.array(out, dtype=np.int64)


def _wall(
    times: pd.Series,
    precision: npt.NDArray[np.int8],
    pos: npt.NDArray[np.intp],
    clock: WrittenClock | None,
) -> npt.NDArray[np.datetime64]:
    """The naive wall times of the rows at ``pos``, on the clock they were written in."""
    if clock is not None:
        return clock.wall(times, precision, pos).times
    local = times.iloc[pos]
    local = local.dt.tz_localize(None) if local.dt.tz is not None else local
    return local.to_numpy(dtype="M8[ns]")


def placeholder_times(
    times: pd.Series,
    precision: npt.NDArray[np.int8],
    rows: npt.NDArray[np.bool_],
    clock: WrittenClock | None = None,
    known: Collection[str] = (),
) -> PlaceholderTimes:
    """The placeholder minutes among the ``rows`` (located, readable) with a time of day, read
    on the wall clock they were written in (``clock``; None: the local one): those found in
    them, and those of ``known`` (``"HH:MM"``: the model's training data's) at any count."""
    pos = np.flatnonzero(rows & (precision == MINUTE))
    none = PlaceholderTimes((), np.zeros(len(times), bool), _NO_DATES, _NO_MINUTES)
    given = np.zeros(1440, dtype=bool)
    given[label_minutes(known)] = True
    if pos.size == 0 or (pos.size < MIN_ROWS and not given.any()):
        return none
    wall = _wall(times, precision, pos, clock)
    minute = minutes_of_day(wall)
    counts = np.bincount(minute, minlength=1440)
    expected = expected_counts(counts)
    found = (
        (counts >= MIN_ROWS)
        & (counts >= FACTOR * expected)
        & (counts - expected >= MIN_SHARE * pos.size)
    )
    held = found | (given & (counts > 0))
    if not held.any():
        return none
    hit = np.isin(minute, np.flatnonzero(held))
    picked = np.zeros(len(times), dtype=bool)
    picked[pos[hit]] = True
    dates = wall[hit].astype("M8[D]").astype("M8[ns]")
    minutes = tuple(
        PlaceholderMinute(int(m), int(counts[m]), float(expected[m]), not found[m])
        for m in np.flatnonzero(held)
    )
    return PlaceholderTimes(minutes, picked, dates, minute[hit])
