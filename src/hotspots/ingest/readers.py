"""Readers: CSV (plain or gzip, delimiter sniffed), Parquet, GeoJSON / GeoPackage.

Each reader returns only the columns a column map needs, as a pandas frame, and turns every
way a file can be unreadable into one ``InputFileError`` that names the file, the problem and
what was expected.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from hotspots.errors import ColumnNotFoundError, InputFileError
from hotspots.ingest.packing import check_packing

if TYPE_CHECKING:
    import pyarrow.parquet as pq

Progress = Callable[[int, int], None]
"""Called as progress(bytes_done, bytes_total) while a file is read."""

DELIMITERS = (",", ";", "\t", "|")
HEAD_BYTES = 1 << 16
SNIFF_LINES = 20
"""The first lines of a delimited file whose counts of each delimiter choose it."""
PARQUET_SUFFIXES = (".parquet", ".pq")
GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb")


@dataclass(frozen=True)
class SourceTable:
    """The needed columns of a source file, keyed by field, plus geometry-derived lat/lng."""

    frame: pd.DataFrame
    headers: dict[str, str] = field(default_factory=dict)
    """Each field's column as the file's header spells it (a message names it so)."""


def check_input(path: Path, what: str = "an incident export file") -> None:
    """InputFileError saying why ``path`` is not a readable file: missing, a folder, a
    symbolic link that loops or points nowhere."""
    if path.is_file():
        return
    if path.is_dir():
        raise InputFileError(f"{path} is a folder, not a file (expected {what})")
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError as err:  # Python 3.11 reports a loop so
            raise InputFileError(f"{path} is a symbolic link that loops ({err})") from err
        except OSError as err:
            why = "loops" if "loop" in str(err).lower() else f"points to a missing {err.filename}"
            raise InputFileError(f"{path} is a symbolic link that {why}") from err
    if path.exists():
        raise InputFileError(f"{path} is not a regular file (expected {what})")
    raise InputFileError(f"{path} not found (expected {what})")


def file_kind(path: Path) -> str:
    """'csv', 'parquet' or 'geo' from the file name."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(GEO_SUFFIXES):
        return "geo"
    return "csv"


GZIP_MAGIC = b"\x1f\x8b"


def _is_gzip(path: Path) -> bool:
    """True when the content is gzip, whatever the name (a plain ``x.csv.gz`` is read as text)."""
    try:
        with path.open("rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError as err:
        raise InputFileError(f"cannot read {path.name}: {err}") from err


def check_not_gzip(path: Path, what: str) -> None:
    """InputFileError when ``path`` holds gzip: only CSV is read compressed."""
    if _is_gzip(path):
        raise InputFileError(f"{path.name} is gzip-compressed; {what} is read uncompressed "
                             "(only CSV is read from gzip): gunzip it first")  # fmt: skip


def _head(path: Path) -> bytes:
    """The first bytes of a file, decompressed if it is gzip."""
    if not _is_gzip(path):
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
        check_packing(path, head)
        return head
    try:
        with gzip.open(path, "rb") as gz:
            return gz.read(HEAD_BYTES)
    except (OSError, EOFError, zlib.error) as err:
        raise InputFileError(f"{path.name} is not a readable gzip file ({err})") from err


def _decode_head(path: Path, head: bytes, encoding: str) -> str:
    """Decode the head strictly; a cut multi-byte character at the very end is allowed."""
    if b"\x00" in head and not encoding.lower().startswith("utf-16"):
        offset = head.index(b"\x00")
        hint = (
            "; it looks like UTF-16: pass --encoding utf-16"
            if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
            else ""
        )
        raise InputFileError(
            f"{path.name} looks binary, not text (a NUL byte at offset {offset}); "
            f"expected a delimited text file, Parquet or GeoJSON{hint}"
        )
    try:
        return codecs.getincrementaldecoder(encoding)("strict").decode(head, final=False)
    except UnicodeDecodeError as err:
        bad = head[err.start : err.start + 1].hex()
        raise InputFileError(
            f"{path.name} is not valid {encoding} text (byte 0x{bad} at offset {err.start}); "
            "pass --encoding cp1252 or --encoding latin-1 if that is how it was saved"
        ) from err
    except LookupError as err:
        raise InputFileError(f"unknown --encoding {encoding!r}") from err


def head_lines(text: str) -> list[str]:
    """The non-blank lines among the first ``SNIFF_LINES`` of ``text`` (what is sniffed)."""
    return [ln for ln in text.splitlines()[:SNIFF_LINES] if ln.strip()]


def text_delimiter(head: bytes) -> str:
    """The delimiter of delimited text from its first bytes (a request body, say), found as
    a file's is (``sniff_delimiter`` over ``head_lines``); undecodable bytes are ignored
    here, the reader says what is wrong with them."""
    text = head[:HEAD_BYTES].decode("utf-8", errors="replace").removeprefix("\ufeff")
    return sniff_delimiter(head_lines(text))


def sniff_delimiter(lines: Sequence[str]) -> str:
    """The candidate delimiter that splits the header and the next lines most consistently."""
    best, best_score = ",", 0
    for d in DELIMITERS:
        counts = [line.count(d) for line in lines if line.strip()]
        if not counts or counts[0] == 0:
            continue
        score = counts[0] * 10 + sum(c == counts[0] for c in counts)
        if score > best_score:
            best, best_score = d, score
    return best


def _looks_like_data(fields: Sequence[str]) -> bool:
    """True when most header fields are numbers or dates (a file without a header row)."""

    def data_like(f: str) -> bool:
        s = f.strip().strip('"')
        return bool(s) and (s.replace(".", "", 1).lstrip("-").isdigit() or s[:4].isdigit())

    return len(fields) > 1 and sum(map(data_like, fields)) >= max(2, len(fields) // 2)


def resolve_columns(
    wanted: dict[str, str], optional: set[str], header: Sequence[str], name: str
) -> dict[str, str]:
    """Map each wanted field to the file's column (exact, else unique case-insensitive match).

    Optional fields whose column is missing are dropped; a missing required column raises
    ColumnNotFoundError listing the file's columns. A column that more than one header field
    could be (a repeated name, or names differing only in case) raises InputFileError: reading
    either copy would be a guess.
    """
    by_fold: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        by_fold.setdefault(h.strip().casefold(), []).append(i)
    found: dict[str, str] = {}
    for key, column in wanted.items():
        exact = [i for i, h in enumerate(header) if h == column]
        matches = exact or by_fold.get(column.strip().casefold(), [])
        if len(matches) == 1:
            found[key] = header[matches[0]]
        elif matches:
            where = ", ".join(f"{shorten(header[i])!r} (column {i + 1})" for i in matches)
            raise InputFileError(
                f"column {shorten(column)!r} (for {key}) is ambiguous in {name}: {where}; "
                "rename the copies or map another column"
            )
        elif key not in optional:
            raise ColumnNotFoundError(_missing_message(column, key, header, name))
    return found


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was (a 5 MB header field
    must not become a 5 MB error line)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _missing_message(column: str, key: str, header: Sequence[str], name: str) -> str:
    if not header:
        return f"column {shorten(column)!r} (for {key}) not found in {name}: it has no columns"
    shown = ", ".join(repr(shorten(h)) for h in header[:40])
    shown += f" ... ({len(header):,} in all)" if len(header) > 40 else ""
    msg = f"column {shorten(column)!r} (for {key}) not found in {name}; columns are: {shown}"
    if len(header) == 1:
        others = [d for d in DELIMITERS if d in header[0]]
        if others:
            msg += f" (only one column: is the delimiter {others[0]!r}? pass --delimiter)"
    elif _looks_like_data(header):
        msg += " (the first line looks like data: does the file lack a header row?)"
    return msg


@dataclass(frozen=True)
class CsvLayout:
    """What sniffing found: the delimiter, the header fields and the encoding."""

    delimiter: str
    header: tuple[str, ...]
    encoding: str


def sniff_csv(path: Path, encoding: str = "utf-8", delimiter: str | None = None) -> CsvLayout:
    """Check a CSV is readable text with a header; find its delimiter."""
    check_input(path)
    if path.stat().st_size == 0:
        raise InputFileError(f"{path.name} is empty (0 bytes); expected a header row and data")
    text = _decode_head(path, _head(path), encoding)
    if text.startswith("\ufeff"):
        text, encoding = text[1:], "utf-8-sig" if encoding.lower() == "utf-8" else encoding
    lines = head_lines(text)
    if not lines:
        raise InputFileError(f"{path.name} holds no text lines; expected a header row and data")
    delim = delimiter or sniff_delimiter(lines)
    header = next(csv.reader([lines[0]], delimiter=delim))
    if not any(h.strip() for h in header):
        raise InputFileError(f"{path.name} has an empty header line; expected column names")
    return CsvLayout(delim, tuple(header), encoding)


def read_csv(
    path: Path,
    wanted: dict[str, str],
    optional: set[str],
    *,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    numeric: Sequence[str] = (),
    progress: Progress | None = None,
) -> SourceTable:
    """Read the wanted columns of a CSV; ``numeric`` fields are read as float64 if they can be."""
    layout = sniff_csv(path, encoding, delimiter)
    found = resolve_columns(wanted, optional, layout.header, path.name)
    columns = sorted(set(found.values()))
    float_cols = {found[k] for k in numeric if k in found}
    try:
        table = _stream_csv(path, layout, columns, float_cols, progress)
    except pa.ArrowInvalid as err:
        if float_cols and "conversion error" in str(err):
            table = _stream_csv(path, layout, columns, set(), progress)
        else:
            raise InputFileError(f"cannot parse {path.name} as CSV: {_arrow_reason(err)}") from err
    frame = table.to_pandas(types_mapper={pa.large_string(): pd.StringDtype()}.get)
    frame = frame.rename(columns={v: k for k, v in found.items()})
    return SourceTable(frame, found)


def _arrow_reason(err: Exception) -> str:
    text = str(err).splitlines()[0]
    if "UTF8" in text:
        return text + " (pass --encoding cp1252 or latin-1 if that is how it was saved)"
    return text


def _stream_csv(
    path: Path,
    layout: CsvLayout,
    columns: list[str],
    float_cols: set[str],
    progress: Progress | None,
) -> pa.Table:
    total = path.stat().st_size
    raw = pa.OSFile(str(path))
    gz = _is_gzip(path)
    stream = pa.CompressedInputStream(raw, "gzip") if gz else raw
    enc = layout.encoding  # arrow reads utf8 natively and transcodes anything else
    read_opts = pcsv.ReadOptions(
        block_size=8 << 20, encoding="utf8" if enc.lower() in ("utf-8", "utf8") else enc
    )
    convert = pcsv.ConvertOptions(
        include_columns=columns,
        # large_string: what pandas' arrow-backed strings hold, so no cast when converting
        column_types={c: (pa.float64() if c in float_cols else pa.large_string()) for c in columns},
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    parse = pcsv.ParseOptions(delimiter=layout.delimiter, newlines_in_values=False)
    batches = []
    try:
        reader = pcsv.open_csv(
            stream, read_options=read_opts, parse_options=parse, convert_options=convert
        )
        for batch in reader:
            batches.append(batch)
            if progress:
                progress(raw.tell(), total)
        schema = reader.schema
    except (OSError, EOFError, zlib.error) as err:
        raise InputFileError(f"cannot read {path.name}: {err}") from err
    finally:
        raw.close()
    if progress:
        progress(total, total)
    return pa.Table.from_batches(batches, schema=schema)


def open_parquet(path: Path) -> pq.ParquetFile:
    """The Parquet file at ``path`` (its footer read); InputFileError naming it if broken."""
    import pyarrow.parquet as pq

    check_not_gzip(path, "Parquet, which compresses its own columns,")
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise InputFileError(f"{path} is not a readable Parquet file ({err})") from err


def read_parquet(path: Path, wanted: dict[str, str], optional: set[str]) -> SourceTable:
    """Read the wanted columns of a Parquet file."""
    pf = open_parquet(path)
    header = tuple(pf.schema_arrow.names)
    found = resolve_columns(wanted, optional, header, path.name)
    table = pf.read(columns=sorted(set(found.values())))
    frame = pd.DataFrame({k: column_to_series(table.column(v)) for k, v in found.items()})
    return SourceTable(frame, found)


def column_to_series(col: pa.ChunkedArray) -> pd.Series:
    """Floats stay floats; everything else becomes strings for the common parsing path."""
    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
        return pd.Series(col.to_numpy(), dtype="float64")
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        return col.to_pandas().astype("string")
    return col.cast(pa.string()).to_pandas().astype("string")


def read_geo(path: Path, wanted: dict[str, str], optional: set[str]) -> SourceTable:
    """Read a point layer; lat/lng come from the geometry (reprojected to WGS84)."""
    import geopandas as gpd

    check_not_gzip(path, "a vector file")
    try:
        gdf = gpd.read_file(path)
    except Exception as err:  # the GDAL drivers raise many types; report one line
        raise InputFileError(f"cannot read {path.name} as a vector file: {err}") from err
    if len(gdf) == 0:
        raise InputFileError(f"{path.name} has no features; expected a layer of incident points")
    header = tuple(c for c in gdf.columns if c != gdf.geometry.name)
    attrs = {k: v for k, v in wanted.items() if k not in ("lat", "lng", "x", "y", "point")}
    found = resolve_columns(attrs, optional, header, path.name)
    frame = pd.DataFrame({k: column_to_series(pa.array(gdf[v])) for k, v in found.items()})
    geom = gdf.geometry
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        geom = geom.to_crs("EPSG:4326")
    points = geom.where(geom.geom_type == "Point")
    missing = points.isna() | points.is_empty
    # shapely keeps (x=lng, y=lat)
    frame["lat"] = np.where(missing, np.nan, points.y.where(~missing))
    frame["lng"] = np.where(missing, np.nan, points.x.where(~missing))
    return SourceTable(frame, found)
