"""Time formats: which strftime format a time column is written in, inferred from its values.

Candidates are tried on a sample spread over the column; compact ``YYYYMMDDHHMM`` stamps and
Unix epoch numbers are told by their whole shape. A day/month format and its twin in the other
order are settled by ``ingest.dayorder`` (the column's values, a known order, or refused).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hotspots.ingest.dayorder import (
    DateOrderError,
    in_order,
    month_starts_note,
    order_evidence,
    order_of,
)

# Tried in this order on a sample when no format is given; the best parser wins. A day/month
# format and its twin in the other order (ingest.dayorder) that read as much are settled by
# the whole column's values, or by a known order, or refused: never by this order.
# 12-hour clocks with or without a blank before AM/PM ("2:05 PM", "2:05PM"), then 24-hour ones
_TWELVE = (" %I:%M:%S %p", " %I:%M %p", " %I:%M:%S%p", " %I:%M%p")
_CLOCKS = (*_TWELVE, " %H:%M:%S.%f", " %H:%M:%S", " %H:%M", "")
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
    # ISO dates with a 12-hour clock (pandas' ISO8601 reads no AM/PM)
    *(f"%Y{sep}%m{sep}%d{clock}" for sep in "-/" for clock in _TWELVE),
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    # German and other dotted dates, day first (01.03.2024 14:05:00, 01.03.24)
    *(f"%d.%m.%{year}{clock}" for year in "Yy" for clock in (" %H:%M:%S", " %H:%M", "")),
    # month names (Excel's and Oracle's 13-Apr-2021 / 13-APR-21, 13 April 2021, Apr 13, 2021,
    # SQL Server's Apr 13 2021  2:05PM): the name settles the order
    *(
        f"{date}{clock}"
        for date in (
            *("%d-%b-%Y", "%d-%b-%y", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y"),
            "%b %d %Y",
        )
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


def to_datetime(s: pd.Series, fmt: str, utc: bool) -> pd.Series:
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
    utc = bool(has_offset(sample).any())
    best, best_share = "ISO8601", -1.0
    for fmt in CANDIDATE_FORMATS:
        share = float(to_datetime(sample, fmt, utc).notna().mean())
        if share > best_share:
            best, best_share = fmt, share
        if share == 1.0:
            break
    read = order_of(best) if best_share > 0 else None
    note = None
    if read is not None:
        twin = in_order(best, "day-first" if read == "month-first" else "month-first")
        tie = float(to_datetime(sample, twin, utc).notna().mean()) == best_share
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


def format_precision(fmt: str, values: pd.Series) -> np.ndarray:
    """Per-row precision code implied by a format (ISO8601 decides by string length)."""
    n = len(values)
    if fmt == "ISO8601":
        arr = pa.array(values, type=pa.string())
        length = pc.fill_null(pc.utf8_length(pc.utf8_trim_whitespace(arr)), 0).to_numpy()
        return np.where(length <= 7, 2, np.where(length <= 10, 1, 0)).astype(np.int8)
    if "%H" in fmt or "%I" in fmt:
        return np.zeros(n, np.int8)
    return np.full(n, 1 if "%d" in fmt else 2, np.int8)


def has_offset(text: pd.Series) -> np.ndarray:
    """Per row: True where the string ends in a UTC offset."""
    arr = pa.array(text, type=pa.string())
    signed = pc.and_(pc.match_substring(arr, ":"), pc.match_substring_regex(arr, _SIGNED_OFFSET))
    found = pc.or_(pc.ends_with(arr, "Z"), signed)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)
