"""ingest_file: any supported export -> validated, normalised event table + report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.config import get_settings
from hotspots.errors import ConfigError, InputFileError, TooManyRejectsError
from hotspots.ingest import readers
from hotspots.ingest.categories import CategoryPolicy
from hotspots.ingest.coords import Area, Coords, coordinates
from hotspots.ingest.mapping import ColumnMap, get_preset
from hotspots.ingest.schema import PRECISION_DTYPE, PRECISIONS
from hotspots.ingest.times import parse_times
from hotspots.ingest.validate import (
    REASONS,
    ValidationReport,
    duplicate_ids,
    fill_report,
    first_reason,
)


@dataclass(frozen=True)
class IngestOptions:
    """Everything that says how to read one export (CLI flags map one to one)."""

    preset: str = "generic"
    column_map: ColumnMap | None = None
    crs: str | None = None
    timezone: str | None = None
    source_timezone: str | None = None
    time_format: str | None = None
    area: Area = field(default_factory=Area)
    max_reject_fraction: float | None = None
    policy: CategoryPolicy = field(default_factory=CategoryPolicy)
    default_category: str | None = None
    encoding: str = "utf-8"
    delimiter: str | None = None
    now: pd.Timestamp | None = None


@dataclass(frozen=True)
class IngestResult:
    """The accepted events and the validation report."""

    events: pd.DataFrame
    report: ValidationReport
    timezone: str


def _check_tz(name: str, flag: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(f"{flag} {name!r} is not an IANA timezone (e.g. Europe/London)") from err
    return name


@dataclass(frozen=True)
class ReadPlan:
    """The resolved column map, optional fields, timezones and time format of one read."""

    cmap: ColumnMap
    optional: set[str]
    tz: str
    source_tz: str
    fmt: str | None


def make_plan(options: IngestOptions, kind: str) -> ReadPlan:
    """Resolve preset, column map, timezones and time format for a file of ``kind``."""
    preset = get_preset(options.preset)
    user = options.column_map or ColumnMap()
    cmap = preset.columns.merged(user)
    if kind == "geo":
        cmap = ColumnMap(
            **{k: v for k, v in cmap.items() if k not in ("lat", "lng", "x", "y")},
            lat="<geometry>",
            lng="<geometry>",
        )
    cmap.check()
    if cmap.projected and not options.crs:
        raise ConfigError("--map gives x=/y= coordinates: name their CRS with --crs EPSG:xxxx")
    if not cmap.category and not options.default_category:
        raise ConfigError("no category column: map one with category=COL or give --category-name")
    tz = _check_tz(options.timezone or preset.timezone or get_settings().timezone, "--tz")
    source_tz = _check_tz(options.source_timezone or tz, "--source-tz")
    fmt = options.time_format or (preset.time_format if not user.time and cmap.time else None)
    optional = {k for k in ("id", "origin") if not getattr(user, k)}
    return ReadPlan(cmap, optional, tz, source_tz, fmt)


def read_source(
    path: Path, options: IngestOptions, plan: ReadPlan, progress: readers.Progress | None
) -> readers.SourceTable:
    """Read the columns the plan needs from a file of any supported kind."""
    wanted = {k: v for k, v in plan.cmap.items() if v != "<geometry>"}
    kind = readers.file_kind(path)
    if kind == "parquet":
        return readers.read_parquet(path, wanted, plan.optional)
    if kind == "geo":
        return readers.read_geo(path, wanted, plan.optional)
    return readers.read_csv(
        path,
        wanted,
        plan.optional,
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
    plan = make_plan(options, readers.file_kind(p))
    table = read_source(p, options, plan, progress)
    if table.frame.empty:
        raise InputFileError(f"{p.name} has a header but no data rows")
    result = validate_frame(table.frame, options, plan, source=p.name)
    _enforce_ceiling(result.report)
    return result


def validate_frame(
    raw: pd.DataFrame, options: IngestOptions, plan: ReadPlan, source: str
) -> IngestResult:
    """Apply every check to the raw columns and build the event table of accepted rows."""
    n = len(raw)
    rows = np.arange(1, n + 1, dtype=np.int64)
    coords = coordinates(raw, plan.cmap.projected, options.crs)
    keyed = ColumnMap(**{k: k for k, _ in plan.cmap.items() if k in raw})  # raw is keyed by field
    parsed = parse_times(raw, keyed, plan.tz, plan.source_tz, plan.fmt)
    now = options.now or pd.Timestamp.now(tz=plan.tz)
    now = now.tz_localize(plan.tz) if now.tzinfo is None else now
    times = parsed.times
    category = (
        options.policy.canonical(raw["category"])
        if "category" in raw
        else pd.Series(options.default_category, index=raw.index, dtype="string")
    )
    masks = dict(coords.masks)
    masks["unparseable_time"] = times.isna().to_numpy()
    masks["future_time"] = (times > now).fillna(False).to_numpy(dtype=bool)
    masks["missing_category"] = category.isna().to_numpy()
    placed = coords.valid & ~masks["unparseable_time"]
    masks["outside_area"] = options.area.outside(coords.lat, coords.lng, placed)
    codes = first_reason(masks, n)
    if "id" in raw:
        codes[duplicate_ids(raw["id"], codes < 0)] = list(REASONS).index("duplicate_id")
    accepted = codes < 0
    excluded = accepted & options.policy.excluded(category)
    keep = accepted & ~excluded
    report = ValidationReport(source=source, rows_read=n, max_reject_fraction=_ceiling(options))
    fill_report(report, codes, raw, rows)
    counts = category[excluded].value_counts()
    report.excluded_by_policy = {str(k): int(v) for k, v in counts.items()}
    events = _event_table(raw, keep, rows, times, parsed.precision, coords, category)
    report.rows_accepted = len(events)
    report.notes += _notes(plan, parsed.fmt, options, events)
    return IngestResult(events, report, plan.tz)


def _text_column(raw: pd.DataFrame, key: str, keep: npt.NDArray[np.bool_]) -> pd.Series:
    """A raw text column of the kept rows, trimmed, with empty strings as NA."""
    if key not in raw:
        return pd.Series(pd.NA, index=range(int(keep.sum())), dtype="string")
    text = raw[key][keep].astype("string").str.strip().reset_index(drop=True)
    return text.mask(text == "")


def _event_ids(
    raw: pd.DataFrame, keep: npt.NDArray[np.bool_], src: npt.NDArray[np.int64]
) -> pd.Series:
    """Source ids, or ``r<source_row>`` where the row has none."""
    ids = _text_column(raw, "id", keep)
    missing = ids.isna().to_numpy()
    if missing.any():  # formatting ids is slow: only for the rows that need one
        ids[missing] = np.char.add("r", src[missing].astype(str))
    return ids


def _event_table(
    raw: pd.DataFrame,
    keep: npt.NDArray[np.bool_],
    rows: npt.NDArray[np.int64],
    times: pd.Series,
    precision: npt.NDArray[np.int8],
    coords: Coords,
    category: pd.Series,
) -> pd.DataFrame:
    src = rows[keep]
    return pd.DataFrame(
        {
            "event_id": _event_ids(raw, keep, src),
            "occurred_at": times[keep].reset_index(drop=True).dt.as_unit("ns"),
            "time_precision": pd.Categorical.from_codes(
                precision[keep].astype(np.int8), dtype=PRECISION_DTYPE
            ),
            "lat": coords.lat[keep],
            "lng": coords.lng[keep],
            "category": category[keep].reset_index(drop=True).astype("string"),
            "origin": _text_column(raw, "origin", keep),
            "source_row": src,
        }
    )


def _ceiling(options: IngestOptions) -> float:
    value = options.max_reject_fraction
    value = get_settings().max_reject_fraction if value is None else value
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"--max-reject-fraction must be between 0 and 1, got {value}")
    return value


def _enforce_ceiling(report: ValidationReport) -> None:
    if report.passed:
        return
    top = max(report.rejected.items(), key=lambda kv: kv[1])
    raise TooManyRejectsError(
        f"{report.n_rejected:,} of {report.rows_read:,} rows ({report.reject_fraction:.1%}) "
        f"of {report.source} were rejected, above --max-reject-fraction "
        f"{report.max_reject_fraction:g}; most were {top[0]} ({top[1]:,}: {REASONS[top[0]]})",
        report,
    )


def _notes(plan: ReadPlan, fmt: str, options: IngestOptions, events: pd.DataFrame) -> list[str]:
    notes = [f"columns: {plan.cmap}", f"time format: {fmt}; timezone: {plan.tz}"]
    if plan.source_tz != plan.tz:
        notes.append(f"times of day read in {plan.source_tz}, converted to {plan.tz}")
    if options.crs:
        notes.append(f"coordinates projected from {options.crs}")
    notes.append(options.area.describe())
    if len(events):
        prec = events["time_precision"].value_counts()
        shares = ", ".join(f"{p} {int(prec.get(p, 0)):,}" for p in PRECISIONS if prec.get(p, 0))
        first, last = events["occurred_at"].min(), events["occurred_at"].max()
        notes.append(f"accepted times from {first} to {last} ({shares})")
    return notes
