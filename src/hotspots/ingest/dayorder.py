"""Day/month order of slash dates: settled by the values, by a known order, or refused.

``03/04/2021`` is 3 April in the UK and 4 March in the US. Only a first field above 12 (a
day: day first) or a second field above 12 (month first) tells them apart, so a column whose
dates never pass 12 in either field (a week's export of 1-7 December, a small batch) cannot
be read without being told the order. Reading it in the first order that parses gave a
plausible wrong answer: 1-7 December read as 12 January to 12 July.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hotspots.errors import InputFileError
from hotspots.ingest.textbuf import arrow_strings

DAY_FIRST, MONTH_FIRST = "day-first", "month-first"
ORDERS = (DAY_FIRST, MONTH_FIRST)
_PREFIX = {DAY_FIRST: "%d/%m/", MONTH_FIRST: "%m/%d/"}
_FIELDS = r"^\s*(?P<date>(?P<first>\d{1,2})/(?P<second>\d{1,2})/\d{2,4})"


def order_of(fmt: str | None) -> str | None:
    """``day-first`` / ``month-first`` for a slash format whose order matters, else None."""
    for order, prefix in _PREFIX.items():
        if fmt is not None and fmt.startswith(prefix):
            return order
    return None


def in_order(fmt: str, order: str) -> str:
    """``fmt`` with its day and month in ``order`` (``%m/%d/%Y`` -> ``%d/%m/%Y``)."""
    current = order_of(fmt)
    if current is None:
        return fmt
    return _PREFIX[order] + fmt[len(_PREFIX[current]) :]


@dataclass(frozen=True)
class OrderEvidence:
    """What a whole column says about its order: rows only one order can read."""

    day_first: int  # rows whose first field is 13-31 (only a day)
    month_first: int  # rows whose second field is 13-31
    dates: int  # distinct dates (day/month/year text) in the column
    example: str  # a value of the column, as written

    @property
    def order(self) -> str | None:
        """The order more rows can only be read in; None when none tells or both tie."""
        if self.day_first == self.month_first:
            return None
        return DAY_FIRST if self.day_first > self.month_first else MONTH_FIRST


def order_evidence(values: pd.Series) -> OrderEvidence:
    """Count, over the whole column at once, the dates only one order can read."""
    text = arrow_strings(values.astype("string"))
    parts = pc.extract_regex(text, _FIELDS)
    first = pc.cast(pc.struct_field(parts, "first"), pa.int16())
    second = pc.cast(pc.struct_field(parts, "second"), pa.int16())

    def only(field: pa.ChunkedArray) -> int:
        return int(pc.sum(pc.and_(pc.greater(field, 12), pc.less_equal(field, 31))).as_py() or 0)

    dates = pc.struct_field(parts, "date")
    matched = pc.filter(text, pc.is_valid(first))
    example = str(matched[0].as_py()).strip() if len(matched) else ""
    return OrderEvidence(only(first), only(second), int(pc.count_distinct(dates).as_py()), example)


class DateOrderError(InputFileError):
    """A slash date column whose day/month order neither its values nor a setting decide."""

    def __init__(self, evidence: OrderEvidence, fmt: str, where: str = "the time column") -> None:
        self.evidence, self.fmt = evidence, fmt
        e = evidence
        if e.day_first:  # as many rows can only be day-first as can only be month-first
            why = (
                f"as many of its values can only be day first as month first ({e.day_first:,} each)"
            )
        else:
            why = "no day or month passes 12, so each reads either way"
        super().__init__(
            f"day/month order of {where} is unresolved: {e.dates:,} distinct dates (e.g. "
            f"{e.example!r}), {why}; give --time-format {in_order(fmt, DAY_FIRST)!r} (day "
            f"first) or {in_order(fmt, MONTH_FIRST)!r} (month first) (spec: data.time_format)"
        )

    def located(self, where: str) -> DateOrderError:
        """The same error naming the column and file (``column 'date' of crimes.csv``)."""
        return DateOrderError(self.evidence, self.fmt, where)
