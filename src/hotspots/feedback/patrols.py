"""Patrol logs: what was patrolled, where and when, read from CSV or JSON lines and validated.

One row per patrol. Columns (any other column refuses the whole file; see ``NAME_RULE``):

=========== ======== ==========================================================================
column      required meaning
=========== ======== ==========================================================================
id          yes      the patrol's id in the force's system (a code: letters, digits,
                     ``_ . : / # -``; no spaces): a retry with the same id is stored once
area        one of   a named area (the areas the service's ``within=`` selects) or a plan
                     area ``<as_of>/<rank>`` of a plan given to the import (``plan_areas``)
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

Which values may be stored or echoed in the report's examples: ``patrol_values``.
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

from hotspots.errors import InputFileError, TooManyRejectsError
from hotspots.feedback.patrol_values import WITHHELD as WITHHELD  # re-exported
from hotspots.feedback.patrol_values import bad_code, example_row, stored_polygon
from hotspots.feedback.places import CellArray, places_to_cells
from hotspots.ingest.readers import text_delimiter
from hotspots.ingest.times import localize

COLUMNS: tuple[str, ...] = ("id", "area", "cells", "polygon", "start", "end", "unit", "tactic")
PLACES: tuple[str, ...] = ("area", "cells", "polygon")
NAME_RULE = (
    "patrol logs never hold names of people: a column whose header has a word like name, "
    "surname, forename, officer, person, staff, employee or driver is refused, as is any "
    "column not in the schema; id, unit and tactic take short codes without spaces"
)
_NAME_WORDS = re.compile(
    r"(?:^|[^a-z])(?:[a-z]*name|surname|forename|officer|person|staff|employee|driver)s?"
    r"(?:$|[^a-z])"
)
_OFFSET = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
"""A date alone: it ends in what ``_OFFSET`` reads as one ("2024-01-10": "-10") but has none."""
FUTURE_SLACK = pd.Timedelta(minutes=5)
"""A patrol may end this far after the moment of import (clocks differ a little)."""
EXAMPLES_PER_REASON = 3

REASONS: dict[str, str] = {
    "missing_id": "the id is empty",
    "bad_id": "id is not a short code (letters, digits, _ . : / # -, no spaces)",
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

REASON_FIELDS: dict[str, tuple[str, ...]] = {
    "several_places": PLACES,
    "unparseable_time": ("start", "end"),
    "end_not_after_start": ("start", "end"),
    "too_long": ("start", "end"),
    "future_time": ("end",),
    "unknown_area": ("area",),
    "bad_cells": ("cells",),
    "bad_polygon": ("polygon",),
    "outside_area": PLACES,
    "duplicate_id": ("id",),
}
"""The columns whose values show why a row was rejected (never unit or tactic, nor an id
that is no code: a person's name may have been written there)."""


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
    """The rows of a CSV (``fmt="csv"``; its delimiter found as ingest finds an export's:
    ``,`` ``;`` tab or ``|``) or JSON-lines body, every value as text ("" if
    missing); nested JSON (a polygon object, a list of cells) as compact JSON / joined text.
    A body with no rows (empty, blank lines, or a CSV header alone) is an InputFileError."""
    if not body.strip():
        raise InputFileError(f"{source} is empty: send CSV with a header row, or JSON lines")
    if fmt == "csv":
        try:
            frame = pd.read_csv(
                io.BytesIO(body), sep=text_delimiter(body), dtype=str, keep_default_na=False
            )
        except (ValueError, UnicodeDecodeError) as err:
            raise InputFileError(f"{source} is not readable CSV: {err}") from err
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        check_columns(list(frame.columns), source)
        if frame.empty:  # as ingest says of an export with no rows: nothing to store
            raise InputFileError(f"{source} has a header but no data rows")
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


@dataclass(frozen=True)
class _Rows:
    """The rows of a log as text, their times (UTC), minutes and which place each gives."""

    text: dict[str, pd.Series]
    start: pd.Series
    end: pd.Series
    minutes: npt.NDArray[np.float64]
    given: npt.NDArray[np.bool_]  # (place, row)


def read_patrols(body: bytes, fmt: str, options: PatrolOptions, source: str) -> PatrolResult:
    """Validate a patrol log; ``TooManyRejectsError`` (with the report) over the ceiling."""
    frame = body_to_frame(body, fmt, source)
    rows = _rows(frame, options.timezone)
    codes = _first_reason(_row_masks(rows, options), len(frame))
    cells, place_codes = _places(rows.text, codes < 0, options)
    codes = np.where(codes < 0, place_codes, codes)
    ok = codes < 0
    ids = rows.text["id"].to_numpy(dtype=object).copy()
    ids[~ok] = None
    codes[ok & pd.Series(ids).duplicated().to_numpy()] = list(REASONS).index("duplicate_id")
    report = _report(frame, codes, source, options)
    if not report.passed:
        raise TooManyRejectsError(
            f"{report.n_rejected} of {report.rows_read} patrol rows of {source} were rejected "
            f"({report.reject_fraction:.1%}, over the ceiling of "
            f"{options.max_reject_fraction:.1%}); nothing was stored",
            report,
        )
    return PatrolResult(_accepted(rows, cells, codes < 0, options.resolution), report)


def _rows(frame: pd.DataFrame, timezone: str) -> _Rows:
    for column in COLUMNS:
        if column not in frame:
            frame[column] = ""
    text = {c: frame[c].astype(str).str.strip() for c in COLUMNS}
    start, end = (_times(text[c], timezone) for c in ("start", "end"))
    seconds = (end - start).dt.total_seconds().to_numpy(dtype=np.float64)
    minutes = np.divide(seconds, 60.0, dtype=np.float64)
    given = np.stack([(text[p] != "").to_numpy() for p in PLACES])
    return _Rows(text, start, end, minutes, given)


def _row_masks(rows: _Rows, options: PatrolOptions) -> dict[str, npt.NDArray[np.bool_]]:
    """Each check but the place's and duplicates', as a mask of failing rows."""
    now = options.now if options.now is not None else pd.Timestamp.now(tz="UTC")
    text, places = rows.text, rows.given.sum(axis=0)
    return {
        "missing_id": (text["id"] == "").to_numpy(),
        "bad_id": bad_code(text["id"], "id").to_numpy(dtype=bool),
        "missing_place": places == 0,
        "several_places": places > 1,
        "unparseable_time": (rows.start.isna() | rows.end.isna()).to_numpy(),
        "end_not_after_start": ~(rows.minutes > 0),
        "too_long": rows.minutes > options.max_hours * 60,
        "future_time": (rows.end > now + FUTURE_SLACK).to_numpy(),
        "bad_unit": bad_code(text["unit"], "unit").to_numpy(dtype=bool),
        "bad_tactic": bad_code(text["tactic"], "tactic").to_numpy(dtype=bool),
    }


def _accepted(
    rows: _Rows, cells: list[CellArray], keep: npt.NDArray[np.bool_], resolution: int
) -> pd.DataFrame:
    """The accepted rows as the stored patrol table (``patrol_store.SCHEMA``)."""

    def kept(series: pd.Series, dtype: str) -> pd.Series:
        return pd.Series(series.to_numpy()[keep], dtype=dtype).replace("", None)

    text = rows.text
    return pd.DataFrame(
        {
            "patrol_id": kept(text["id"], "string"),
            "start": rows.start[keep].reset_index(drop=True),
            "end": rows.end[keep].reset_index(drop=True),
            "minutes": rows.minutes[keep],
            "unit": kept(text["unit"], "string"),
            "tactic": kept(text["tactic"].str.lower(), "string"),
            "place_kind": pd.Series(
                np.array(PLACES)[rows.given.argmax(axis=0)][keep], dtype="string"
            ),
            "place": kept(_place_text(text, rows.given, keep), "string"),
            "cells": pd.Series([cells[i] for i in np.flatnonzero(keep)], dtype=object),
            "resolution": np.full(int(keep.sum()), resolution, dtype=np.int8),
            "source_row": np.flatnonzero(keep).astype(np.int64) + 1,
        }
    )


def _times(text: pd.Series, timezone: str) -> pd.Series:
    """UTC times: with an offset as given, without one as local times in ``timezone``, read
    at the clock changes as events are (``ingest.times.localize``: a repeated hour as standard
    time, a skipped one shifted forward), so a night shift's patrol is not refused then."""
    aware = text.str.contains(_OFFSET) & ~text.str.fullmatch(_DATE)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        out[aware] = pd.to_datetime(text[aware], errors="coerce", utc=True, format="ISO8601")
    naive = ~aware & (text != "")
    if naive.any():
        local = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
        out[naive] = localize(local, timezone).dt.tz_convert("UTC")
    return out


def _first_reason(masks: dict[str, npt.NDArray[np.bool_]], n: int) -> npt.NDArray[np.int8]:
    codes = np.full(n, -1, dtype=np.int8)
    for i, reason in enumerate(REASONS):
        if reason in masks:
            codes[(codes < 0) & masks[reason]] = i
    return codes


def _places(
    text: Mapping[str, pd.Series], todo: npt.NDArray[np.bool_], options: PatrolOptions
) -> tuple[list[CellArray], npt.NDArray[np.int8]]:
    """Each row's cells and the reason code of a place that fails (-1: none)."""
    reasons = list(REASONS)
    area, cells, polygon = (text[p].to_numpy(dtype=object) for p in PLACES)
    found, why = places_to_cells(
        area, cells, polygon, todo, options.resolution, options.areas, options.study_cells
    )
    codes = np.array([-1 if w is None else reasons.index(w) for w in why], dtype=np.int8)
    return found, codes


def _place_text(
    text: Mapping[str, pd.Series], given: npt.NDArray[np.bool_], keep: npt.NDArray[np.bool_]
) -> pd.Series:
    """The place as given (the area id, the cells), or a kept polygon's geometry alone
    (``stored_polygon``: no other member of its GeoJSON, where a name could be)."""
    choice = given.argmax(axis=0)
    values = np.stack([text[p].to_numpy(dtype=object) for p in PLACES])
    out = values[choice, np.arange(values.shape[1])]
    polygons = np.flatnonzero(keep & (choice == PLACES.index("polygon")))
    out[polygons] = [stored_polygon(str(out[i])) for i in polygons]
    return pd.Series(out, dtype=object)


def _report(
    frame: pd.DataFrame, codes: npt.NDArray[np.int8], source: str, options: PatrolOptions
) -> PatrolReport:
    reasons = list(REASONS)
    ceiling = options.max_reject_fraction
    report = PatrolReport(source, len(frame), int((codes < 0).sum()), max_reject_fraction=ceiling)
    for code in np.unique(codes[codes >= 0]):
        rows = np.flatnonzero(codes == code)
        report.rejected[reasons[code]] = int(rows.size)
        report.examples[reasons[code]] = [
            example_row(frame, int(r), options.areas) for r in rows[:EXAMPLES_PER_REASON]
        ]
    return report
