"""First-of-month dates read as months: a monthly export written as dates (``2021-03-01``,
``01/03/2021``) rather than months (data.police.uk's ``2021-03``).

Read at day precision, such data went into daily and weekly panels with every month's events
on its 1st: a plausible wrong forecast. Read as months, they are refused there as police.uk's
months are. The dates decide only when they cannot be a daily export's by chance: every
located event on the 1st of a month with no time of day (or midnight), at least
``MIN_EVENTS`` of them over at least ``MIN_MONTHS`` months. A model whose training events
were months reads a batch of first-of-month dates as months whatever its size (``known``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

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
        return (
            f"dates read as months (time_precision month): every one of the {self.events:,} "
            f"located events' dates is the first of a month with no time of day, over "
            f"{_months(self.months)} ({self.span}); {why}. Count them in "
            "monthly periods (--period M): a daily or weekly panel would put each month's "
            "events on its first day"
        )


def _months(n: int) -> str:
    return f"{n:,} month" if n == 1 else f"{n:,} months"


def month_dates(
    times: pd.Series, precision: npt.NDArray[np.int8], rows: npt.NDArray[np.bool_], known: bool
) -> MonthDates | None:
    """The evidence that the ``rows`` (located, timed) of an export are months written as
    first-of-month dates, or None when there is none (a date that is no 1st, a time of day,
    too few events or months, or the rows are months already)."""
    n = int(rows.sum())
    if n == 0 or (n < MIN_EVENTS and not known) or bool((precision[rows] == MONTH).all()):
        return None
    picked = times[rows] if n < len(times) else times
    probe = picked.iloc[np.linspace(0, n - 1, min(n, _PROBE)).astype(np.int64)]
    if not _all_month_starts(_local(probe)):
        return None
    # the distinct times only (a hash pass): a monthly column holds a few dozen
    distinct = pd.unique(_local(picked).view(np.int64)).view("M8[ns]")
    if not _all_month_starts(distinct):
        return None
    months = np.unique(distinct.astype("M8[M]"))
    if len(months) < MIN_MONTHS and not known:
        return None
    first, last = (pd.Period(str(m), "M") for m in (months[0], months[-1]))
    return MonthDates(n, len(months), first, last, known)


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
