"""ingest_file: any supported export -> validated, normalised event table + report."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.config import get_settings
from hotspots.errors import ConfigError, InputFileError
from hotspots.ingest import jsonrecords, readers, zipped
from hotspots.ingest.categories import CategoryPolicy
from hotspots.ingest.coords import Area, Coords, check_not_swapped, coordinates
from hotspots.ingest.dayorder import DateOrderError
from hotspots.ingest.eventtimes import parse_times
from hotspots.ingest.mapping import COORD_KEYS, ColumnMap, get_preset
from hotspots.ingest.monthdates import as_months, month_dates
from hotspots.ingest.notes import duplicate_notes, read_notes, unreadable_times_note
from hotspots.ingest.period import outside_period, period_note
from hotspots.ingest.placeholders import placeholder_times
from hotspots.ingest.schema import EVENT_COLUMNS, PRECISION_DTYPE
from hotspots.ingest.textbuf import all_lengths, arrow_strings, may_need_trim
from hotspots.ingest.validate import (
    REASONS,
    IdIndex,
    ValidationReport,
    enforce_ceiling,
    fill_report,
    first_reason,
    index_ids,
    repeated_records,
)
from hotspots.ingest.zonecolumn import check_zone_column, zone_advice, zone_probes

A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class IngestOptions:
    """Everything that says how to read one export (CLI flags map one to one)."""

    preset: str = "generic"
    column_map: ColumnMap | None = None
    crs: str | None = None
    timezone: str | None = None
    source_timezone: str | None = None
    time_format: str | None = None
    date_order: str | None = None  # day-first / month-first: where slash dates do not tell
    hour_form: str | None = None  # HHMM / HH:MM / hours: how a model's hour column was read
    months: bool = False  # a model's training events were months: first-of-month dates are too
    placeholders: tuple[str, ...] = ()  # "HH:MM" a model's training data held as placeholders
    area: Area = field(default_factory=Area)
    max_reject_fraction: float | None = None
    policy: CategoryPolicy = field(default_factory=CategoryPolicy)
    default_category: str | None = None
    encoding: str = "utf-8"
    delimiter: str | None = None
    now: pd.Timestamp | None = None
    start: pd.Timestamp | None = None  # rows before it are outside_period (see ingest.period)


@dataclass(frozen=True)
class IngestResult:
    """The accepted events and the validation report."""

    events: pd.DataFrame
    report: ValidationReport
    timezone: str
    area_miss: str | None = None  # a bbox or boundary that holds none of the rows: where each is
    advice: dict[str, str] = field(default_factory=dict)  # reason -> what to do, if it is most


def _check_tz(name: str, flag: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(
            f"{flag} {name!r} is not an IANA timezone name, such as America/Chicago or "
            "Europe/London (a city of the zone, not an abbreviation like CST)"
        ) from err
    return name


@dataclass(frozen=True)
class ReadPlan:
    """The resolved column map, optional fields, timezones and time format of one read."""

    cmap: ColumnMap
    optional: set[str]
    tz: str
    source_tz: str
    fmt: str | None
    date_order: str | None = None
    hour_form: str | None = None
    probes: dict[str, str] = field(default_factory=dict)  # zonecolumn.zone_probes


def make_plan(options: IngestOptions, kind: str) -> ReadPlan:
    """Resolve preset, column map, timezones and time format for a file of ``kind``."""
    preset = get_preset(options.preset)
    user = options.column_map or ColumnMap()
    cmap = preset.columns.merged(user)
    if kind == "geo":
        cmap = ColumnMap(
            **{k: v for k, v in cmap.items() if k not in COORD_KEYS},
            lat="<geometry>",
            lng="<geometry>",
        )
    cmap.check()
    if cmap.projected and not options.crs:
        raise ConfigError("--map gives x=/y= coordinates: name their CRS with --crs EPSG:xxxx")
    if not cmap.category and not options.default_category:
        raise ConfigError("no category column: map one with category=COL or give --category-name")
    given = options.timezone or preset.timezone
    tz = _check_tz(
        given or get_settings().timezone,
        "--tz (spec: data.timezone)" if given else "HOTSPOTS_TIMEZONE",
    )
    source_tz = _check_tz(options.source_timezone or tz, "--source-tz (spec: data.source_timezone)")
    fmt = options.time_format or (preset.time_format if not user.time and cmap.time else None)
    optional = {k for k in ("id", "origin", "offence") if not getattr(user, k)}
    probes = zone_probes(cmap, options.source_timezone is not None)
    order, form = options.date_order, options.hour_form
    return ReadPlan(cmap, optional, tz, source_tz, fmt, order, form, probes)


def file_kind(path: Path) -> str:
    """'records' for JSON records (``jsonrecords``), else the reader's kind by name."""
    return "records" if jsonrecords.is_json_records(path) else readers.file_kind(path)


def read_source(
    path: Path, options: IngestOptions, plan: ReadPlan, progress: readers.Progress | None
) -> readers.SourceTable:
    """Read the columns the plan needs from a file of any supported kind."""
    wanted = {k: v for k, v in plan.cmap.items() if v != "<geometry>"} | plan.probes
    optional = plan.optional | set(plan.probes)
    kind = file_kind(path)
    if kind == "records":
        return jsonrecords.read_json_records(path, wanted, optional)
    if kind == "parquet":
        return readers.read_parquet(path, wanted, optional)
    if kind == "geo":
        return readers.read_geo(path, wanted, optional)
    return readers.read_csv(
        path,
        wanted,
        optional,
        encoding=options.encoding,
        delimiter=options.delimiter,
        numeric=("lat", "lng", "x", "y"),
        progress=progress,
    )


def ingest_file(
    path: str | Path, options: IngestOptions | None = None, progress: readers.Progress | None = None
) -> IngestResult:
    """Read, validate and normalise one export.

    Raises InputFileError for an unreadable file, ConfigError for bad options and
    TooManyRejectsError when the share of rejected rows is above the ceiling.
    """
    options = options or IngestOptions()
    p = Path(path)
    readers.check_input(p)
    kind = file_kind(p)
    if kind == "parquet":  # a broken file is said before any option is checked against it
        readers.open_parquet(p)
    plan = make_plan(options, kind)
    members: list[zipped.ZipMember] = []
    others: list[str] = []
    pattern = get_preset(options.preset).zip_members
    if zipped.is_zip(p):
        table, members, others = zipped.read_zip(
            p,
            dict(plan.cmap.items()) | plan.probes,
            plan.optional | set(plan.probes),
            encoding=options.encoding,
            delimiter=options.delimiter,
            numeric=("lat", "lng", "x", "y"),
            progress=progress,
            pattern=pattern,
        )
    else:
        table = read_source(p, options, plan, progress)
    if table.frame.empty:
        raise InputFileError(f"{p.name} has a header but no data rows")
    raw = check_zone_column(table.frame, plan.tz, p.name, table.headers)
    result = validate_frame(raw, options, plan, source=p.name)
    if members:
        result.report.notes.insert(0, zipped.members_note(p, members, others, pattern))
        result.report.files = [asdict(m) for m in members]
    enforce_ceiling(result.report, result.area_miss, result.advice)
    return result


@dataclass(frozen=True)
class RowChecks:
    """What the raw columns other than time say per row (computed beside the time parsing)."""

    coords: Coords
    category: pd.Series
    excluded: npt.NDArray[np.bool_]  # left out by the category policy
    ids: IdIndex | None
    texts: dict[str, pd.Series]  # the id and origin columns, trimmed, empty strings as NA


def row_checks(raw: pd.DataFrame, options: IngestOptions, plan: ReadPlan) -> RowChecks:
    """Coordinates, categories, the policy, the id index and clean text of every raw row."""
    coords = coordinates(raw, plan.cmap.projected, options.crs)
    category = (
        options.policy.canonical(raw["category"])
        if "category" in raw
        else pd.Series(options.default_category, index=raw.index, dtype="string")
    )
    ids = index_ids(raw["id"]) if "id" in raw else None
    texts = {key: clean_text(raw[key]) for key in ("id", "origin") if key in raw}
    return RowChecks(coords, category, options.policy.excluded(category), ids, texts)


def _together(side: Callable[[], A], main: Callable[[], B]) -> tuple[A, B]:
    """Run ``side`` in a helper thread while this thread runs ``main``.

    numpy, pandas' hash tables and arrow release the GIL in their loops, so the two share the
    cores. An error from ``side`` is raised first, as it would be running it first.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(side)
        try:
            out = main()
        except Exception:
            future.result()
            raise
        return future.result(), out


def validate_frame(
    raw: pd.DataFrame, options: IngestOptions, plan: ReadPlan, source: str
) -> IngestResult:
    """Apply every check to the raw columns and build the event table of accepted rows."""
    n = len(raw)
    keyed = ColumnMap(**{k: k for k, _ in plan.cmap.items() if k in raw})  # raw is keyed by field
    try:
        checks, parsed = _together(
            lambda: row_checks(raw, options, plan),
            lambda: parse_times(
                raw, keyed, plan.tz, plan.source_tz, plan.fmt, plan.date_order, plan.hour_form
            ),
        )
    except DateOrderError as err:
        raise err.located(f"column {plan.cmap.time or plan.cmap.date!r} of {source}") from None
    coords, category = checks.coords, checks.category
    centre = check_not_swapped(coords, source, plan.tz)
    now = options.now or pd.Timestamp.now(tz=plan.tz)
    now = now.tz_localize(plan.tz) if now.tzinfo is None else now
    times = parsed.times
    masks = dict(coords.masks)
    wrong_zone = parsed.wrong_zone if parsed.wrong_zone is not None else np.zeros(n, bool)
    masks["unparseable_time"] = times.isna().to_numpy() & ~wrong_zone
    masks["wrong_time_zone"] = wrong_zone
    placed = coords.valid & ~masks["unparseable_time"] & ~wrong_zone
    months = month_dates(times, parsed.precision, placed, options.months, parsed.clock)
    precision = parsed.precision if months is None else as_months(parsed.precision)
    if months is not None and months.times is not None:  # months of the zone written in
        times = months.times
    held = placeholder_times(times, precision, placed, parsed.clock, options.placeholders)
    times, precision = held.as_days(times, precision)
    masks["future_time"] = (times > now).fillna(False).to_numpy(dtype=bool)
    timed = ~masks["unparseable_time"] & ~wrong_zone & ~masks["future_time"]
    masks["outside_period"], period_bound = outside_period(times, timed, options.start)
    masks["missing_category"] = category.isna().to_numpy()
    masks["outside_area"] = options.area.outside(coords.lat, coords.lng, placed)
    missed = options.area.miss_note(coords.lat, coords.lng, placed, masks["outside_area"])
    codes = first_reason(masks, n)
    number = np.zeros(n, dtype=np.int32)
    if checks.ids is not None:
        same = [category, pd.DatetimeIndex(times).asi8, coords.lat, coords.lng]
        if "offence" in raw:
            same.append(clean_text(raw["offence"]))
        dup, number = repeated_records(checks.ids, codes < 0, same)
        codes[dup] = list(REASONS).index("duplicate_id")
    accepted = codes < 0
    excluded = accepted & checks.excluded
    keep = accepted & ~excluded
    (report, kept_category), events = _together(
        lambda: (
            _report(source, options, raw, codes, category[excluded]),
            category[keep].reset_index(drop=True).astype("string"),
        ),
        lambda: _event_table(checks, keep, times, precision, number),
    )
    events.insert(list(EVENT_COLUMNS).index("category"), "category", kept_category)
    report.rows_accepted = len(events)
    report.time_format, report.hour_format = parsed.column_format, parsed.hour_form
    report.notes += read_notes(plan, parsed.fmt, options, events, raw)
    report.notes += [*parsed.notes, *([months.note()] if months else [])]
    report.notes += unreadable_times_note(raw, masks["unparseable_time"])
    report.notes += [*coords.notes, *([centre] if centre else [])]
    if missed:
        report.notes.append(missed)
    report.notes += period_note(report, options.start, period_bound)
    held.report_to(report, keep)
    duplicate_notes(report, number[keep], "offence" in raw)
    unread = masks["unparseable_time"]
    advice = zone_advice(raw, parsed.wrong_zone, unread, plan.cmap, plan.source_tz, source)
    return IngestResult(events, report, plan.tz, missed, advice)


def _report(
    source: str,
    options: IngestOptions,
    raw: pd.DataFrame,
    codes: npt.NDArray[np.int8],
    left_out: pd.Series,
) -> ValidationReport:
    """Rejects by reason with example rows, and what the category policy left out."""
    report = ValidationReport(source, rows_read=len(raw), max_reject_fraction=_ceiling(options))
    fill_report(report, codes, raw, np.arange(1, len(raw) + 1, dtype=np.int64))
    report.excluded_by_policy = {str(k): int(v) for k, v in left_out.value_counts().items()}
    return report


def clean_text(values: pd.Series) -> pd.Series:
    """A raw text column trimmed, with empty strings as NA."""
    text = values.astype("string")
    if may_need_trim(arrow_strings(text)):  # trimming 1.5M strings costs; most need none
        text = text.str.strip()
    empty = (all_lengths(arrow_strings(text)) == 0) & text.notna().to_numpy()
    return text.mask(empty) if empty.any() else text


def _kept_text(texts: dict[str, pd.Series], key: str, keep: npt.NDArray[np.bool_]) -> pd.Series:
    if key not in texts:
        return pd.Series(pd.NA, index=range(int(keep.sum())), dtype="string")
    return texts[key][keep].reset_index(drop=True)


def _event_ids(
    texts: dict[str, pd.Series],
    keep: npt.NDArray[np.bool_],
    src: npt.NDArray[np.int64],
    number: npt.NDArray[np.int32],
) -> pd.Series:
    """Source ids, ``<id>#2`` ... for the other offences of an incident, or
    ``r<source_row>`` where the row has none."""
    ids = _kept_text(texts, "id", keep)
    missing = ids.isna().to_numpy()
    if missing.any():  # formatting ids is slow: only for the rows that need one
        ids[missing] = np.char.add("r", src[missing].astype(str))
    later = number[keep]
    more = later > 0
    if more.any():
        suffix = np.char.add("#", (later[more] + 1).astype(str))
        ids[more] = np.char.add(ids[more].to_numpy(str), suffix)
    return ids


def _event_table(
    checks: RowChecks,
    keep: npt.NDArray[np.bool_],
    times: pd.Series,
    precision: npt.NDArray[np.int8],
    number: npt.NDArray[np.int32],
) -> pd.DataFrame:
    """The event table of the kept rows, but for its category column (built beside it)."""
    src = np.flatnonzero(keep).astype(np.int64) + 1  # 1-based source rows
    return pd.DataFrame(
        {
            "event_id": _event_ids(checks.texts, keep, src, number),
            "occurred_at": times[keep].reset_index(drop=True).dt.as_unit("ns"),
            "time_precision": pd.Categorical.from_codes(
                precision[keep].astype(np.int8), dtype=PRECISION_DTYPE
            ),
            "lat": checks.coords.lat[keep],
            "lng": checks.coords.lng[keep],
            "origin": _kept_text(checks.texts, "origin", keep),
            "source_row": src,
        }
    )


def _ceiling(options: IngestOptions) -> float:
    value = options.max_reject_fraction
    value = get_settings().max_reject_fraction if value is None else value
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"--max-reject-fraction must be between 0 and 1, got {value}")
    return value
