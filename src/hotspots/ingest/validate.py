"""Row validation and the report that says what was dropped and why.

Each rejected row is counted under the first reason that applies, in the order of REASONS.
Duplicates are judged last, among the rows that pass every other check, so a good copy of
an incident whose first copy was unusable is kept. A duplicate has the same incident id,
category, time and place as an earlier row (and the same offence, when a finer ``offence``
column is mapped); a row that shares only the id is another offence of the same incident
(exports with one row per offence repeat the incident number) and is kept, its event id
numbered ``<id>#2``, ``<id>#3``, ...
Rows left out by the category policy are not rejects: they are reported on their own line and
do not count towards the reject ceiling.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hotspots.errors import TooManyRejectsError
from hotspots.ingest.textbuf import (
    all_lengths,
    arrow_strings,
    hash_strings,
    may_need_trim,
    take_rows,
)

REASONS: dict[str, str] = {
    "missing_coordinates": "latitude or longitude is empty",
    "bad_coordinates": "coordinates are not numbers, or outside -90..90 / -180..180",
    "zero_coordinates": "coordinates are 0,0 (a placeholder, not a place)",
    "unparseable_time": "the time is empty, cannot be read, or is before 1677-09-22",
    "wrong_time_zone": "the time names a zone (EST, BST, ...) that is not the timezone's at "
    "that local time",
    "future_time": "the time is after the moment of ingest",
    "outside_period": "the time is before --start, or over a year before the months that "
    "hold the data (a stray old date)",
    "missing_category": "the category is empty",
    "outside_area": "the point is outside the study area, bounding box or distance limit",
    "duplicate_id": "an earlier row has the same incident id, category (and offence, if "
    "mapped), time and place",
}
EXAMPLES_PER_REASON = 3
DUPLICATE_RULE = "same incident id, category, time and place as an earlier row"
DUPLICATE_RULE_OFFENCE = "same incident id, category, offence, time and place as an earlier row"


@dataclass
class ValidationReport:
    """Counts per reason, a few example rows each, and what the policy left out."""

    source: str
    rows_read: int = 0
    rows_accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    excluded_by_policy: dict[str, int] = field(default_factory=dict)
    max_reject_fraction: float = 0.05
    notes: list[str] = field(default_factory=list)
    duplicate_rule: str = DUPLICATE_RULE
    offences_sharing_an_id: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)
    """A zip's CSV members with their first and last source_row (``ingest.zipped``)."""
    time_format: str | None = None
    """The time (or date) column's format as read, as ``--time-format`` takes it (None for
    split year/month columns): a model records it, so later batches read dates alike."""
    hour_format: str | None = None
    """How an hour column was read (hours, HH:MM or HHMM), recorded for the same reason."""
    placeholder_times: dict[str, int] = field(default_factory=dict)
    """Accepted rows per placeholder clock minute (``"00:01"``: an export's stand-in for an
    unknown time of day, ``ingest.placeholders``): kept, their time_precision day."""

    @property
    def n_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def n_excluded(self) -> int:
        return sum(self.excluded_by_policy.values())

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
            n_excluded=self.n_excluded,
            reject_fraction=round(self.reject_fraction, 6),
            passed=self.passed,
            reasons={k: REASONS[k] for k in self.rejected},
        )
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)


def first_reason(masks: dict[str, npt.NDArray[np.bool_]], n: int) -> npt.NDArray[np.int8]:
    """Per row, the index into REASONS of its first failing check, or -1 if it passes."""
    codes = np.full(n, -1, dtype=np.int8)
    for i, reason in enumerate(REASONS):
        mask = masks.get(reason)
        if mask is not None:
            codes[(codes < 0) & mask] = i
    return codes


@dataclass(frozen=True)
class IdIndex:
    """Trimmed ids, which rows have one, and which of those may repeat (a shared hash)."""

    text: pa.ChunkedArray
    present: npt.NDArray[np.bool_]
    maybe: npt.NDArray[np.bool_]


def index_ids(ids: pd.Series) -> IdIndex:
    """Hash every id once, so duplicates among any candidate rows are cheap to find."""
    text = arrow_strings(ids)
    if may_need_trim(text):
        text = pa.chunked_array([pc.utf8_trim_whitespace(c) for c in text.chunks], text.type)
    present = all_lengths(text) > 0  # nulls have length 0
    # only ids whose hash another row shares can repeat; those are compared exactly later
    # (hashing integers is far cheaper than hashing 1.5M strings)
    keys = hash_strings(text)
    if keys is None:
        return IdIndex(text, present, present.copy())
    if present.all():
        return IdIndex(text, present, shared(keys))
    maybe = np.zeros(len(present), dtype=bool)
    maybe[present] = shared(keys[present])
    return IdIndex(text, present, maybe)


def shared(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """True where another row has the same key.

    Keys alone in their bucket of the top bits (counted with one bincount) are not shared; a
    hash table only sees the rest, a fraction of the rows.
    """
    bits = int(np.clip(np.ceil(np.log2(max(len(keys), 1))) + 1, 10, 22))
    bucket = (keys >> np.uint64(64 - bits)).astype(np.intp)
    crowded = np.flatnonzero(np.bincount(bucket, minlength=1 << bits)[bucket] > 1)
    out = np.zeros(len(keys), dtype=bool)
    out[crowded] = pd.Series(keys[crowded]).duplicated(keep=False).to_numpy()
    return out


def repeated_ids(index: IdIndex, candidates: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Rows (among ``candidates``) whose non-empty id already appeared in an earlier candidate.

    Every candidate with an equal candidate id is among the rows compared: equal ids hash alike.
    """
    dup = np.zeros(len(candidates), dtype=bool)
    rows = np.flatnonzero(candidates & index.maybe)
    if rows.size:
        codes = pc.dictionary_encode(take_rows(index.text, rows)).indices
        dup[rows] = pd.Series(codes.to_numpy(zero_copy_only=False)).duplicated(keep="first")
    return dup


def repeated_records(
    index: IdIndex, candidates: npt.NDArray[np.bool_], same: Sequence[Any]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int32]]:
    """Duplicates among ``candidates`` (an earlier candidate has the same id and the same
    values in every column of ``same``, arrays or Series: category, times, lat, lng), and
    per row its number among the other rows with its id (0: the first; 1: another offence,
    ``#2``). Only the rows whose id may repeat are read from ``same``."""
    dup = np.zeros(len(candidates), dtype=bool)
    number = np.zeros(len(candidates), dtype=np.int32)
    rows = np.flatnonzero(candidates & index.maybe)
    if rows.size:
        codes = pc.dictionary_encode(take_rows(index.text, rows)).indices
        ids = codes.to_numpy(zero_copy_only=False)
        picked = {f"k{i}": _take(a, rows) for i, a in enumerate(same)}
        keys = pd.DataFrame({"id": ids, **picked})
        repeat = keys.duplicated(keep="first").to_numpy()
        dup[rows] = repeat
        kept = pd.Series(ids[~repeat])
        number[rows[~repeat]] = kept.groupby(kept, sort=False).cumcount().to_numpy(np.int32)
    return dup, number


def _take(values: Any, rows: npt.NDArray[np.intp]) -> Any:
    return values.iloc[rows].to_numpy() if isinstance(values, pd.Series) else values[rows]


def duplicate_ids(ids: pd.Series, candidates: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Rows (among ``candidates``) whose non-empty id already appeared in an earlier candidate."""
    return repeated_ids(index_ids(ids), candidates)


def fill_report(
    report: ValidationReport,
    codes: npt.NDArray[np.int8],
    raw: pd.DataFrame,
    source_rows: npt.NDArray[np.int64],
) -> None:
    """Count reject codes into the report and keep a few example source rows per reason."""
    names = list(REASONS)
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    for i, reason in enumerate(names):
        if not counts[i]:
            continue
        report.rejected[reason] = int(counts[i])
        first = np.flatnonzero(codes == i)[:EXAMPLES_PER_REASON]
        rows = _plain_rows(raw, first)
        report.examples[reason] = [
            {"source_row": int(source_rows[j]), **{str(k): v for k, v in rec.items()}}
            for j, rec in zip(first, rows.to_dict(orient="records"), strict=True)
        ]


def _plain_rows(raw: pd.DataFrame, rows: npt.NDArray[np.intp]) -> pd.DataFrame:
    """A few raw rows as Python objects with None for missing values.

    Sliced one by one: taking scattered rows from a column of many arrow chunks would first
    join the chunks, a copy of the whole column.
    """
    picked = pd.concat([raw.iloc[j : j + 1] for j in rows]) if len(rows) else raw.iloc[:0]
    return picked.astype(object).where(picked.notna(), None)


def enforce_ceiling(
    report: ValidationReport, area_miss: str | None = None, advice: dict[str, str] | None = None
) -> None:
    """TooManyRejectsError, in one line, when the report's rejects pass its ceiling: the most
    common reason, what to do about it (``advice``: reason -> text) and ``area_miss``."""
    if report.passed:
        return
    top = max(report.rejected.items(), key=lambda kv: kv[1])
    todo = (advice or {}).get(top[0])
    raise TooManyRejectsError(
        f"{report.n_rejected:,} of {report.rows_read:,} rows ({report.reject_fraction:.1%}) "
        f"of {report.source} were rejected, above --max-reject-fraction "
        f"{report.max_reject_fraction:g}; most were {top[0]} ({top[1]:,}: {REASONS[top[0]]})"
        + (f"; {todo}" if todo else "")
        + (f"; {area_miss}" if area_miss else ""),
        report,
    )
