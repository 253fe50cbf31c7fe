"""Patrol logs: validation with rejects counted by reason, no names, and an idempotent store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.errors import InputFileError, TooManyRejectsError
from hotspots.feedback.patrol_store import PatrolStore
from hotspots.feedback.patrol_values import WITHHELD_WORDS
from hotspots.feedback.patrols import WITHHELD, PatrolOptions, read_patrols

CENTRE = h3.latlng_to_cell(51.5, -0.1, 8)
NEAR = sorted(h3.grid_ring(CENTRE, 1))
STUDY = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(CENTRE, 3)), dtype=np.uint64)
FAR = h3.latlng_to_cell(53.4, -2.2, 8)
NOW = pd.Timestamp("2024-08-01", tz="UTC")
SQUARE = {  # about 2.8 by 2.2 km around the centre: several resolution-8 cells
    "type": "Polygon",
    "coordinates": [[[-0.12, 51.49], [-0.08, 51.49], [-0.08, 51.51], [-0.12, 51.51],
                     [-0.12, 51.49]]],
}  # fmt: skip


def options(**extra: object) -> PatrolOptions:
    base = {
        "resolution": 8,
        "timezone": "Europe/London",
        "areas": {"beat-7": np.array([h3.str_to_int(CENTRE)], dtype=np.uint64)},
        "study_cells": STUDY,
        "max_reject_fraction": 1.0,
        "now": NOW,
    }
    return PatrolOptions(**(base | extra))  # type: ignore[arg-type]


def jsonl(*rows: dict[str, object]) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


GOOD = {
    "id": "p1",
    "cells": [CENTRE, NEAR[0]],
    "start": "2024-01-10T10:00",
    "end": "2024-01-10T11:30",
}


def test_each_kind_of_place_and_local_times() -> None:
    body = jsonl(
        GOOD | {"unit": "U-12", "tactic": "Foot"},
        {"id": "p2", "area": "beat-7", "start": "2024-01-10T10:00Z", "end": "2024-01-10T12:00Z"},
        {"id": "p3", "polygon": SQUARE, "start": "2024-07-10 10:00", "end": "2024-07-10 10:45"},
    )
    result = read_patrols(body, "jsonl", options(), "log.jsonl")
    got = result.patrols.set_index("patrol_id")
    assert result.report.rows_accepted == 3 and result.report.rejected == {}
    assert sorted(got.loc["p1", "cells"].tolist()) == sorted(
        [h3.str_to_int(CENTRE), h3.str_to_int(NEAR[0])]
    )
    assert got.loc["p2", "cells"].tolist() == [h3.str_to_int(CENTRE)]
    filled = sorted(got.loc["p3", "cells"].tolist())
    assert filled == sorted(h3.str_to_int(c) for c in h3.geo_to_cells(SQUARE, 8))
    assert len(filled) > 3 and h3.str_to_int(CENTRE) in filled
    # London is UTC in January and UTC+1 in July: local times stored as UTC
    assert got.loc["p1", "start"] == pd.Timestamp("2024-01-10 10:00", tz="UTC")
    assert got.loc["p3", "start"] == pd.Timestamp("2024-07-10 09:00", tz="UTC")
    assert got["minutes"].tolist() == [90.0, 120.0, 45.0]
    assert (got.loc["p1", "unit"], got.loc["p1", "tactic"]) == ("U-12", "foot")
    assert got.loc["p2", "place_kind"] == "area" and got.loc["p2", "place"] == "beat-7"


def test_bad_rows_are_counted_by_reason() -> None:
    t0, t1 = "2024-01-10T10:00", "2024-01-10T11:00"
    body = jsonl(
        GOOD,
        {"id": "", "cells": [CENTRE], "start": t0, "end": t1},
        {"id": "a", "start": t0, "end": t1},
        {"id": "b", "cells": [CENTRE], "area": "beat-7", "start": t0, "end": t1},
        {"id": "c", "cells": [CENTRE], "start": "yesterday", "end": t1},
        {"id": "d", "cells": [CENTRE], "start": t1, "end": t0},
        {"id": "e", "cells": [CENTRE], "start": t0, "end": "2024-01-11T10:00"},
        {"id": "f", "cells": [CENTRE], "start": "2024-08-01T10:00Z", "end": "2024-08-01T11:00Z"},
        {"id": "g", "cells": [CENTRE], "start": t0, "end": t1, "unit": "John Smith"},
        {"id": "h", "cells": [CENTRE], "start": t0, "end": t1, "tactic": "saw Mr Jones"},
        {"id": "i", "area": "beat-99", "start": t0, "end": t1},
        {"id": "j", "cells": "not-a-cell", "start": t0, "end": t1},
        {"id": "k", "cells": [h3.cell_to_parent(CENTRE, 7)], "start": t0, "end": t1},
        {"id": "l", "polygon": {"type": "Point", "coordinates": [0, 51]}, "start": t0, "end": t1},
        {"id": "m", "cells": [FAR], "start": t0, "end": t1},
        GOOD | {"cells": [NEAR[1]]},
    )
    report = read_patrols(body, "jsonl", options(), "log.jsonl").report
    assert report.rows_read == 16 and report.rows_accepted == 1
    assert report.rejected == {
        "missing_id": 1,
        "missing_place": 1,
        "several_places": 1,
        "unparseable_time": 1,
        "end_not_after_start": 1,
        "too_long": 1,
        "future_time": 1,
        "bad_unit": 1,
        "bad_tactic": 1,
        "unknown_area": 1,
        "bad_cells": 2,
        "bad_polygon": 1,
        "outside_area": 1,
        "duplicate_id": 1,
    }
    assert report.examples["bad_unit"][0]["row"] == 9
    # a unit or tactic that is no code may be a person's name: never echoed back
    assert report.examples["bad_unit"][0]["unit"] == WITHHELD
    assert report.examples["bad_tactic"][0]["tactic"] == WITHHELD
    assert report.examples["bad_tactic"][0]["id"] == "h"
    assert report.examples["several_places"][0]["area"] == "beat-7"
    shown = json.dumps(report.to_dict())
    assert "John Smith" not in shown and "Jones" not in shown
    assert set(report.to_dict()["reasons"]) == set(report.rejected)


def test_a_name_written_as_the_id_is_rejected_and_never_stored_nor_echoed(
    tmp_path: Path,
) -> None:
    t0, t1 = "2024-01-10T10:00", "2024-01-10T11:00"
    body = jsonl(
        GOOD | {"id": "INC-2024/0001#3"},  # a record number: letters, digits, - / #
        GOOD | {"id": "PC Jane Doe shift 3"},
        GOOD | {"id": "Doe, John"},
        # a name as the id of a row that fails a later check too: counted once, as bad_id
        {"id": "Sgt Ann Roe", "cells": [CENTRE], "start": t1, "end": t0, "unit": "U-2"},
        # a name in a column stored only once read: rejected as it was, echoed withheld
        {"id": "q1", "area": "Officer Smith", "start": t0, "end": t1},
        {"id": "q2", "cells": "Mary Major", "start": t0, "end": t1},
        {"id": "q3", "cells": [CENTRE], "start": "Joe Bloggs", "end": t1},
        {"id": "q4", "polygon": {"type": "Polygon", "name": "Jo Public"}, "start": t0, "end": t1},
    )
    result = read_patrols(body, "jsonl", options(), "log.jsonl")
    report = result.report
    assert result.patrols["patrol_id"].tolist() == ["INC-2024/0001#3"]
    assert report.rejected == {
        "bad_id": 3,
        "unparseable_time": 1,
        "unknown_area": 1,
        "bad_cells": 1,
        "bad_polygon": 1,
    }
    assert [e["row"] for e in report.examples["bad_id"]] == [2, 3, 4]
    assert {e["id"] for e in report.examples["bad_id"]} == {WITHHELD}
    assert report.examples["bad_id"][2]["start"] == t1  # the other values are shown
    assert report.examples["unknown_area"][0]["area"] == WITHHELD_WORDS
    assert report.examples["unknown_area"][0]["id"] == "q1"
    assert report.examples["bad_cells"][0]["cells"] == WITHHELD_WORDS
    assert report.examples["unparseable_time"][0]["start"] == WITHHELD_WORDS
    assert report.examples["bad_polygon"][0]["polygon"] == WITHHELD_WORDS
    shown = json.dumps(report.to_dict())
    for name in ("Jane", "Doe", "Ann Roe", "Smith", "Mary", "Bloggs", "Jo Public"):
        assert name not in shown
    # the report is kept beside the batch: it holds no name either
    store = PatrolStore(tmp_path / "patrols")
    store.append(result.patrols, {"report": report.to_dict()})
    stored = b"".join(p.read_bytes() for p in (tmp_path / "patrols").glob("batch-*.parquet"))
    assert b"INC-2024/0001#3" in stored and b"Jane" not in stored and b"Smith" not in stored


def test_a_polygon_is_stored_as_its_geometry_alone() -> None:
    # the polygon column is free text too: a GeoJSON member beside the geometry could hold a
    # name, and the text was stored as written
    named = SQUARE | {"properties": {"officer": "Jane Doe"}}
    body = jsonl({"id": "p3", "polygon": named, "start": "2024-07-10 10:00",
                  "end": "2024-07-10 10:45"})  # fmt: skip
    stored = read_patrols(body, "jsonl", options(), "log.jsonl").patrols
    assert json.loads(stored["place"].iloc[0]) == SQUARE
    assert len(stored["cells"].iloc[0]) > 3


def test_a_single_word_or_a_known_area_is_still_echoed() -> None:
    # one word reads as no name (the unit rule's limit, said in the README); an area the
    # service knows is its own name, not a person's
    t0, t1 = "2024-01-10T10:00", "2024-01-10T11:00"
    areas = {"North Beach": np.array([h3.str_to_int(CENTRE)], dtype=np.uint64)}
    body = jsonl(
        {"id": "r1", "area": "North Beach", "start": "yesterday", "end": t1},
        {"id": "r2", "area": "Nrth", "start": t0, "end": t1},
    )
    report = read_patrols(body, "jsonl", options(areas=areas), "log.jsonl").report
    assert report.examples["unparseable_time"][0] | {"row": 0} == {
        "row": 0, "id": "r1", "area": "North Beach", "start": "yesterday", "end": t1,
        "cells": "", "polygon": "", "unit": "", "tactic": "",
    }  # fmt: skip
    assert report.examples["unknown_area"][0]["area"] == "Nrth"


def test_over_the_ceiling_nothing_is_accepted() -> None:
    body = jsonl(GOOD, {"id": "x", "start": "2024-01-10T10:00", "end": "2024-01-10T11:00"})
    with pytest.raises(TooManyRejectsError) as caught:
        read_patrols(body, "jsonl", options(max_reject_fraction=0.05), "log.jsonl")
    assert caught.value.report.rejected == {"missing_place": 1}  # type: ignore[attr-defined]


@pytest.mark.parametrize("column", ["officer_name", "Name", "surname", "Officer", "staff_id"])
def test_a_column_that_looks_like_a_name_refuses_the_file(column: str) -> None:
    body = f"id,cells,start,end,{column}\np1,{CENTRE},2024-01-10 10:00,2024-01-10 11:00,x\n"
    with pytest.raises(InputFileError, match="looks like a person's name"):
        read_patrols(body.encode(), "csv", options(), "log.csv")


def test_an_unknown_column_refuses_the_file() -> None:
    body = f"id,cells,start,end,notes\np1,{CENTRE},2024-01-10 10:00,2024-01-10 11:00,x\n"
    with pytest.raises(InputFileError, match="'notes' of log.csv is not a patrol log column"):
        read_patrols(body.encode(), "csv", options(), "log.csv")


@pytest.mark.parametrize(
    ("body", "fmt", "said"),
    [
        (b"id,cells,start,end\n", "csv", "log has a header but no data rows"),
        (b"id,cells,start,end\n\n\n", "csv", "log has a header but no data rows"),
        (b"", "jsonl", "log is empty"),
        (b"\n\n", "jsonl", "log is empty"),
    ],
    ids=["header", "header-blank-lines", "empty-jsonl", "blank-jsonl"],
)
def test_a_log_without_rows_is_refused_as_ingest_refuses_one(
    body: bytes, fmt: str, said: str
) -> None:
    with pytest.raises(InputFileError, match=said):
        read_patrols(body, fmt, options(), "log")


def test_csv_reads_like_json_lines() -> None:
    polygon = json.dumps(SQUARE).replace('"', '""')
    body = (
        "id,cells,polygon,start,end\n"
        f"p1,{CENTRE};{NEAR[0]},,2024-01-10 10:00,2024-01-10 11:30\n"
        f'p3,,"{polygon}",2024-07-10 10:00,2024-07-10 10:45\n'
    ).encode()
    csv = read_patrols(body, "csv", options(), "log.csv").patrols
    js = read_patrols(
        jsonl(GOOD, {"id": "p3", "polygon": SQUARE, "start": "2024-07-10 10:00",
                     "end": "2024-07-10 10:45"}),
        "jsonl", options(), "log.jsonl",
    ).patrols  # fmt: skip
    assert csv["patrol_id"].tolist() == js["patrol_id"].tolist()
    for a, b in zip(csv["cells"], js["cells"], strict=True):
        assert a.tolist() == b.tolist()


@pytest.mark.parametrize("sep", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_a_csv_with_another_delimiter_reads_as_ingest_reads_one(sep: str) -> None:
    # European exports separate fields with ';' (a decimal comma), as ingest's sniffing knows;
    # the cells inside a field may still be separated by ',' and a polygon's JSON holds ','
    polygon = json.dumps(SQUARE).replace('"', '""')
    comma = (
        "id,cells,polygon,start,end,unit\n"
        f'p1,"{CENTRE},{NEAR[0]}",,2024-01-10 10:00,2024-01-10 11:30,U-1\n'
        f'p3,,"{polygon}",2024-07-10 10:00,2024-07-10 10:45,\n'
    )
    other = (
        f"\ufeffid{sep}cells{sep}polygon{sep}start{sep}end{sep}unit\n"
        f"p1{sep}{CENTRE},{NEAR[0]}{sep}{sep}2024-01-10 10:00{sep}2024-01-10 11:30{sep}U-1\n"
        f'p3{sep}{sep}"{polygon}"{sep}2024-07-10 10:00{sep}2024-07-10 10:45{sep}\n'
    )
    want = read_patrols(comma.encode(), "csv", options(), "log.csv")
    got = read_patrols(other.encode(), "csv", options(), "log.csv")
    assert got.report.to_dict() == want.report.to_dict()
    assert got.report.rows_accepted == 2
    pd.testing.assert_frame_equal(
        got.patrols.drop(columns="cells"), want.patrols.drop(columns="cells")
    )
    assert [c.tolist() for c in got.patrols["cells"]] == [c.tolist() for c in want.patrols["cells"]]
    assert len(got.patrols["cells"][0]) == 2 and len(got.patrols["cells"][1]) > 2


def test_a_retry_is_stored_once_and_nothing_twice(tmp_path: Path) -> None:
    first = read_patrols(jsonl(GOOD), "jsonl", options(), "a").patrols
    both = read_patrols(jsonl(GOOD, GOOD | {"id": "p2"}), "jsonl", options(), "b").patrols
    store = PatrolStore(tmp_path / "patrols")
    one = store.append(first, {})
    assert (one.stored, one.already_stored) == (1, 0)
    again = store.append(first, {})
    assert (again.batch, again.stored, again.already_stored) == (None, 0, 1)
    # another process's store (a second worker) sees the stored ids too
    other = PatrolStore(tmp_path / "patrols")
    two = other.append(both, {})
    assert (two.stored, two.already_stored) == (1, 1)
    assert (store.append(both, {}).stored, len(store.batches())) == (0, 2)
    stored = store.read()
    assert sorted(stored["patrol_id"]) == ["p1", "p2"]
    assert stored["start"].dt.tz is not None and stored["cells"].iloc[0].dtype == np.uint64
    assert not list((tmp_path / "patrols").glob(".*.tmp"))


def test_plan_areas_by_as_of_and_rank_from_json_and_geojson() -> None:
    """The JSON document, its GeoJSON (cells joined by ';'), that GeoJSON saved again by a GIS
    tool without the member ``plan``, and the nested GeoJSON written before 2026-12-07."""
    from hotspots.feedback.places import plan_areas
    from hotspots.publishing import plan_to_geojson

    def area(rank: int, cells: list[str]) -> dict[str, Any]:
        return {
            "rank": rank, "area_km2": 0.7, "n_cells": len(cells), "expected_count": 2.0,
            "interval": {"low": 1, "high": 4, "level": 0.8}, "score": 2.0,
            "expected_by_type": {"all": 2.0}, "when": "unknown", "reasons": ["r"],
            "suppressed": False, "cells": cells, "boundary": None,
        }  # fmt: skip

    plan = {
        "as_of": "2024-01-08",
        "period_start": "2024-01-08",
        "areas": [area(1, [CENTRE, NEAR[0]]), area(2, [NEAR[3]])],
    }
    flat = plan_to_geojson(plan)
    assert flat["features"][0]["properties"]["cells"] == f"{CENTRE};{NEAR[0]}"
    resaved = {"type": "FeatureCollection", "features": flat["features"]}
    nested = flat | {
        "features": [
            {"type": "Feature", "id": a["rank"], "geometry": None, "properties": a}
            for a in plan["areas"]
        ]
    }
    for document in (plan, flat, resaved, nested):
        areas = plan_areas(document)
        assert sorted(areas) == ["2024-01-08/1", "2024-01-08/2"]
        assert sorted(areas["2024-01-08/1"].tolist()) == sorted(
            [h3.str_to_int(CENTRE), h3.str_to_int(NEAR[0])]
        )
        assert areas["2024-01-08/2"].tolist() == [h3.str_to_int(NEAR[3])]
    broken = flat | {"features": [{"properties": {"rank": 1, "cells": "8928308280fffff;zz"}}]}
    with pytest.raises(InputFileError, match="not a patrol plan document: not a valid H3 cell"):
        plan_areas(broken)
    body = jsonl({"id": "p", "area": "2024-01-08/1", "start": "2024-01-10T10:00",
                  "end": "2024-01-10T11:00"})  # fmt: skip
    got = read_patrols(body, "jsonl", options(areas=plan_areas(plan)), "log").patrols
    assert sorted(got["cells"].iloc[0].tolist()) == sorted(
        [h3.str_to_int(CENTRE), h3.str_to_int(NEAR[0])]
    )


def test_a_polygon_smaller_than_a_cell_is_the_cell_it_lies_in() -> None:
    lat, lng = h3.cell_to_latlng(CENTRE)
    d = 0.0005  # about 50 m: no resolution-8 cell centre inside unless it is the centre's
    tiny = {
        "type": "Polygon",
        "coordinates": [[[lng + d, lat + d], [lng + 2 * d, lat + d], [lng + 2 * d, lat + 2 * d],
                         [lng + d, lat + 2 * d], [lng + d, lat + d]]],
    }  # fmt: skip
    body = jsonl({"id": "p", "polygon": tiny, "start": "2024-01-10T10:00",
                  "end": "2024-01-10T11:00"})  # fmt: skip
    got = read_patrols(body, "jsonl", options(), "log").patrols
    assert got["cells"].iloc[0].tolist() == [h3.str_to_int(CENTRE)]


def test_local_times_at_the_clock_changes_are_read_as_events_are() -> None:
    """London's clocks went forward at 01:00 on 2024-03-31 (01:30 never happened) and back at
    02:00 on 2024-10-27 (01:30 happened twice): a night shift's patrol is stored, its repeated
    hour read as standard time (GMT) and its skipped one shifted forward, as ingest does."""
    body = jsonl(
        GOOD | {"id": "spring", "start": "2024-03-31T00:30", "end": "2024-03-31T01:30"},
        GOOD | {"id": "autumn", "start": "2024-10-27T01:30", "end": "2024-10-27T03:00"},
    )
    result = read_patrols(body, "jsonl", options(now=pd.Timestamp("2024-11-01", tz="UTC")), "n")
    assert result.report.rows_accepted == 2 and result.report.rejected == {}
    got = result.patrols.set_index("patrol_id")
    assert got.loc["spring", "start"] == pd.Timestamp("2024-03-31 00:30", tz="UTC")
    assert got.loc["spring", "end"] == pd.Timestamp("2024-03-31 01:00", tz="UTC")
    assert got.loc["autumn", "start"] == pd.Timestamp("2024-10-27 01:30", tz="UTC")
    assert got.loc["autumn", "end"] == pd.Timestamp("2024-10-27 03:00", tz="UTC")
    assert got["minutes"].tolist() == [30.0, 90.0]


def test_a_date_alone_is_local_midnight_not_an_offset() -> None:
    """A date alone, "2024-01-10", ends in what looks like an offset ("-10") but has none: it
    is midnight local time (Chicago, UTC-6 in January), as a time without an offset is."""
    body = jsonl(
        GOOD | {"id": "day", "start": "2024-01-10", "end": "2024-01-10T08:00"},
        GOOD | {"id": "utc", "start": "2024-01-10T10:00-06", "end": "2024-01-10T17:00Z"},
    )
    result = read_patrols(body, "jsonl", options(timezone="America/Chicago"), "log.jsonl")
    assert result.report.rejected == {}
    got = result.patrols.set_index("patrol_id")
    assert got.loc["day", "start"] == pd.Timestamp("2024-01-10 06:00", tz="UTC")
    assert got.loc["day", "minutes"] == 480.0
    assert got.loc["utc", "start"] == pd.Timestamp("2024-01-10 16:00", tz="UTC")
    assert got.loc["utc", "minutes"] == 60.0
