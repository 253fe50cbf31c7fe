"""Exports as JSON records: JSON lines (``.jsonl`` / ``.ndjson``, one flat object per line,
what ``POST /v1/events`` takes) and a JSON array of flat objects (``.json`` whose first
character is ``[``, as the Socrata and ArcGIS APIs answer). A ``.json`` holding an object is
GeoJSON and goes to the vector reader. Both are read to one Arrow table, then to the wanted
columns like a Parquet file's.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pandas as pd
import pyarrow as pa

from hotspots.errors import InputFileError
from hotspots.ingest import readers

LINES_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")


def _bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when its content is gzip."""
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise InputFileError(f"{path.name} is not a readable gzip file: {err}") from err


def is_json_records(path: Path) -> bool:
    """True for JSON lines by name, or a ``.json`` file that holds an array."""
    name = path.name.lower()
    if name.endswith(LINES_SUFFIXES):
        return True
    if not name.endswith((".json", ".json.gz")):
        return False
    with path.open("rb") as fh:
        head = fh.read(1 << 12)
    if head[:2] == b"\x1f\x8b":  # the start of the content only, not the whole file
        try:
            with gzip.open(path, "rb") as gz:
                head = gz.read(1 << 12)
        except (OSError, EOFError, zlib.error) as err:
            raise InputFileError(f"{path.name} is not a readable gzip file: {err}") from err
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"["


def records_table(data: bytes, what: str) -> pa.Table:
    """One row per JSON object: of each line, or of the array ``data`` holds, every value as
    the text a CSV would hold (so a field may be a number in one row and text in another);
    InputFileError naming ``what`` (a file, the request body) when it is not such records,
    or a field holds an object or a list."""
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] == b"[":
        try:
            rows = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InputFileError(f"{what} is not a readable JSON array: {err}") from err
        if not all(isinstance(r, dict) for r in rows):
            raise InputFileError(f"{what} is a JSON array of something else than objects")
    else:
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise InputFileError(
                    f"{what} is not JSON lines (one flat object per line): line {number}: {err}"
                ) from err
            if not isinstance(row, dict):
                raise InputFileError(
                    f"{what} is not JSON lines (one flat object per line): line {number} "
                    f"is {type(row).__name__}"
                )
            rows.append(row)
    try:
        return pa.Table.from_pylist(
            [{k: None if v is None else _text(v) for k, v in r.items()} for r in rows]
        )
    except _NestedValueError as err:
        raise InputFileError(
            f"{what}: fields must be plain values, not objects or lists ({err})"
        ) from err


class _NestedValueError(ValueError):
    """A record's field holds an object or a list."""


def _text(value: object) -> str:
    """A plain JSON value as the text a CSV would hold (numbers as JSON writes them)."""
    if isinstance(value, dict | list):
        raise _NestedValueError(f"an object or list: {json.dumps(value)[:60]}")
    return value if isinstance(value, str) else json.dumps(value)


def read_json_records(
    path: Path, wanted: dict[str, str], optional: set[str]
) -> readers.SourceTable:
    """The wanted columns of a JSON-records file (see the module docstring)."""
    table = records_table(_bytes(path), path.name)
    if table.num_rows == 0:
        raise InputFileError(f"{path.name} holds no records")
    found = readers.resolve_columns(wanted, optional, tuple(table.schema.names), path.name)
    frame = pd.DataFrame({k: readers.column_to_series(table.column(v)) for k, v in found.items()})
    return readers.SourceTable(frame, found)
