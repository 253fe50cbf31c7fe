"""Reading the events a job needs: any export ``hotspots ingest`` reads, or its output."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from hotspots.errors import DataValidationError
from hotspots.features import period_floor
from hotspots.features.panel import to_timestamp
from hotspots.features.partitions import partition_files, partition_times
from hotspots.forecasters import next_period_start
from hotspots.ingest import IngestOptions, ingest_file, is_event_table, read_events
from hotspots.ingest.categories import CategoryPolicy, read_category_map
from hotspots.ingest.coords import Area, parse_bbox
from hotspots.ingest.dayorder import order_of
from hotspots.ingest.mapping import ColumnMap
from hotspots.ingest.period import dense_start
from hotspots.ingest.readers import check_input
from hotspots.ingest.validate import ValidationReport
from hotspots.jobs.dates import check_year_first

Progress = Callable[[int, int | None], None]


def ingest_options(
    *,
    preset: str = "generic",
    map: str | None = None,
    crs: str | None = None,
    timezone: str | None = None,
    source_timezone: str | None = None,
    time_format: str | None = None,
    date_order: str | None = None,
    hour_form: str | None = None,
    months: bool = False,
    placeholders: tuple[str, ...] = (),
    boundary: Path | None = None,
    bbox: str | None = None,
    max_distance_km: float = 100.0,
    max_reject_fraction: float | None = None,
    include_discretionary: bool = False,
    category_map: Path | None = None,
    category_name: str | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    now: str | None = None,
    start: str | None = None,
) -> IngestOptions:
    """IngestOptions from flag / spec values (the keys of ``DataSpec`` plus file details)."""
    for flag, value in (("--now", now), ("--start", start)):
        check_year_first(value, flag)
    box = parse_bbox(bbox) if bbox else None
    area = (
        Area.from_boundary_file(boundary, bbox=box, max_distance_km=max_distance_km)
        if boundary
        else Area(bbox=box, max_distance_km=max_distance_km)
    )
    policy = CategoryPolicy(
        mapping=read_category_map(category_map) if category_map else None,
        include_discretionary=include_discretionary,
    )
    return IngestOptions(
        preset=preset,
        column_map=ColumnMap.parse(map) if map else None,
        crs=crs,
        timezone=timezone,
        source_timezone=source_timezone,
        time_format=time_format,
        date_order=date_order,
        hour_form=hour_form,
        months=months,
        placeholders=tuple(placeholders),
        area=area,
        max_reject_fraction=max_reject_fraction,
        policy=policy,
        default_category=category_name,
        encoding=encoding,
        delimiter="\t" if delimiter == "tab" else delimiter,
        now=pd.Timestamp(now) if now else None,
        start=to_timestamp(start, "--start") if start else None,
    )


MODEL_EVENT_KEYS = ("preset", "map", "crs", "source_timezone", "time_format", "category_name")


def event_options(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``ingest_options`` keywords from a model manifest: how its training events were read.

    The study area comes from the model's cells, so the spec's boundary and bbox are not used.
    Where the spec gave no time format, the day/month order its export was read in (the
    manifest's ``data.time_format``) settles batches whose dates do not tell (a week of
    1-7 December) and refuses those whose dates tell the other order; ISO times and epoch
    numbers are read as they are. Where its events were all months (``data.month_precision``),
    a batch of first-of-month dates is read as months too, however small
    (``hotspots.ingest.monthdates``). The clock minutes its export wrote for an unknown time
    of day (``data.placeholder_times``) are read as dates in a batch however few rows hold
    them (``hotspots.ingest.placeholders``). Manifests from before these records read as they
    always did.
    """
    spec = (manifest.get("spec") or {}).get("data") or {}
    kwargs = {k: spec[k] for k in MODEL_EVENT_KEYS if spec.get(k) is not None}
    read = manifest.get("data") or {}
    order = order_of(read.get("time_format"))
    if order and not spec.get("time_format"):
        kwargs["date_order"] = order
    if read.get("hour_format") in ("HHMM", "HH:MM", "hours"):
        kwargs["hour_form"] = read["hour_format"]
    if read.get("month_precision"):
        kwargs["months"] = True
    if read.get("placeholder_times"):
        kwargs["placeholders"] = tuple(sorted(read["placeholder_times"]))
    timezone = read.get("timezone") or spec.get("timezone")
    if timezone:
        kwargs["timezone"] = timezone
    if spec.get("category_map"):
        kwargs["category_map"] = Path(spec["category_map"])
    if spec.get("max_reject_fraction") is not None:
        kwargs["max_reject_fraction"] = float(spec["max_reject_fraction"])
    kwargs["include_discretionary"] = bool(spec.get("include_discretionary", False))
    return kwargs


@dataclass(frozen=True)
class LoadedEvents:
    """Validated events with where they came from (``report`` is None for an event table)."""

    events: pd.DataFrame
    timezone: str
    source: Path
    sha256: str
    report: ValidationReport | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    partitions: tuple[Path, ...] = ()
    """The Parquet partitions the events are in; ``events`` then holds their times only."""

    def fingerprint(self) -> dict[str, Any]:
        """The data fingerprint a manifest records: file hash, rows and date range."""
        times = self.events["occurred_at"]
        return {
            "source": self.source.name,
            "sha256": self.sha256,
            "rows_read": self.report.rows_read if self.report else len(self.events),
            "rows_accepted": len(self.events),
            "rejected": dict(self.report.rejected) if self.report else {},
            "excluded_by_policy": dict(self.report.excluded_by_policy) if self.report else {},
            "first_event": times.min().isoformat() if len(times) else None,
            "last_event": times.max().isoformat() if len(times) else None,
            "timezone": self.timezone,
            "time_format": self.time_format,
            "hour_format": self._report_value("hour_format"),
            "month_precision": self.month_precision,
            # rows per placeholder clock minute, read as dates (ingest.placeholders)
            "placeholder_times": dict(self._report_value("placeholder_times") or {}),
        }

    @property
    def month_precision(self) -> bool:
        """Whether every event has month precision (police.uk's months, or first-of-month
        dates read as months): a model trained on them reads its batches' dates so too."""
        precision = self.events.get("time_precision")
        return precision is not None and len(precision) > 0 and bool((precision == "month").all())

    @property
    def time_format(self) -> str | None:
        """The format the events' time column was read in (an event table's from the report
        ``hotspots ingest`` stored in it), or None."""
        return self._report_value("time_format")

    def _report_value(self, key: str) -> Any:
        """A value of the ingest report (an event table's from its stored report)."""
        if self.report is not None:
            return getattr(self.report, key)
        return (self.meta.get("report") or {}).get(key)


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_events(
    path: str | Path, options: IngestOptions, progress: Progress | None = None
) -> LoadedEvents:
    """Read and validate an export, or read an event table ``hotspots ingest`` wrote."""
    p = Path(path)
    check_input(p, "an incident export or event table")
    digest = file_sha256(p)
    if is_event_table(p):
        events, meta = read_events(p)
        tz = str(meta.get("timezone") or options.timezone or "UTC")
        return LoadedEvents(events, tz, p, digest, None, meta)
    result = ingest_file(p, options, progress)
    return LoadedEvents(result.events, result.timezone, p, digest, result.report)


def load_partitions(source: str | Path, options: IngestOptions) -> LoadedEvents:
    """The events' times from partitioned event tables (``features.partitions``): the
    panel is counted from the partitions, so only what the window rules read is loaded."""
    files = partition_files(source)
    times = partition_times(files)
    tz = getattr(times["occurred_at"].dtype, "tz", None)
    digest = hashlib.sha256()
    for f in files:  # the partitions' names and contents, in order
        digest.update(f"{f.relative_to(f.anchor)}\0{file_sha256(f)}\0".encode())
    timezone = str(tz) if tz is not None else options.timezone or "UTC"
    return LoadedEvents(times, timezone, Path(source), digest.hexdigest(), partitions=tuple(files))


def local_times(events: pd.DataFrame) -> pd.Series:
    """Event times as naive local wall-clock times (how panels count them)."""
    times = events["occurred_at"]
    tz = getattr(times.dtype, "tz", None)
    return times.dt.tz_localize(None) if tz is not None else times


def whole_periods_end(events: pd.DataFrame, freq: str) -> pd.Timestamp:
    """End of the last whole period the events cover (exclusive, naive local time).

    An export usually stops part-way through a period; counting that period would make its
    crime look low. A period counts as whole when the last event falls on its last day, or
    when times are month-precision (police.uk), whose months are always whole.
    """
    times = local_times(events)
    if len(times) == 0:
        raise DataValidationError("the event table is empty: there is nothing to train on")
    last = times.max()
    month_precision = "time_precision" in events and (events["time_precision"] == "month").any()
    if freq == "M" and month_precision:
        return pd.Timestamp(period_floor([last], "M")[0]) + pd.offsets.MonthBegin(1)
    next_day = last.normalize() + pd.Timedelta(days=1)
    return pd.Timestamp(period_floor([next_day], freq)[0])


QUIET_END_ALPHA = 0.05
"""``quiet_end_note`` speaks when days without events at the end of the data are at least this
likely by chance (Poisson, at the recent daily rate)."""
QUIET_END_RATE_DAYS = 56
"""The days before the left-out period that the recent daily rate is counted over."""


def quiet_end_note(events: pd.DataFrame, freq: str) -> str | None:
    """A note when ``whole_periods_end`` left the last period out as partial although its
    empty last days are plausible by chance: a small force often records nothing on a Sunday
    (one San Francisco district's burglaries, 1.4 a day: 35 of 104 weeks; two Vancouver
    neighbourhoods' break-ins, 0.55 a day: 29 of 51), and the forecast is then as of the
    week that has just ended. None when the period is whole, or when so many quiet days are
    unlikely (the chance of none at the recent rate is under ``QUIET_END_ALPHA``)."""
    times = local_times(events)
    if len(times) == 0:
        return None
    last, end = times.max(), whole_periods_end(events, freq)
    if end > last:
        return None
    period_end = next_period_start(end + pd.Timedelta(days=1), freq)
    quiet = (period_end - (last.normalize() + pd.Timedelta(days=1))).days
    if quiet <= 0:
        return None
    recent = int(((times >= end - pd.Timedelta(days=QUIET_END_RATE_DAYS)) & (times < end)).sum())
    rate = recent / QUIET_END_RATE_DAYS
    chance = math.exp(-rate * quiet)
    if chance < QUIET_END_ALPHA:
        return None
    unit = {"D": "day", "W": "week", "M": "month"}[freq]
    days = "day" if quiet == 1 else "days"
    return (
        f"the events end {last:%a %Y-%m-%d}, {quiet} {days} before the {unit} from "
        f"{end.date()} ends, so that {unit} is left out as partial and the forecast is as of "
        f"{end.date()}; at {rate:.2f} events a day, {quiet} {days} without any happen by "
        f"chance {chance:.0%} of the time: if the export covers them, give as_of "
        f"{period_end.date()}"
    )


def data_start(events: pd.DataFrame) -> pd.Timestamp:
    """Where the events' data start (naive local time): the first event in the dense months
    (``hotspots.ingest.period``), so a few stray earlier events do not stretch a panel."""
    times = local_times(events)
    if len(times) == 0:
        raise DataValidationError("the event table is empty: there is nothing to train on")
    dense = dense_start(times.to_numpy(dtype="M8[ns]"))
    return pd.Timestamp(times[times >= dense].min()) if dense is not None else times.min()


def whole_periods_start(events: pd.DataFrame, freq: str) -> pd.Timestamp:
    """Start of the first whole period of the events' data (naive local time).

    The mirror of ``whole_periods_end``: an export that starts on a Sunday would otherwise
    begin with a one-day "week". Month-precision times always start a whole month. Stray
    events before the dense months (``data_start``) are not counted.
    """
    first = data_start(events).normalize()
    floor = pd.Timestamp(period_floor([first], freq)[0])
    month_precision = "time_precision" in events and (events["time_precision"] == "month").any()
    if floor == first or (freq == "M" and month_precision):
        return floor
    return next_period_start(first, freq)


def with_posted(base: LoadedEvents, posted: pd.DataFrame | None) -> LoadedEvents:
    """``base`` with the events posted to the service added (in ``base``'s timezone); an
    event id already in ``base`` (or posted twice) counts once, the first one kept."""
    if posted is None or posted.empty:
        return base
    both = pd.concat([base.events, posted], ignore_index=True)
    both = both.loc[~both["event_id"].duplicated(keep="first").to_numpy()]
    return replace(base, events=both.reset_index(drop=True))
