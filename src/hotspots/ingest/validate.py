"""Row validation and the report that says what was dropped and why.

Each rejected row is counted under the first reason that applies, in the order of REASONS.
Duplicate ids are judged last, among the rows that pass every other check, so a good copy of
an incident whose first copy was unusable is kept.
Rows left out by the category policy are not rejects: they are reported on their own line and
do not count towards the reject ceiling.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

REASONS: dict[str, str] = {
    "missing_coordinates": "latitude or longitude is empty",
    "bad_coordinates": "coordinates are not numbers, or outside -90..90 / -180..180",
    "zero_coordinates": "coordinates are 0,0 (a placeholder, not a place)",
    "unparseable_time": "the time is empty or cannot be read",
    "future_time": "the time is after the moment of ingest",
    "missing_category": "the category is empty",
    "outside_area": "the point is outside the study area, bounding box or distance limit",
    "duplicate_id": "the incident id was already seen in an earlier row",
}
EXAMPLES_PER_REASON = 3


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


def duplicate_ids(ids: pd.Series, candidates: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Rows (among ``candidates``) whose non-empty id already appeared in an earlier candidate."""
    arr = pa.array(ids.astype("string"), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    nonempty = pc.fill_null(pc.not_equal(arr, ""), False).to_numpy(zero_copy_only=False)
    present = candidates & nonempty
    # duplicated() on integer codes from arrow's hash encoder: far faster than on strings
    codes = pc.dictionary_encode(arr.filter(pa.array(present))).indices
    dup = np.zeros(len(ids), dtype=bool)
    first_seen = pd.Series(codes.to_numpy(zero_copy_only=False)).duplicated(keep="first")
    dup[np.flatnonzero(present)] = first_seen.to_numpy()
    return dup


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
        rows = raw.iloc[first].astype(object).where(raw.iloc[first].notna(), None)
        report.examples[reason] = [
            {"source_row": int(source_rows[j]), **{str(k): v for k, v in rec.items()}}
            for j, rec in zip(first, rows.to_dict(orient="records"), strict=True)
        ]
