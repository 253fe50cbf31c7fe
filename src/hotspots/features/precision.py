"""Which panels events of a time precision can go into: month-precision events only into
monthly ones, since a daily or weekly panel would put each month's events on its first day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hotspots.errors import DataValidationError

_FREQ_NAMES = {"D": "daily", "W": "weekly", "M": "monthly"}


def check_precision(events: pd.DataFrame, freq: str) -> None:
    """Raise DataValidationError when month-precision events would go into a daily or weekly
    (``freq``) panel, naming how many, over which months, and what they may be: months alone
    (data.police.uk's ``2021-03``) or first-of-month dates read as months
    (``hotspots.ingest.monthdates``); both are stored alike, as the first of the month."""
    if freq == "M" or "time_precision" not in events.columns:
        return
    month = (events["time_precision"] == "month").to_numpy(dtype=bool)
    n = int(month.sum())
    if not n:
        return
    times = events["occurred_at"][month]
    local = times.dt.tz_localize(None) if getattr(times.dt, "tz", None) is not None else times
    months = np.unique(local.to_numpy(dtype="M8[ns]").astype("M8[M]"))
    span = f"{months[0]}" if len(months) == 1 else f"{months[0]} to {months[-1]}"
    one = n == 1
    raise DataValidationError(
        f"{n:,} {'event has' if one else 'events have'} month precision: "
        f"{'its date is' if one else 'their dates are all'} the first of a month ({n:,} "
        f"{'event' if one else 'events'} over {len(months):,} "
        f"{'month' if len(months) == 1 else 'months'}, {span}), read as months, or "
        f"{'a month' if one else 'months'} alone (as data.police.uk writes them: 2021-03); "
        f"{'it cannot' if one else 'they cannot'} go into a {_FREQ_NAMES[freq]} panel without "
        f"inventing days: count {'it' if one else 'them'} in monthly periods (--period M; a "
        "spec's grid.period)"
    )
