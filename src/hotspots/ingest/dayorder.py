"""Day/month order of slash (or dash) dates: settled by the values, by a known order, or refused.

``03/04/2021`` is 3 April in the UK and 4 March in the US. Only a first field above 12 (a
day: day first) or a second field above 12 (month first) tells them apart, so a column whose
dates never pass 12 in either field (a week's export of 1-7 December, a small batch) cannot
be read without being told the order. Reading it in the first order that parses gave a
plausible wrong answer: 1-7 December read as 12 January to 12 July.

One more shape tells: monthly data written as first-of-month dates (``01/03/2021``,
``01/04/2021``, ...: the first field 01 throughout, the second varying) over more than one
year, every month between the first and the last present. Read the other way they would be
days 1-12 of January of several years and no others, which no export is. Within one year they
may be just that (a week's export from New Year's Day), and months missing between years may
be New Year weeks of several years, so those are still refused. A field constant at another
value (``01/12``, ``02/12``, ...) is a month's days, which either order reads: refused too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hotspots.errors import InputFileError
from hotspots.ingest.textbuf import arrow_strings

DAY_FIRST, MONTH_FIRST = "day-first", "month-first"
ORDERS = (DAY_FIRST, MONTH_FIRST)
_FIELDS = r"^\s*(?P<date>(?P<first>\d{1,2})[/-](?P<second>\d{1,2})[/-](?P<year>\d{2,4}))"
# a date that may stand for a month: nothing after it, or midnight (00:00[:00], 12:00 AM)
_AT_MIDNIGHT = _FIELDS + (
    r"\s*(?:T?\s*(?:0?0:00(?::00(?:\.0+)?)?|12:00(?::00(?:\.0+)?)?\s*[Aa]\.?[Mm]\.?)"
    r"(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?)?\s*$"
)


def _prefix(order: str, sep: str) -> str:
    return f"%d{sep}%m{sep}" if order == DAY_FIRST else f"%m{sep}%d{sep}"


def order_of(fmt: str | None) -> str | None:
    """``day-first`` / ``month-first`` for a slash or dash format whose order matters (one
    starting ``%d/%m/``, ``%m-%d-``, ...), else None."""
    sep = fmt[2:3] if fmt else ""
    for order in ORDERS:
        if fmt and sep in ("/", "-") and fmt.startswith(_prefix(order, sep)):
            return order
    return None


def in_order(fmt: str, order: str) -> str:
    """``fmt`` with its day and month in ``order`` (``%m/%d/%Y`` -> ``%d/%m/%Y``)."""
    if order_of(fmt) is None:
        return fmt
    return _prefix(order, fmt[2]) + fmt[6:]


@dataclass(frozen=True)
class OrderEvidence:
    """What a whole column says about its order: rows only one order can read."""

    day_first: int  # rows whose first field is 13-31 (only a day)
    month_first: int  # rows whose second field is 13-31
    dates: int  # distinct dates (day/month/year text) in the column
    example: str  # a value of the column, as written
    deciding: dict[str, str] = field(default_factory=dict)  # order -> a value only it reads
    alike: bool = False  # every date's day equals its month (05/05): both orders read it alike
    ones: str | None = None  # the order in which every date is a 1st (its day field always 01,
    # its month field varying), if one is
    years: int = 0  # distinct years
    gapless: bool = False  # read in ``ones``, every month from the first to the last is there
    clock: bool = False  # some date has a time of day other than midnight (no month has)

    @property
    def order(self) -> str | None:
        """The order more rows can only be read in; None when none tells or both tie."""
        if self.day_first == self.month_first:
            return None
        return DAY_FIRST if self.day_first > self.month_first else MONTH_FIRST

    @property
    def month_starts(self) -> str | None:
        """The order that reads every date as the first of a month, when the other would read
        days 1-12 of January of more than one year only (no export is so); else None. Dates
        with a time of day are no months: read so, 1-12 January of two years with times
        became the 1st of 24 months at those times."""
        whole = self.years > 1 and self.gapless and not self.clock
        return self.ones if whole and self.order is None else None


def order_evidence(values: pd.Series) -> OrderEvidence:
    """Count, over the whole column at once, the dates only one order can read."""
    text = arrow_strings(values.astype("string"))
    parts = pc.extract_regex(text, _FIELDS)
    fields = [pc.cast(pc.struct_field(parts, k), pa.int16()) for k in ("first", "second")]
    counts, deciding = [], {}
    for order, field_ in zip(ORDERS, fields, strict=True):
        only = pc.fill_null(pc.and_(pc.greater(field_, 12), pc.less_equal(field_, 31)), False)
        counts.append(int(pc.sum(only).as_py() or 0))
        if counts[-1]:
            deciding[order] = str(pc.filter(text, only)[0].as_py()).strip()
    matched = pc.filter(text, pc.is_valid(fields[0]))
    example = str(matched[0].as_py()).strip() if len(matched) else ""
    dates = int(pc.count_distinct(pc.struct_field(parts, "date")).as_py())
    same = pc.filter(pc.equal(fields[0], fields[1]), pc.is_valid(fields[0]))
    alike = len(same) > 0 and bool(pc.all(same).as_py())
    year = pc.cast(pc.struct_field(parts, "year"), pa.int32())
    years = int(pc.count_distinct(year).as_py())
    ones = _ones(fields)
    gapless = ones is not None and _gapless(year, fields[1 if ones == DAY_FIRST else 0])
    clock = (
        ones is not None
        and not pc.all(  # a second pass, only for 1sts throughout
            pc.match_substring_regex(pc.filter(text, pc.is_valid(fields[0])), _AT_MIDNIGHT)
        ).as_py()
    )
    return OrderEvidence(
        counts[0], counts[1], dates, example, deciding, alike, ones, years, gapless, clock
    )


def _gapless(year: pa.ChunkedArray, month: pa.ChunkedArray) -> bool:
    """Whether every month from the first to the last of (year, month) is present."""
    year = pc.if_else(pc.less(year, 100), pc.add(year, 2000), year)  # 21 -> 2021
    key = pc.drop_null(pc.add(pc.multiply(pc.cast(year, pa.int64()), 12), month))
    if len(key) == 0:
        return False
    span = int(pc.max(key).as_py()) - int(pc.min(key).as_py()) + 1
    return int(pc.count_distinct(key).as_py()) == span


def _ones(fields: list[pa.ChunkedArray]) -> str | None:
    """The order whose day field is 01 in every date while its month field varies."""
    for order, day, month in zip(ORDERS, fields, fields[::-1], strict=True):
        valid = pc.is_valid(day)
        if not pc.any(valid).as_py():
            return None
        ones = pc.all(pc.equal(pc.filter(day, valid), 1)).as_py()
        if ones and int(pc.count_distinct(pc.filter(month, valid)).as_py()) > 1:
            return order
    return None


def month_starts_note(evidence: OrderEvidence) -> str:
    """What a report says when first-of-month dates settled the order (``month_starts``)."""
    read = evidence.month_starts or DAY_FIRST
    other = MONTH_FIRST if read == DAY_FIRST else DAY_FIRST
    return (
        f"dates read {_words(read)}: each of the {evidence.dates:,} (e.g. {evidence.example!r}) "
        f"is the first of a month, over {evidence.years} years (read {_words(other)} they would "
        "be days 1-12 of January only); if they stand for whole months, count them in monthly "
        "periods (--period M)"
    )


class DateOrderError(InputFileError):
    """A slash date column whose day/month order neither its values nor a setting decide,
    or whose values decide against the order a model's training data were read in."""

    def __init__(
        self,
        evidence: OrderEvidence,
        fmt: str,
        where: str = "the time column",
        known: str | None = None,
    ) -> None:
        self.evidence, self.fmt, self.known = evidence, fmt, known
        e, read = evidence, evidence.order
        if known and read and read != known:
            n = e.day_first if read == DAY_FIRST else e.month_first
            field_ = "first" if read == DAY_FIRST else "second"
            head = (
                f"day/month order of {where} is {_words(read)} ({n:,} values such as "
                f"{e.deciding[read]!r} have a {field_} field above 12), but the model's training "
                f"data were read {_words(known)}"
            )
        else:
            why = (
                f"as many of its values can only be day first as month first ({e.day_first:,} each)"
                if e.day_first
                else _ones_why(e)
                if e.ones
                else "no day or month passes 12, so each reads either way"
            )
            head = (
                f"day/month order of {where} is unresolved: {e.dates:,} distinct "
                f"{'date' if e.dates == 1 else 'dates'} (e.g. {e.example!r}), {why}"
            )
        super().__init__(
            f"{head}; give --time-format {in_order(fmt, DAY_FIRST)!r} (day first) or "
            f"{in_order(fmt, MONTH_FIRST)!r} (month first) (spec: data.time_format)"
        )

    def located(self, where: str) -> DateOrderError:
        """The same error naming the column and file (``column 'date' of crimes.csv``)."""
        return DateOrderError(self.evidence, self.fmt, where, self.known)


def _ones_why(e: OrderEvidence) -> str:
    field_ = "first" if e.ones == DAY_FIRST else "second"
    other = MONTH_FIRST if e.ones == DAY_FIRST else DAY_FIRST
    where = (
        "all lie in one year"
        if e.years <= 1
        else "some have a time of day, which months have not"
        if e.clock
        else "months are missing between them"
    )
    return (
        f"each has 01 as its {field_} field and {where}: the first of {e.dates} "
        f"months read {_words(e.ones or DAY_FIRST)}, or {e.dates} days of January read "
        f"{_words(other)}"
    )


def _words(order: str) -> str:
    return order.replace("-", " ")
