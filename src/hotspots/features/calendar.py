"""Calendar features of the period being forecast: season as integers and sin/cos, holidays.

Weeks are described by their Thursday (the day that fixes the ISO week and year), so a week
from Monday 30 January to Sunday 5 February is ISO week 5 of February. Holidays come from the
``holidays`` package: ``"US"`` or a country with a subdivision, ``"GB-ENG"``, ``"US-CA"``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError

FloatArray = npt.NDArray[np.float64]
TWO_PI = 2.0 * np.pi


def shift_periods(first: pd.Timestamp, steps: npt.ArrayLike, freq: str) -> pd.DatetimeIndex:
    """Start of the period ``steps`` periods after the period starting at ``first``."""
    idx = np.asarray(steps, dtype=np.int64)
    if freq == "M":
        month = first.to_datetime64().astype("datetime64[M]") + idx
        return pd.DatetimeIndex(month.astype("datetime64[ns]"))
    days = 7 if freq == "W" else 1
    return pd.DatetimeIndex(first.to_datetime64() + (idx * days).astype("timedelta64[D]"))


def period_ends(starts: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    """Exclusive end of each period (the next period's start)."""
    if freq == "M":
        month = starts.values.astype("datetime64[M]") + 1
        return pd.DatetimeIndex(month.astype("datetime64[ns]"))
    return starts + pd.Timedelta(days=7 if freq == "W" else 1)


def calendar_names(freq: str, holidays: str | None) -> list[str]:
    """Names of the calendar features, in the order ``calendar_features`` returns them."""
    names = ["month", "month_sin", "month_cos"]
    if freq in ("W", "D"):
        names += ["week_of_year", "week_sin", "week_cos"]
    if freq == "D":
        names += ["day_of_week"]
    if holidays:
        names += ["holidays_in_period"]
    return names


def calendar_features(
    starts: pd.DatetimeIndex, freq: str, holidays: str | None = None
) -> list[tuple[str, FloatArray]]:
    """Calendar features of periods starting at ``starts``, as ``(name, values)`` pairs.

    ``month`` is 1..12 and ``week_of_year`` the ISO week 1..53 (of the week's Thursday);
    ``*_sin`` / ``*_cos`` put them on a circle so December sits next to January.
    """
    starts = pd.DatetimeIndex(starts)
    middle = starts + pd.Timedelta(days=3) if freq == "W" else starts
    month = middle.month.to_numpy(np.float64)
    out = [
        ("month", month),
        ("month_sin", np.sin(TWO_PI * (month - 1) / 12)),
        ("month_cos", np.cos(TWO_PI * (month - 1) / 12)),
    ]
    if freq in ("W", "D"):
        week = middle.isocalendar().week.to_numpy(np.float64)
        out += [
            ("week_of_year", week),
            ("week_sin", np.sin(TWO_PI * (week - 1) / 52)),
            ("week_cos", np.cos(TWO_PI * (week - 1) / 52)),
        ]
    if freq == "D":
        out.append(("day_of_week", starts.day_of_week.to_numpy(np.float64)))
    if holidays:
        out.append(("holidays_in_period", holidays_in_periods(starts, freq, holidays)))
    return out


def parse_holidays(spec: str) -> tuple[str, str | None]:
    """``"US"`` -> ("US", None); ``"GB-ENG"`` -> ("GB", "ENG")."""
    country, _, subdiv = str(spec).strip().partition("-")
    if not country:
        raise ConfigError(f"holidays must be a country code like 'US' or 'GB-ENG', got {spec!r}")
    return country.upper(), subdiv.upper() or None


def holiday_dates(spec: str, years: Iterable[int]) -> npt.NDArray[np.datetime64]:
    """Sorted unique public-holiday dates of ``spec`` in ``years`` (observed days included)."""
    import holidays as holidays_lib

    country, subdiv = parse_holidays(spec)
    try:
        table = holidays_lib.country_holidays(country, subdiv=subdiv, years=sorted(set(years)))
    except NotImplementedError as err:
        raise ConfigError(
            f"holidays {spec!r} are not known to the holidays package: {err}"
        ) from err
    return np.unique(np.array(sorted(table.keys()), dtype="datetime64[D]"))


def holidays_in_periods(starts: pd.DatetimeIndex, freq: str, spec: str) -> FloatArray:
    """Number of public-holiday dates inside each period ``[start, next start)``."""
    starts = pd.DatetimeIndex(starts)
    if len(starts) == 0:
        return np.zeros(0)
    ends = period_ends(starts, freq)
    dates = holiday_dates(spec, range(starts.min().year, ends.max().year + 1))
    lo = np.searchsorted(dates, starts.values.astype("datetime64[D]"), "left")
    hi = np.searchsorted(dates, ends.values.astype("datetime64[D]"), "left")
    return (hi - lo).astype(np.float64)
