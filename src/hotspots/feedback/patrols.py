"""Patrol logs: what was patrolled, where and when, read from CSV or JSON lines and validated.

One row per patrol. Columns (any other column refuses the whole file; see ``NAME_RULE``):

=========== ======== ==========================================================================
column      required meaning
=========== ======== ==========================================================================
id          yes      the patrol's id in the force's system: a retry with the same id is stored
                     once
area        one of   a named area id (the areas the service's ``within=`` selects)
cells       one of   H3 cells at the study resolution, separated by spaces, ``,``, ``;`` or
                     ``|`` (a JSON list in JSON lines)
polygon     one of   a GeoJSON Polygon or MultiPolygon ([lng, lat]); its cells are those whose
                     centre it holds (h3 polygon fill), or the cell of a point inside it when
                     it is smaller than a cell
start, end  yes      ISO 8601 times; without an offset they are local times in the timezone
                     given; ``end`` after ``start``, at most ``max_hours`` later, not in the
                     future
unit        no       a pseudonymous unit code (letters, digits, ``_ . : -``; no spaces)
tactic      no       a short code (letters, digits, ``_ -``; no spaces), e.g. ``foot``
=========== ======== ==========================================================================

Rows that fail a check are counted under the first reason of ``REASONS`` that applies, like
ingest's validation report, and never stored; over ``max_reject_fraction`` of the rows
rejected, nothing is stored at all (``TooManyRejectsError``).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely.geometry

from hotspots.errors import ConfigError, InputFileError, TooManyRejectsError
from hotspots.grid import StudyArea, cells_resolution, points_to_cells, text_to_cell

CellArray = npt.NDArray[np.uint64]

COLUMNS: tuple[str, ...] = ("id", "area", "cells", "polygon", "start", "end", "unit", "tactic")
PLACES: tuple[str, ...] = ("area", "cells", "polygon")
NAME_RULE = (
    "patrol logs never hold names of people: a column whose header has a word like name, "
    "surname, forename, officer, person, staff, employee or driver is refused, as is any "
    "column not in the schema; unit and tactic take short codes without spaces"
)
_NAME_WORDS = re.compile(
    r"(?:^|[^a-z])(?:[a-z]*name|surname|forename|officer|person|staff|employee|driver)s?"
    r"(?:$|[^a-z])"
)
_UNIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_TACTIC = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_CELL_SPLIT = re.compile(r"[\s,;|]+")
_OFFSET = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$", re.IGNORECASE)
FUTURE_SLACK = pd.Timedelta(minutes=5)
"""A patrol may end this far after the moment of import (clocks differ a little)."""
EXAMPLES_PER_REASON = 3

REASONS: dict[str, str] = {
    "missing_id": "the id is empty",
    "missing_place": "none of area, cells or polygon is given",
    "several_places": "more than one of area, cells and polygon is given",
    "unparseable_time": "start or end is empty or cannot be read as a date and time",
    "end_not_after_start": "end is not after start",
    "too_long": "the patrol lasts longer than the longest allowed",
    "future_time": "end is after the moment of import",
    "bad_unit": "unit is not a short code (letters, digits, _ . : -, no spaces)",
    "bad_tactic": "tactic is not a short code (letters, digits, _ -, no spaces)",
    "unknown_area": "the area id is not one of the known areas",
    "bad_cells": "a cell is not an H3 cell at the study resolution",
    "bad_polygon": "the polygon is not a GeoJSON Polygon or MultiPolygon",
    "outside_area": "none of the patrol's cells is in the study area",
    "duplicate_id": "an earlier row of the same file has the same id",
}


@dataclass(frozen=True)
class PatrolOptions:
    """How to read a patrol log: the study grid, the known areas and the limits."""

    resolution: int
    timezone: str = "UTC"
    areas: Mapping[str, CellArray] = field(default_factory=dict)
    study_cells: CellArray | None = None
    max_hours: float = 12.0
    max_reject_fraction: float = 0.05
    now: pd.Timestamp | None = None


@dataclass
class PatrolReport:
    """Counts per reason and a few example rows each (the shape of ingest's report)."""

    source: str
    rows_read: int = 0
    rows_accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    max_reject_fraction: float = 0.05

    @property
    def n_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def reject_fraction(self) -> float:
        return self.n_rejected / self.rows_read if self.rows_read else 0.0

    @property
    def passed(self) -> bool:
        return self.reject_fraction <= self.max_reject_fraction

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            n_rejected=self.n_rejected,
            reject_fraction=round(self.reject_fraction, 6),
            passed=self.passed,
            reasons={k: REASONS[k] for k in self.rejected},
        )
        return out


@dataclass(frozen=True)
class PatrolResult:
    """The accepted patrols (``PATROL_SCHEMA`` columns) and the validation report."""

    patrols: pd.DataFrame
    report: PatrolReport


def check_columns(columns: list[str], source: str) -> None:
    """Refuse (InputFileError) a name-like column, an unknown column, or no id/time/place."""
    lowered = [str(c).strip().lower() for c in columns]
    named = [c for c, low in zip(columns, lowered, strict=True) if _NAME_WORDS.search(low)]
    if named:
        raise InputFileError(
            f"column {named[0]!r} of {source} looks like a person's name: {NAME_RULE}; "
            "send a pseudonymous unit code in 'unit' instead"
        )
    unknown = [c for c, low in zip(columns, lowered, strict=True) if low not in COLUMNS]
    if unknown:
        raise InputFileError(
            f"column {unknown[0]!r} of {source} is not a patrol log column; columns are: "
            f"{', '.join(COLUMNS)} ({NAME_RULE})"
        )
    missing = [c for c in ("id", "start", "end") if c not in lowered]
    if missing or not set(PLACES) & set(lowered):
        need = missing or ["one of area, cells, polygon"]
        raise InputFileError(f"{source} has no column {', '.join(need)}; columns are: {columns}")


def body_to_frame(body: bytes, fmt: str, source: str) -> pd.DataFrame:
    """The rows of a CSV (``fmt="csv"``) or JSON-lines body, every value as text ("" if
    missing); nested JSON (a polygon object, a list of cells) as compact JSON / joined text."""
    if not body.strip():
        raise InputFileError(f"{source} is empty: send CSV with a header row, or JSON lines")
    if fmt == "csv":
        try:
            frame = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)
        except (ValueError, UnicodeDecodeError) as err:
            raise InputFileError(f"{source} is not readable CSV: {err}") from err
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        check_columns(list(frame.columns), source)
        return frame
    records = _json_records(body, source)
    columns = list(dict.fromkeys(k for r in records for k in r))
    check_columns(columns, source)
    data = {c.lower(): [_text(r.get(c)) for r in records] for c in columns}
    return pd.DataFrame(data, dtype=object)


def _json_records(body: bytes, source: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError) as err:
            raise InputFileError(f"line {number} of {source} is not JSON: {err}") from err
        if not isinstance(record, dict):
            raise InputFileError(f"line {number} of {source} is not a JSON object")
        records.append(record)
    return records


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def read_patrols(body: bytes, fmt: str, options: PatrolOptions, source: str) -> PatrolResult:
    """Validate a patrol log; ``TooManyRejectsError`` (with the report) over the ceiling."""
    frame = body_to_frame(body, fmt, source)
    for column in COLUMNS:
        if column not in frame:
            frame[column] = ""
    text = {c: frame[c].astype(str).str.strip() for c in COLUMNS}
    n = len(frame)
    start, end = (_times(text[c], options.timezone) for c in ("start", "end"))
    now = options.now if options.now is not None else pd.Timestamp.now(tz="UTC")
    given = np.stack([(text[p] != "").to_numpy() for p in PLACES])
    minutes = ((end - start).dt.total_seconds() / 60.0).to_numpy()
    masks = {
        "missing_id": (text["id"] == "").to_numpy(),
        "missing_place": given.sum(axis=0) == 0,
        "several_places": given.sum(axis=0) > 1,
        "unparseable_time": (start.isna() | end.isna()).to_numpy(),
        "end_not_after_start": ~(minutes > 0),
        "too_long": minutes > options.max_hours * 60,
        "future_time": (end > now + FUTURE_SLACK).to_numpy(),
        "bad_unit": _bad_code(text["unit"], _UNIT),
        "bad_tactic": _bad_code(text["tactic"], _TACTIC),
    }
    codes = _first_reason(masks, n)
    cells, place_codes = _places(text, codes < 0, options)
    codes = np.where(codes < 0, place_codes, codes)
    ok = codes < 0
    ids = text["id"].to_numpy(dtype=object).copy()
    ids[~ok] = None
    dup = ok & pd.Series(ids).duplicated().to_numpy()
    codes[dup] = list(REASONS).index("duplicate_id")
    report = _report(frame, codes, source, options.max_reject_fraction)
    if not report.passed:
        raise TooManyRejectsError(
            f"{report.n_rejected} of {report.rows_read} patrol rows of {source} were rejected "
            f"({report.reject_fraction:.1%}, over the ceiling of "
            f"{options.max_reject_fraction:.1%}); nothing was stored",
            report,
        )
    keep = codes < 0

    def kept(series: pd.Series, dtype: str) -> pd.Series:
        return pd.Series(series.to_numpy()[keep], dtype=dtype).replace("", None)

    patrols = pd.DataFrame(
        {
            "patrol_id": kept(text["id"], "string"),
            "start": start[keep].reset_index(drop=True),
            "end": end[keep].reset_index(drop=True),
            "minutes": minutes[keep],
            "unit": kept(text["unit"], "string"),
            "tactic": kept(text["tactic"].str.lower(), "string"),
            "place_kind": pd.Series(np.array(PLACES)[given.argmax(axis=0)][keep], dtype="string"),
            "place": kept(_place_text(text, given), "string"),
            "cells": pd.Series([cells[i] for i in np.flatnonzero(keep)], dtype=object),
            "resolution": np.full(int(keep.sum()), options.resolution, dtype=np.int8),
            "source_row": np.flatnonzero(keep).astype(np.int64) + 1,
        }
    )
    return PatrolResult(patrols, report)


def _times(text: pd.Series, timezone: str) -> pd.Series:
    """UTC times: with an offset as given, without one as local times in ``timezone``."""
    aware = text.str.contains(_OFFSET)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        out[aware] = pd.to_datetime(text[aware], errors="coerce", utc=True, format="ISO8601")
    naive = ~aware & (text != "")
    if naive.any():
        local = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
        local = local.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        out[naive] = local.dt.tz_convert("UTC")
    return out


def _bad_code(text: pd.Series, pattern: re.Pattern[str]) -> npt.NDArray[np.bool_]:
    given = text != ""
    return (given & ~text.str.fullmatch(pattern)).to_numpy(dtype=bool)


def _first_reason(masks: dict[str, npt.NDArray[np.bool_]], n: int) -> npt.NDArray[np.int8]:
    codes = np.full(n, -1, dtype=np.int8)
    for i, reason in enumerate(REASONS):
        if reason in masks:
            codes[(codes < 0) & masks[reason]] = i
    return codes


def _places(
    text: Mapping[str, pd.Series], todo: npt.NDArray[np.bool_], options: PatrolOptions
) -> tuple[list[CellArray], npt.NDArray[np.int8]]:
    """Each row's cells (sorted, unique) and the reason code of a place that fails (-1 ok).

    A loop over the rows' places: a patrol log has a few hundred rows a day, and each
    polygon needs its own fill."""
    reasons = list(REASONS)
    cells: list[CellArray] = [np.empty(0, np.uint64)] * len(todo)
    codes = np.full(len(todo), -1, dtype=np.int8)
    study = (
        StudyArea(options.study_cells, options.resolution)
        if options.study_cells is not None
        else None
    )
    area, given, polygon = (text[p].to_numpy(dtype=object) for p in PLACES)
    for i in np.flatnonzero(todo).tolist():
        found, why = _place_cells(str(area[i]), str(given[i]), str(polygon[i]), options)
        if why is None and study is not None and not study.contains(found).any():
            why = "outside_area"
        if why is not None:
            codes[i] = reasons.index(why)
        else:
            cells[i] = found
    return cells, codes


def _place_cells(
    area: str, cells: str, polygon: str, options: PatrolOptions
) -> tuple[CellArray, str | None]:
    empty = np.empty(0, np.uint64)
    if area:
        found = options.areas.get(area)
        return (
            (empty, "unknown_area") if found is None or not len(found) else (np.unique(found), None)
        )
    if cells:
        values = [text_to_cell(t) for t in _CELL_SPLIT.split(cells) if t]
        if not values or any(v is None for v in values):
            return empty, "bad_cells"
        arr = np.unique(np.array(values, dtype=np.uint64))
        return (arr, None) if cells_resolution(arr) == options.resolution else (empty, "bad_cells")
    try:
        return _polygon_cells(polygon, options.resolution), None
    except (ValueError, TypeError, KeyError, AttributeError, ConfigError):
        return empty, "bad_polygon"


def _polygon_cells(polygon: str, resolution: int) -> CellArray:
    """Cells whose centre the polygon holds; a polygon under one cell: the cell of a point
    inside it."""
    shape = shapely.geometry.shape(json.loads(polygon))
    if shape.geom_type not in ("Polygon", "MultiPolygon") or shape.is_empty or not shape.is_valid:
        raise ValueError(f"not a valid polygon: {shape.geom_type}")
    try:
        return StudyArea.from_geometry(shape, resolution).cells
    except ConfigError:
        point = shape.representative_point()  # shapely's x is lng, y is lat
        return points_to_cells([point.y], [point.x], resolution)


def _place_text(text: Mapping[str, pd.Series], given: npt.NDArray[np.bool_]) -> pd.Series:
    """The place as given (the area id, the cells or the polygon's GeoJSON)."""
    choice = given.argmax(axis=0)
    values = np.stack([text[p].to_numpy(dtype=object) for p in PLACES])
    return pd.Series(values[choice, np.arange(values.shape[1])], dtype=object)


def _report(
    frame: pd.DataFrame, codes: npt.NDArray[np.int8], source: str, ceiling: float
) -> PatrolReport:
    reasons = list(REASONS)
    report = PatrolReport(source, len(frame), int((codes < 0).sum()), max_reject_fraction=ceiling)
    for code in np.unique(codes[codes >= 0]):
        rows = np.flatnonzero(codes == code)
        report.rejected[reasons[code]] = int(rows.size)
        report.examples[reasons[code]] = [
            {"row": int(r) + 1, **{c: str(frame[c].iat[r])[:200] for c in frame.columns}}
            for r in rows[:EXAMPLES_PER_REASON]
        ]
    return report
