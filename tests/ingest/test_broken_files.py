"""A broken file ends with one line naming the file and the problem, exit 2, nothing written."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hotspots.errors import ColumnNotFoundError, InputFileError
from hotspots.ingest import ColumnMap, IngestOptions, ingest_file

RunCli = Callable[..., Any]  # tests/conftest.py run_cli: returns .code .out .err

MAP = "time=time,lat=lat,lng=lng,category=cat"
GOOD = (
    "time,lat,lng,cat\n2023-01-01 10:00,41.8,-87.6,Robbery\n2023-01-02 11:00,41.81,-87.61,Theft\n"
)
OPTS = IngestOptions(column_map=ColumnMap.parse(MAP), now=None)


def _zipped(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


UNPACK = "a delimited text file is read plain or gzip-compressed: unpack it first"
GEOJSON = (
    '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"time": '
    '"2023-01-01 10:00", "cat": "Robbery"}, "geometry": {"type": "Point", '
    '"coordinates": [-87.6, 41.8]}}]}'
)

BROKEN: dict[str, tuple[str, bytes, str]] = {
    "empty": ("e.csv", b"", "e.csv is empty (0 bytes)"),
    "blank lines": ("b.csv", b"\n \n\n", "b.csv holds no text lines"),
    "header only": ("h.csv", b"time,lat,lng,cat\n", "h.csv has a header but no data rows"),
    "binary": ("g.csv", bytes(range(256)) * 20, "g.csv looks binary, not text"),
    "latin-1": ("l.csv", GOOD.replace("Theft", "Caf\xe9").encode("latin-1"), "not valid utf-8"),
    "truncated gzip": ("t.csv.gz", gzip.compress(GOOD.encode())[:15], "not a readable gzip"),
    "not parquet": ("p.parquet", b"PAR1 nonsense", "p.parquet is not a readable Parquet file"),
    "bzip2 named .gz": (
        "b.csv.gz",
        bz2.compress(GOOD.encode()),
        f"b.csv.gz is bzip2-compressed, not gzip as its name says; {UNPACK}",
    ),
    "xz named .gz": ("x.csv.gz", lzma.compress(GOOD.encode()), "x.csv.gz is xz-compressed"),
    "zip named .gz": ("z.csv.gz", _zipped("z.csv", GOOD), "z.csv.gz is a zip archive, not gzip"),
    "zip named .csv": (
        "y.csv",
        _zipped("y.csv", GOOD),
        f"y.csv is a zip archive; {UNPACK}, or name it .zip to read the CSVs in it",
    ),
    "xlsx": ("w.xlsx", _zipped("xl/workbook.xml", "<x/>"), "w.xlsx is a spreadsheet workbook"),
    "xls named .csv": (
        "w.csv",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
        "w.csv is a spreadsheet workbook (or another Office file), not a delimited text file: "
        "save the sheet with the incidents as CSV (UTF-8) and ingest that",
    ),
    "gzip Parquet": (
        "p.parquet.gz",
        gzip.compress(b"PAR1 nonsense PAR1"),
        "p.parquet.gz is gzip-compressed; Parquet, which compresses its own columns, is read "
        "uncompressed (only CSV is read from gzip): gunzip it first",
    ),
    "gzip GeoJSON": (
        "g.geojson.gz",
        gzip.compress(GEOJSON.encode()),
        "g.geojson.gz is gzip-compressed; a vector file is read uncompressed",
    ),
    "no header": (
        "n.csv",
        b"2023-01-01 10:00,41.8,-87.6,Robbery\n2023-01-02 10:00,41.8,-87.6,Theft\n",
        "the first line looks like data",
    ),
    "repeated column": (
        "r.csv",
        b"time,lat,lng,cat,lat\n2023-01-01 10:00,41.8,-87.6,Robbery,1.0\n",
        "column 'lat' (for lat) is ambiguous in r.csv: 'lat' (column 2), 'lat' (column 5)",
    ),
    "columns differing in case": (
        "c.csv",
        b"time,Lat,lng,cat,LAT\n2023-01-01 10:00,41.8,-87.6,Robbery,1.0\n",
        "column 'lat' (for lat) is ambiguous in c.csv: 'Lat' (column 2), 'LAT' (column 5)",
    ),
    "unbalanced quote": (
        "q.csv",
        b'time,lat,lng,cat\n"2023-01-01 10:00,41.8,-87.6,Robbery\n',
        "cannot parse q.csv as CSV",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file_raises_input_file_error(
    case: str, write: Callable[[str, str | bytes], Path]
) -> None:
    name, content, expected = BROKEN[case]
    with pytest.raises(InputFileError) as info:
        ingest_file(write(name, content), OPTS)
    assert expected in str(info.value)
    assert name in str(info.value)


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file_cli_one_line_exit_2_no_output(
    case: str,
    write: Callable[[str, str | bytes], Path],
    run_cli: RunCli,
    tmp_path: Path,
) -> None:
    name, content, expected = BROKEN[case]
    out = tmp_path / "out" / "events.parquet"
    result = run_cli("ingest", write(name, content), "--map", MAP, "--out", out)
    assert result.code == 2
    err = result.err.strip()
    assert err.startswith("error:") and expected in err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert not out.exists()
    leftovers = list(out.parent.glob("*")) if out.parent.exists() else []
    assert leftovers == []


def test_missing_column_lists_the_columns(write: Callable[[str, str | bytes], Path]) -> None:
    with pytest.raises(ColumnNotFoundError) as info:
        ingest_file(write("x.csv", GOOD), IngestOptions(preset="chicago"))
    msg = str(info.value)
    assert msg.startswith("column 'Date' (for time) not found in x.csv; columns are: 'time', 'lat'")


def test_forced_wrong_delimiter_suggests_the_right_one(
    write: Callable[[str, str | bytes], Path],
) -> None:
    path = write("s.csv", GOOD.replace(",", ";"))
    with pytest.raises(ColumnNotFoundError, match=r"is the delimiter ';'\?"):
        ingest_file(path, IngestOptions(column_map=ColumnMap.parse(MAP), delimiter=","))


def test_semicolon_is_sniffed(write: Callable[[str, str | bytes], Path]) -> None:
    result = ingest_file(write("s.csv", GOOD.replace(",", ";")), OPTS)
    assert result.events["category"].tolist() == ["Robbery", "Theft"]


def test_latin1_reads_with_encoding_flag(write: Callable[[str, str | bytes], Path]) -> None:
    path = write("l.csv", GOOD.replace("Theft", "Caf\xe9").encode("latin-1"))
    opts = IngestOptions(column_map=ColumnMap.parse(MAP), encoding="latin-1")
    assert ingest_file(path, opts).events["category"].tolist() == ["Robbery", "Caf\xe9"]


def test_utf8_bom_and_case_insensitive_columns(write: Callable[[str, str | bytes], Path]) -> None:
    path = write("bom.csv", "\ufeff" + GOOD.replace("time,lat", "Time,LAT"))
    events = ingest_file(path, OPTS).events
    assert len(events) == 2
    assert events["lat"].tolist() == [41.8, 41.81]


def test_exact_name_wins_over_a_case_variant(write: Callable[[str, str | bytes], Path]) -> None:
    text = "time,LAT,lat,lng,cat\n2023-01-01 10:00,9.9,41.8,-87.6,Robbery\n"
    path = write("x.csv", text + "2023-01-02 11:00,9.9,41.81,-87.61,Theft\n")
    assert ingest_file(path, OPTS).events["lat"].tolist() == [41.8, 41.81]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="nope.csv not found"):
        ingest_file(tmp_path / "nope.csv", OPTS)


def test_corruption_past_the_sniffed_head_is_one_error(
    write: Callable[[str, str | bytes], Path],
) -> None:
    rows = "".join(f"2023-01-01 10:00,41.8,-87.6,Robbery {i}\n" for i in range(20_000))
    data = gzip.compress(("time,lat,lng,cat\n" + rows).encode())
    path = write("big.csv.gz", data[: len(data) - 200])  # cut the end off
    with pytest.raises(InputFileError, match="big.csv.gz"):
        ingest_file(path, OPTS)


def test_broken_parquet_is_said_before_the_options_are_checked(
    write: Callable[[str, str | bytes], Path],
) -> None:
    """A broken copy of an event table is read with no column map (a spec trained on one
    has none): the file is what is wrong, not the map."""
    path = write("events.parquet", b"PAR1 a copy that went wrong")
    with pytest.raises(InputFileError) as info:
        ingest_file(path, IngestOptions(now=None))
    assert str(info.value).startswith(f"{path} is not a readable Parquet file (")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("plain.csv.gz", GOOD.encode()),  # a plain export named .gz: the content decides
        ("packed.csv", gzip.compress(GOOD.encode())),  # and a gzip one named .csv
        ("plain.geojson.gz", GEOJSON.encode()),
    ],
)
def test_a_file_is_read_by_its_content_not_its_gz_name(
    name: str, content: bytes, write: Callable[[str, str | bytes], Path]
) -> None:
    events = ingest_file(write(name, content), OPTS).events
    n = 1 if "geojson" in name else 2
    assert events["category"].tolist() == ["Robbery", "Theft"][:n]
    assert events["lat"].tolist() == [41.8, 41.81][:n]


def test_a_time_column_with_no_values_is_every_row_unparseable_not_an_internal_error(
    write: Callable[[str, str | bytes], Path], run_cli: RunCli, tmp_path: Path
) -> None:
    # the zone-name pass read the last byte of an empty text buffer: exit 1, 'internal error'
    path = write("blank.csv", "time,lat,lng,cat\n,41.8,-87.6,Robbery\n,41.81,-87.61,Theft\n")
    out = tmp_path / "blank.parquet"
    result = run_cli("ingest", path, "--map", MAP, "--out", out)
    assert result.code == 2 and not out.exists()
    assert result.err.strip().splitlines()[-1] == (
        "error: 2 of 2 rows (100.0%) of blank.csv were rejected, above --max-reject-fraction "
        "0.05; most were unparseable_time (2: the time is empty, cannot be read, or is before "
        "1677-09-22)"
    )
