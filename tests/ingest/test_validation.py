"""Each bad row is counted under its reason; policy exclusions are reported apart."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hotspots.errors import TooManyRejectsError
from hotspots.ingest import ColumnMap, IngestOptions, ingest_file, read_events
from hotspots.ingest.categories import CategoryPolicy
from hotspots.ingest.coords import Area

RunCli = Callable[..., Any]  # tests/conftest.py run_cli: returns .code .out .err

MAP = "time=when,lat=lat,lng=lng,category=type,id=ref,origin=how"
HEADER = "ref,when,lat,lng,type,how\n"
GOOD_ROWS = [
    f"A{i},2023-05-{1 + i % 28:02d} 12:{i % 60:02d},41.8{i % 10},-87.6{i % 7},Burglary,call\n"
    for i in range(60)
]
BAD_ROWS = {
    "missing_coordinates": [
        "B1,2023-05-01 10:00,,-87.6,Burglary,call\n",
        "B2,2023-05-01 10:00,41.8,,Burglary,call\n",
    ],
    "bad_coordinates": [
        "B3,2023-05-01 10:00,north,-87.6,Burglary,call\n",
        "B4,2023-05-01 10:00,91.5,-87.6,Burglary,call\n",
    ],
    "zero_coordinates": ["B5,2023-05-01 10:00,0,0,Burglary,call\n"],
    "unparseable_time": [
        "B6,2023-02-30 10:00,41.8,-87.6,Burglary,call\n",
        "B7,unknown,41.8,-87.6,Burglary,call\n",
        "B8,,41.8,-87.6,Burglary,call\n",
    ],
    "future_time": ["B9,2099-01-01 10:00,41.8,-87.6,Burglary,call\n"],
    "missing_category": ["B10,2023-05-01 10:00,41.8,-87.6,  ,call\n"],
    "outside_area": ["B11,2023-05-01 10:00,45.8,-87.6,Burglary,call\n"],
    # a true duplicate: row A3 again (another offence of A3 would be kept: see below)
    "duplicate_id": ["A3,2023-05-04 12:03,41.83,-87.63,Burglary,call\n"],
}
POLICY_ROWS = [
    "C1,2023-05-01 10:00,41.8,-87.6,Drugs,on-view\n",
    "C2,2023-05-01 10:00,41.8,-87.6,PUBLIC PEACE VIOLATION,on-view\n",
]
NOW = pd.Timestamp("2024-01-01", tz="America/Chicago")


@pytest.fixture
def export(write: Callable[[str, str | bytes], Path]) -> Path:
    rows = GOOD_ROWS + [r for rs in BAD_ROWS.values() for r in rs] + POLICY_ROWS
    return write("export.csv", HEADER + "".join(rows))


def options(**kw: object) -> IngestOptions:
    base: dict[str, object] = dict(
        column_map=ColumnMap.parse(MAP),
        timezone="America/Chicago",
        now=NOW,
        area=Area(max_distance_km=100),
        max_reject_fraction=0.5,
    )
    base.update(kw)
    return IngestOptions(**base)  # type: ignore[arg-type]


def test_every_reason_counted_exactly(export: Path) -> None:
    report = ingest_file(export, options()).report
    assert report.rejected == {k: len(v) for k, v in BAD_ROWS.items()}
    assert report.rows_read == len(GOOD_ROWS) + 12 + len(POLICY_ROWS)
    assert report.rows_accepted == len(GOOD_ROWS)
    assert report.excluded_by_policy == {"Drugs": 1, "PUBLIC PEACE VIOLATION": 1}


def test_examples_point_at_source_rows(export: Path) -> None:
    report = ingest_file(export, options()).report
    first_bad = len(GOOD_ROWS) + 1
    assert [e["source_row"] for e in report.examples["missing_coordinates"]] == [
        first_bad,
        first_bad + 1,
    ]
    assert report.examples["zero_coordinates"][0]["id"] == "B5"
    assert report.examples["duplicate_id"][0]["time"] == "2023-05-04 12:03"


def test_policy_exclusions_do_not_count_towards_the_ceiling(export: Path) -> None:
    n_bad = sum(len(v) for v in BAD_ROWS.values())
    report = ingest_file(export, options(max_reject_fraction=0.2)).report
    assert report.reject_fraction == pytest.approx(n_bad / report.rows_read)
    assert report.n_excluded == 2 and report.passed


def test_include_discretionary_keeps_them(export: Path) -> None:
    policy = CategoryPolicy(include_discretionary=True)
    result = ingest_file(export, options(policy=policy))
    assert result.report.excluded_by_policy == {}
    assert set(result.events["category"]) == {"Burglary", "Drugs", "PUBLIC PEACE VIOLATION"}


def test_ceiling_turns_a_bad_export_into_a_failure(export: Path) -> None:
    with pytest.raises(TooManyRejectsError) as info:
        ingest_file(export, options(max_reject_fraction=0.05))
    msg = str(info.value)
    assert "12 of 74 rows (16.2%) of export.csv were rejected" in msg
    assert "most were unparseable_time (3" in msg
    assert info.value.report.n_rejected == 12


def test_bbox_replaces_the_distance_screen(export: Path) -> None:
    area = Area(bbox=(41.0, -88.0, 42.0, -87.0))
    report = ingest_file(export, options(area=area)).report
    assert report.rejected["outside_area"] == 1


def test_boundary_polygon(export: Path, tmp_path: Path) -> None:
    poly = {
        "type": "Polygon",
        "coordinates": [
            [[-87.7, 41.79], [-87.5, 41.79], [-87.5, 41.805], [-87.7, 41.805], [-87.7, 41.79]]
        ],
    }
    path = tmp_path / "b.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {}, "geometry": poly}],
            }
        )
    )
    area = Area.from_boundary_file(path)
    result = ingest_file(export, options(area=area, max_reject_fraction=1.0))
    assert result.events["lat"].max() <= 41.805
    # good rows have lat 41.80..41.89: the 6 at 41.80 lie inside; both copies of A3 (lat
    # 41.83) are outside, the second counted as outside_area: reasons are taken in order
    assert result.report.rows_accepted == 6
    assert result.report.rejected["outside_area"] == 54 + 1 + 1  # good rows, A3's copy, B11
    assert "duplicate_id" not in result.report.rejected


def test_event_table_contract(export: Path) -> None:
    events = ingest_file(export, options()).events
    assert list(events.columns) == [
        "event_id",
        "occurred_at",
        "time_precision",
        "lat",
        "lng",
        "category",
        "origin",
        "source_row",
    ]
    assert str(events["occurred_at"].dtype) == "datetime64[ns, America/Chicago]"
    assert events["event_id"].tolist()[:3] == ["A0", "A1", "A2"]
    assert events["source_row"].tolist()[:3] == [1, 2, 3]
    assert events["origin"].unique().tolist() == ["call"]
    assert events["time_precision"].unique().tolist() == ["minute"]
    first = events.iloc[0]
    assert first["occurred_at"] == pd.Timestamp("2023-05-01 12:00", tz="America/Chicago")


def test_cli_writes_events_and_report(export: Path, tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "o" / "ev.parquet"
    res = run_cli(
        "ingest",
        export,
        "--map",
        MAP,
        "--tz",
        "America/Chicago",
        "--now",
        "2024-01-01",
        "--max-reject-fraction",
        "0.5",
        "--out",
        out,
    )
    assert res.code == 0, res.err
    assert "rejected: unparseable_time" in res.err
    assert "left out by policy" in res.err
    events, meta = read_events(out)
    assert len(events) == 60 and meta["timezone"] == "America/Chicago"
    saved = json.loads((tmp_path / "o" / "ev.report.json").read_text())
    assert saved["rejected"]["unparseable_time"] == 3
    assert saved["excluded_by_policy"] == {"Drugs": 1, "PUBLIC PEACE VIOLATION": 1}


def test_cli_over_ceiling_prints_report_and_one_error_line(
    export: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    out = tmp_path / "ev.parquet"
    res = run_cli(
        "ingest",
        export,
        "--map",
        MAP,
        "--tz",
        "America/Chicago",
        "--now",
        "2024-01-01",
        "--out",
        out,
    )
    assert res.code == 2
    errors = [ln for ln in res.err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "above --max-reject-fraction 0.05" in errors[0]
    assert not out.exists() and not (tmp_path / "ev.report.json").exists()


@pytest.mark.parametrize("when", ["0001-01-01 10:00", "1600-05-03", "1677-09-20 23:00"])
def test_dates_before_the_nanosecond_range_are_unparseable_time_rejects(
    write: Callable[[str, str | bytes], Path], when: str
) -> None:
    # year 0001 or 1600 cannot be held in an event table: a reject, never a crash
    path = write("old.csv", HEADER + "".join(GOOD_ROWS) + f"OLD,{when},41.8,-87.6,Burglary,call\n")
    result = ingest_file(path, options())
    assert result.report.rejected == {"unparseable_time": 1}
    assert result.report.examples["unparseable_time"][0]["id"] == "OLD"
    assert len(result.events) == len(GOOD_ROWS)
    assert result.events["occurred_at"].min() >= pd.Timestamp("2023-05-01", tz="America/Chicago")


def test_split_year_columns_before_1677_are_rejects_too(
    write: Callable[[str, str | bytes], Path],
) -> None:
    text = "y,m,d,lat,lng,type\n2023,5,1,41.8,-87.6,Burglary\n1600,5,1,41.8,-87.6,Burglary\n"
    cmap = ColumnMap.parse("year=y,month=m,day=d,lat=lat,lng=lng,category=type")
    result = ingest_file(write("split.csv", text), options(column_map=cmap))
    assert result.report.rejected == {"unparseable_time": 1}
    assert len(result.events) == 1


def offences_export(write: Callable[[str, str | bytes], Path], offence: bool = False) -> Path:
    """One incident (I1) with three rows: two offences of one category at one time and
    place, told apart only by their description, and a copy of the first row."""
    head = "ref,when,lat,lng,type,descr\n"
    rows = [
        "I1,2023-05-01 10:00,41.80,-87.60,Assault,BATTERY\n",
        "I1,2023-05-01 10:00,41.80,-87.60,Assault,THREATS\n",
        "I1,2023-05-01 10:00,41.80,-87.60,Theft,PETTY THEFT\n",
        "I1,2023-05-01 10:00,41.80,-87.60,Assault,BATTERY\n",  # the first row again
        "I2,2023-05-01 11:00,41.81,-87.61,Theft,PETTY THEFT\n",
    ]
    return write("offences.csv", head + "".join(rows))


def test_another_offence_of_an_incident_is_kept_and_numbered(
    write: Callable[[str, str | bytes], Path],
) -> None:
    cmap = ColumnMap.parse("time=when,lat=lat,lng=lng,category=type,id=ref")
    result = ingest_file(offences_export(write), options(column_map=cmap, max_reject_fraction=1))
    # without a finer offence column the two assaults look alike: one is a duplicate
    assert result.report.rejected == {"duplicate_id": 2}
    assert result.events["event_id"].tolist() == ["I1", "I1#2", "I2"]
    assert result.events["category"].tolist() == ["Assault", "Theft", "Theft"]
    assert (
        result.report.duplicate_rule
        == "same incident id, category, time and place as an earlier row"
    )
    assert result.report.offences_sharing_an_id == 1
    assert any("offence=COL" in note for note in result.report.notes)


def test_a_mapped_offence_column_tells_offences_apart(
    write: Callable[[str, str | bytes], Path],
) -> None:
    cmap = ColumnMap.parse("time=when,lat=lat,lng=lng,category=type,id=ref,offence=descr")
    result = ingest_file(offences_export(write), options(column_map=cmap, max_reject_fraction=1))
    assert result.report.rejected == {"duplicate_id": 1}
    assert result.report.examples["duplicate_id"][0]["source_row"] == 4
    assert result.events["event_id"].tolist() == ["I1", "I1#2", "I1#3", "I2"]
    assert "offence" in result.report.duplicate_rule
    assert result.report.to_dict()["offences_sharing_an_id"] == 2
