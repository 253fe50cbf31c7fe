"""First-of-month dates read as months: a monthly export written as dates (``2021-03-01``,
``01/03/2021``) rather than months (data.police.uk's ``2021-03``).

Read at day precision, such data went into daily and weekly panels with every month's events
on its 1st: a plausible wrong forecast. Read as months, they are refused there as police.uk's
months are. The dates decide only when they cannot be a daily export's by chance: every
located event on the 1st of a month with no time of day (or midnight), at least
``MIN_EVENTS`` of them over at least ``MIN_MONTHS`` months. A model whose training events
were months reads a batch of first-of-month dates as months whatever its size (``known``).

Instants written at midnight UTC on a 1st (``2021-03-01T00:00:00Z``, or the epoch milliseconds
of one, as ArcGIS exports dates) fall on the evening before in America/Chicago: the evidence
also reads the wall clock they were written in (``hotspots.ingest.written``), and such rows are
that zone's month (March, not February), stored as the first of it in the target zone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.ingest.times import localize
from hotspots.ingest.written import WrittenClock

MONTH = 2  # schema.PRECISIONS code of month precision
MIN_EVENTS = 30
MIN_MONTHS = 2
# Why 30 over 2 months: a daily export puts about 1 in 30 of its events on a 1st. Two 1sts
# are at least 28 days apart, so a daily export holding them spans 28 days or more, of which
# they are at most 2 in 28; 30 events all on them by chance is (2/28)^30, under 1e-34. A
# single month's 1st cannot tell a monthly export of one month from a day's export (a batch
# of 3 events on 2021-03-01), so one month never decides, whatever its size.
_PROBE = 1000  # rows looked at first: most columns show a date that is no 1st among them


@dataclass(frozen=True)
class MonthDates:
    """First-of-month dates read as months: how many events, over how many months."""

    events: int
    months: int
    first: pd.Period
    last: pd.Period
    known: bool  # read so because the model's training events were months
    written: str | None = None  # the zones of the wall clock read, when not the local one
    times: pd.Series | None = None  # the times as the months' firsts, when moved to them

    @property
    def span(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first} to {self.last}"

    def note(self) -> str:
        """What the report says: that the dates were read as months, and why."""
        if self.known:
            why = "as the model's training events were months"
        else:
            why = (
                f"{MIN_EVENTS} or more such dates over {MIN_MONTHS} or more months are no daily "
                "export's (it puts about 1 in 30 of its events on a 1st)"
            )
        if self.written is None:
            what = "dates is the first of a month with no time of day"
        else:
            what = (
                f"times is midnight on the first of a month as written ({self.written}), "
                "read as that month there, not the evening before it in this zone"
            )
        return (
            f"dates read as months (time_precision month): every one of the {self.events:,} "
            f"located events' {what}, over "
            f"{_months(self.months)} ({self.span}); {why}. Count them in "
            "monthly periods (--period M): a daily or weekly panel would put each month's "
            "events on its first day"
        )


def _months(n: int) -> str:
    return f"{n:,} month" if n == 1 else f"{n:,} months"


def month_dates(
    times: pd.Series,
    precision: npt.NDArray[np.int8],
    rows: npt.NDArray[np.bool_],
    known: bool,
    clock: WrittenClock | None = None,
) -> MonthDates | None:
    """The evidence that the ``rows`` (located, timed) of an export are months written as
    first-of-month dates, or None when there is none (a date that is no 1st, a time of day,
    too few events or months, or the rows are months already). The local wall clock is read
    first, then the one the times were written in (``clock``)."""
    n = int(rows.sum())
    if n == 0 or (n < MIN_EVENTS and not known) or bool((precision[rows] == MONTH).all()):
        return None
    pos = np.flatnonzero(rows)
    probe = pos[np.linspace(0, n - 1, min(n, _PROBE)).astype(np.int64)]
    if _all_month_starts(_local(times.iloc[probe])):
        picked = times[rows] if n < len(times) else times
        found = _months_of(_local(picked), n, known)
        return None if found is None else MonthDates(n, *found, known)
    if clock is None or not _all_month_starts(clock.wall(times, precision, probe).times):
        return None
    wall = clock.wall(times, precision, pos)
    found = _months_of(wall.times, n, known)
    if found is None:
        return None
    return MonthDates(n, *found, known, wall.zones, _at_month_starts(times, pos, wall.times))


def _months_of(
    wall: npt.NDArray[np.datetime64], n: int, known: bool
) -> tuple[int, pd.Period, pd.Period] | None:
    """How many months, the first and the last, when every wall time starts one (enough of
    them unless ``known``); None otherwise."""
    # the distinct times only (a hash pass): a monthly column holds a few dozen
    distinct = pd.unique(wall.view(np.int64)).view("M8[ns]")
    if not _all_month_starts(distinct):
        return None
    months = np.unique(distinct.astype("M8[M]"))
    if len(months) < MIN_MONTHS and not known:
        return None
    first, last = (pd.Period(str(m), "M") for m in (months[0], months[-1]))
    return len(months), first, last


def _at_month_starts(
    times: pd.Series, pos: npt.NDArray[np.int64], wall: npt.NDArray[np.datetime64]
) -> pd.Series:
    """``times`` with the rows at ``pos`` moved to the first of their written month, local
    midnight in ``times``' zone (as a month alone, ``2021-03``, is placed)."""
    starts = pd.Series(wall.astype("M8[M]").astype("M8[ns]"))
    placed = localize(starts, str(times.dt.tz)) if times.dt.tz is not None else starts
    moved = times.dt.as_unit("ns")  # a copy
    moved.iloc[pos] = placed.to_numpy() if times.dt.tz is None else placed.array
    return moved


def _local(times: pd.Series) -> npt.NDArray[np.datetime64]:
    """Local wall-clock times (as panels count them), naive, in nanoseconds."""
    local = times.dt.tz_localize(None) if times.dt.tz is not None else times
    return local.to_numpy(dtype="M8[ns]")


def _all_month_starts(stamps: npt.NDArray[np.datetime64]) -> bool:
    """Whether every time is midnight on the 1st of a month."""
    days = stamps.astype("M8[D]")
    return bool((stamps == days).all() and (days == days.astype("M8[M]").astype("M8[D]")).all())


def as_months(precision: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    """Every row's precision code set to month (the dates read as months)."""
    return np.full_like(precision, MONTH)
