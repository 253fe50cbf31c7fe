"""Exports as JSON records: a JSON array of flat objects (the Socrata / ArcGIS APIs' answer)
and JSON lines (what POST /v1/events takes), read like a CSV through the same column map."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from hotspots.errors import InputFileError
from hotspots.ingest import ColumnMap, IngestOptions, ingest_file

ROWS: list[dict[str, Any]] = [
    {"date": "2023-05-01T10:00:00.000", "latitude": "41.80", "longitude": "-87.60",
     "primary_type": "THEFT", "id": 1},
    {"date": "2023-05-02T11:30:00.000", "latitude": 41.81, "longitude": -87.61,
     "primary_type": "ROBBERY", "id": 2},
    {"date": "2023-05-03T12:00:00.000", "latitude": None, "longitude": None,
     "primary_type": "THEFT", "id": 3},
]  # fmt: skip
OPTS = IngestOptions(
    column_map=ColumnMap.parse("time=date,lat=latitude,lng=longitude,category=primary_type,id=id"),
    timezone="America/Chicago",
    max_reject_fraction=0.5,
)


def _lines(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("socrata.json", json.dumps(ROWS, indent=1).encode()),  # numbers and text mixed
        ("rows.jsonl", _lines(ROWS).encode()),
        ("rows.ndjson.gz", gzip.compress(_lines(ROWS).encode())),
        ("socrata.json.gz", gzip.compress(json.dumps(ROWS).encode())),
        ("bom.json", b"\xef\xbb\xbf\n " + json.dumps(ROWS).encode()),
    ],
)
def test_json_records_are_read_like_a_csv(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = ingest_file(path, OPTS)
    events = result.events
    assert events["event_id"].tolist() == ["1", "2"]
    assert events["lat"].tolist() == [41.80, 41.81] and events["lng"].tolist() == [-87.60, -87.61]
    assert events["category"].tolist() == ["THEFT", "ROBBERY"]
    assert events["source_row"].tolist() == [1, 2]
    assert result.report.rejected == {"missing_coordinates": 1}


def test_a_json_object_is_still_geojson(tmp_path: Path) -> None:
    path = tmp_path / "points.json"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-87.6, 41.8]},
        "properties": {"date": "2023-05-01 10:00", "primary_type": "THEFT"},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    opts = IngestOptions(
        column_map=ColumnMap.parse("time=date,category=primary_type"), timezone="America/Chicago"
    )
    events = ingest_file(path, opts).events
    assert (events["lat"].tolist(), events["lng"].tolist()) == ([41.8], [-87.6])


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.json", b"[1, 2, 3]", "a.json is a JSON array of something else than objects"),
        ("b.json", b'[{"date": "2023-05-01", ', "b.json is not a readable JSON array"),
        ("c.jsonl", b"{not json\n", "c.jsonl is not JSON lines (one flat object per line)"),
        (
            "d.json",
            json.dumps([{**ROWS[0], "location": {"lat": 41.8}}]).encode(),
            "d.json: fields must be plain values, not objects or lists",
        ),
        ("e.json", b"[]", "e.json holds no records"),
    ],
)
def test_broken_json_records_are_one_clear_line(
    run_cli: Any, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ingest_file(path, OPTS)
    out = tmp_path / "events.parquet"
    res = run_cli("ingest", path, "--map", "time=date,lat=latitude,lng=longitude,category=t",
                  "--tz", "UTC", "--out", out)  # fmt: skip
    assert res.code == 2 and res.err.count("\n") == 1 and message in res.err
    assert not out.exists()
