"""The notes of a validation report: what was read and how, beside the counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.ingest.dayorder import order_of
from hotspots.ingest.schema import PRECISIONS
from hotspots.ingest.timeformats import YEAR_ONLY
from hotspots.ingest.validate import DUPLICATE_RULE, DUPLICATE_RULE_OFFENCE, ValidationReport

if TYPE_CHECKING:
    from hotspots.ingest.pipeline import IngestOptions, ReadPlan


def duplicate_notes(report: ValidationReport, number: npt.NDArray[np.int32], offence: bool) -> None:
    """Which duplicate rule was used, and how many rows were other offences of an incident."""
    report.duplicate_rule = DUPLICATE_RULE_OFFENCE if offence else DUPLICATE_RULE
    report.offences_sharing_an_id = int((number > 0).sum())
    if report.rejected.get("duplicate_id") or report.offences_sharing_an_id:
        report.notes.append(f"duplicates: {report.duplicate_rule}")
    if report.offences_sharing_an_id:
        report.notes.append(
            f"{report.offences_sharing_an_id:,} rows share an incident id with another offence "
            "and are kept, as '<id>#2', '<id>#3', ..."
        )
    if report.rejected.get("duplicate_id") and report.offences_sharing_an_id and not offence:
        report.notes.append(
            "an export with one row per offence may repeat an incident's id, category, time and "
            "place for two offences: map its finer offence column (offence=COL) to keep them"
        )


def on_the_hour(times: pd.Series) -> bool:
    """Every time of day on the hour (a sample first: most exports fail it at once)."""
    for part in (times.head(5000), times):
        if part.dt.minute.any() or part.dt.second.any():
            return False
    return True


def read_notes(
    plan: ReadPlan, fmt: str, options: IngestOptions, events: pd.DataFrame, raw: pd.DataFrame
) -> list[str]:
    """What the report says beside the counts: the columns used, the time format and zone,
    the area, the time range and precision."""
    read = ",".join(f"{k}={v}" for k, v in plan.cmap.items() if k in raw or k not in plan.optional)
    notes = [f"columns: {read}", f"time format: {fmt}; timezone: {plan.tz}"]
    order = order_of(fmt) if plan.fmt is None else None
    if order and order == plan.date_order:
        notes.append(
            f"dates whose day and month are both 12 or under are read {order.replace('-', ' ')}, "
            "as the model's training data were"
        )
    absent = sorted(k for k in plan.optional if getattr(plan.cmap, k) and k not in raw)
    if absent:
        missing = ", ".join(f"{k}={getattr(plan.cmap, k)}" for k in absent)
        notes.append(f"not in the file, so not used: {missing}")
    if plan.source_tz != plan.tz:
        notes.append(f"times of day read in {plan.source_tz}, converted to {plan.tz}")
    if options.crs:
        notes.append(f"coordinates projected from {options.crs}")
    notes.append(options.area.describe())
    if len(events):
        prec = events["time_precision"].value_counts()
        shares = ", ".join(f"{p} {int(prec.get(p, 0)):,}" for p in PRECISIONS if prec.get(p, 0))
        first, last = events["occurred_at"].min(), events["occurred_at"].max()
        notes.append(f"accepted times from {first} to {last} (rows by time_precision: {shares})")
        timed = events["occurred_at"][(events["time_precision"] == "minute").to_numpy()]
        if len(timed) >= 100 and on_the_hour(timed):
            notes.append(
                f"every time of day is on the hour ({len(timed):,} rows): the export records "
                "hours, not minutes"
            )
    return notes


_SERIAL = r"\s*\d{5}(?:\.\d+)?\s*"
_CLOCK_ONLY = r"\s*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?\s*"


def unreadable_times_note(raw: pd.DataFrame, unparseable: npt.NDArray[np.bool_]) -> list[str]:
    """A note when most times are unreadable and look like Excel serial day numbers
    (``44197.5``: a sheet's dates saved without their date format), times of day with no
    date (``14:05``, ``2:05 PM``) or years alone."""
    key = next((k for k in ("time", "date") if k in raw), None)
    if key is None or int(unparseable.sum()) * 2 <= len(raw):
        return []
    values = raw[key][unparseable].astype("string").dropna().head(1000)

    def most(pattern: str) -> pd.Series | None:
        found = values[values.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)]
        return found if len(found) * 2 > len(values) else None

    if (serial := most(_SERIAL)) is not None and pd.to_numeric(serial).between(
        20_000, 80_000
    ).all():
        return [
            f"times such as {serial.iloc[0].strip()!r} look like Excel serial day numbers (days "
            "since 1899-12-30): give the column a date format in the sheet (yyyy-mm-dd hh:mm) "
            "and save it as CSV again"
        ]
    if (clock := most(_CLOCK_ONLY)) is not None:
        return [
            f"times such as {clock.iloc[0].strip()!r} are a time of day with no date: map the "
            "date column as date= and this one as hour= (--map date=COL,hour=COL)"
        ]
    if (years := most(YEAR_ONLY)) is not None:
        return [
            f"times such as {years.iloc[0].strip()!r} are years alone, which place an event in "
            "no month: map year=COL,month=COL[,day=COL], or a column of dates"
        ]
    return []
