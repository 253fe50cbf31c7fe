"""A .zip of CSV exports (data.police.uk's downloads: a folder per month) read as one."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from hotspots.errors import ColumnNotFoundError, InputFileError
from hotspots.ingest import ColumnMap, IngestOptions, ingest_file

HEADER = "Crime ID,Month,Longitude,Latitude,Crime type\n"
OPTS = IngestOptions(preset="police-uk", max_reject_fraction=0.5)


def _zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return path


def _month(month: str, n: int, bad: int | None = None) -> str:
    rows = [
        f"{month}-{i},{month},{-2.24 - i / 1000},{53.48 + i / 1000},Burglary\n" for i in range(n)
    ]
    if bad is not None:
        rows[bad] = f"{month}-x,{month},,,Burglary\n"  # no coordinates
    return HEADER + "".join(rows)


def test_the_csvs_of_a_zip_are_read_in_name_order_with_source_rows_counting_on(
    tmp_path: Path,
) -> None:
    path = _zip(
        tmp_path / "download.zip",
        {
            "2023-02/2023-02-greater-manchester-street.csv": _month("2023-02", 3, bad=1),
            "2023-01/2023-01-greater-manchester-street.csv": _month("2023-01", 4),
            "2023-01/2023-01-greater-manchester-outcomes.csv": "Crime ID,Month,Outcome type\n",
            "2023-01/2023-01-greater-manchester-stop-and-search.csv": "Type,Date\n",
            "2023-01/readme.txt": "not an export",
            "__MACOSX/2023-01/._2023-01-greater-manchester-street.csv": b"\x00\x05\x16\x07",
        },
    )
    result = ingest_file(path, OPTS)
    events = result.events
    assert events["event_id"].tolist() == [
        *(f"2023-01-{i}" for i in range(4)),
        "2023-02-0",
        "2023-02-2",
    ]
    assert events["source_row"].tolist() == [1, 2, 3, 4, 5, 7]
    report = result.report
    assert report.rows_read == 7 and report.rejected == {"missing_coordinates": 1}
    assert report.examples["missing_coordinates"][0]["source_row"] == 6
    assert report.files == [
        {"name": "2023-01/2023-01-greater-manchester-street.csv", "first_row": 1, "last_row": 4},
        {"name": "2023-02/2023-02-greater-manchester-street.csv", "first_row": 5, "last_row": 7},
    ]
    assert report.notes[0].startswith("read the 2 CSV file(s) of download.zip in name order")
    assert "2023-02/2023-02-greater-manchester-street.csv rows 5-7" in report.notes[0]
    assert json.loads(report.to_json())["files"] == report.files
    assert (
        "left out 2 other CSV(s) (the preset reads *-street.csv), e.g. 2023-01/"
        in (report.notes[0])
    )


def test_a_zip_without_a_csv_or_not_a_zip_is_one_clear_error(tmp_path: Path) -> None:
    empty = _zip(tmp_path / "outcomes.zip", {"a/readme.txt": "x", "a/b.xlsx": b"PK"})
    with pytest.raises(
        InputFileError,
        match=r"outcomes.zip holds no \.csv file named \*-street.csv \(it holds a/readme",
    ):
        ingest_file(empty, OPTS)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(InputFileError, match="cannot open broken.zip as a zip file"):
        ingest_file(broken, OPTS)


def test_without_a_preset_every_csv_is_read_and_one_without_a_column_is_named(
    tmp_path: Path,
) -> None:
    path = _zip(
        tmp_path / "d.zip",
        {
            "2023-01/a.csv": _month("2023-01", 2),
            "2023-02/b.csv": _month("2023-02", 2).replace("Crime type", "Type"),
        },
    )
    police = IngestOptions(preset="police-uk")
    with pytest.raises(InputFileError, match=r"d.zip holds no \.csv file named \*-street.csv"):
        ingest_file(path, police)
    opts = IngestOptions(
        column_map=ColumnMap.parse("time=Month,lat=Latitude,lng=Longitude,category=Type"),
        timezone="Europe/London",
    )
    with pytest.raises(ColumnNotFoundError, match=r"d.zip, member 2023-01/a.csv: .*Type"):
        ingest_file(path, opts)
    (tmp_path / "d.zip").unlink()
    _zip(path, {"a.csv": _month("2023-01", 2).replace("Crime type", "Type"), "b.csv": _month(
        "2023-02", 3).replace("Crime type", "Type")})  # fmt: skip
    assert ingest_file(path, opts).events["source_row"].tolist() == [1, 2, 3, 4, 5]


def test_the_cli_ingests_a_zip_and_refuses_a_broken_one_in_one_line(
    run_cli: Any, tmp_path: Path
) -> None:
    path = _zip(
        tmp_path / "d.zip", {f"2023-0{m}/x-street.csv": _month(f"2023-0{m}", 5) for m in (1, 2)}
    )
    out = tmp_path / "events.parquet"
    res = run_cli("ingest", path, "--preset", "police-uk", "--out", out)
    assert res.code == 0, res.err
    assert "wrote 10 events" in res.err and "read the 2 CSV file(s) of d.zip" in res.err
    empty = _zip(tmp_path / "e.zip", {"readme.txt": "x"})
    res = run_cli("ingest", empty, "--preset", "police-uk", "--out", tmp_path / "e.parquet")
    assert res.code == 2 and res.err.count("\n") == 1 and "holds no .csv file" in res.err
    assert not (tmp_path / "e.parquet").exists()
