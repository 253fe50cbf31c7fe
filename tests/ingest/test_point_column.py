"""One column holding both coordinates (``--map point=COL``), as open-data portals export
their location columns, and swapped latitude / longitude told instead of accepted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError, DataValidationError, TooManyRejectsError
from hotspots.ingest import ColumnMap, IngestOptions, ingest_file
from hotspots.ingest.coords import split_points
from hotspots.ingest.mapping import get_preset

Write = Callable[[str, str | bytes], Path]


def test_every_form_of_a_point_gives_lat_and_lng() -> None:
    col = pd.Series(
        [
            "(41.8781, -87.6298)",  # Socrata's human form: (lat, lng)
            "41.8781,-87.6298",
            "[41.8781; -87.6298]",
            "POINT (-87.6298 41.8781)",  # WKT: x y = lng lat
            "SRID=4326;point(-87.6298 41.8781)",
            "POINT Z (-87.6298 41.8781 12.5)",
            '{"type": "Point", "coordinates": [-87.6298, 41.8781]}',
            "",
            None,
            "CLAY ST / WEBSTER ST",  # an address is not a point
            "(41.8781)",
        ],
        dtype="string",
    )
    lat, lng, missing, bad, notes = split_points(col)
    assert np.allclose(lat[:7], 41.8781) and np.allclose(lng[:7], -87.6298)
    assert missing.tolist() == [False] * 7 + [True, True, False, False]
    assert bad.tolist() == [False] * 9 + [True, True]
    assert notes == ()


def test_pairs_written_lng_first_are_read_the_right_way_round_with_a_note() -> None:
    col = pd.Series(["(-122.4194, 37.7749)", "(-122.41, 37.77)", "(37.7, -122.4)"])
    lat, lng, _, bad, notes = split_points(col)
    assert lat[:2].tolist() == [37.7749, 37.77] and lng[:2].tolist() == [-122.4194, -122.41]
    assert lat[2] == -122.4  # read as the file's majority: then out of range, rejected later
    assert len(notes) == 1 and "3 pairs read as (longitude, latitude)" in notes[0]
    assert "the first numbers of 2 are beyond any latitude" in notes[0]
    assert not bad.any()


def test_the_map_takes_a_point_alone_and_it_replaces_a_presets_coordinates() -> None:
    cmap = ColumnMap.parse("time=Date,point=Location")
    cmap.check()
    assert cmap.point == "Location" and not cmap.projected
    merged = get_preset("chicago").columns.merged(ColumnMap.parse("point=Location"))
    assert (merged.lat, merged.lng, merged.point, merged.time) == (
        None,
        None,
        "Location",
        "Date",
    )
    merged.check()
    for text, other in (("lat=a,lng=b", "lat, lng"), ("x=a,y=b", "x, y")):
        with pytest.raises(ConfigError, match=f"point= together with {other}=: use one"):
            ColumnMap.parse(f"time=t,point=p,{text}").check()


def _options(cmap: str, **kw: Any) -> IngestOptions:
    return IngestOptions(
        column_map=ColumnMap.parse(cmap),
        timezone="America/Chicago",
        default_category="assault",
        max_reject_fraction=0.5,
        **kw,
    )


def test_an_export_with_a_location_column_is_ingested_and_bad_points_counted(
    write: Write,
) -> None:
    rows = [
        '2023-05-01 10:00,"(41.80, -87.60)"',
        "2023-05-02 11:30,POINT (-87.61 41.81)",
        "2023-05-03 12:00,",
        "2023-05-04 13:00,somewhere",
        '2023-05-05 14:00,"(41.82, -87.62)"',
    ]
    path = write("export.csv", "Date,Location\n" + "\n".join(rows) + "\n")
    result = ingest_file(path, _options("time=Date,point=Location"))
    events = result.events
    assert events["lat"].tolist() == [41.80, 41.81, 41.82]
    assert events["lng"].tolist() == [-87.60, -87.61, -87.62]
    assert events["source_row"].tolist() == [1, 2, 5]
    assert result.report.rejected == {"missing_coordinates": 1, "bad_coordinates": 1}
    assert "located rows' median point: lat 41.8100, lng -87.6100" in result.report.notes
    assert "columns: time=Date,point=Location" in result.report.notes


def test_swapped_latitude_and_longitude_are_refused_not_accepted(write: Write) -> None:
    """Chicago read lng-as-lat lands at lat -87.6 (Antarctica); the distance screen, centred
    on the same median, used to accept every row of it."""
    text = "Date,lat,lng\n" + "".join(
        f"2023-05-0{d} 10:00,{41.8 + d / 100},{-87.6 - d / 100}\n" for d in range(1, 6)
    )
    path = write("export.csv", text)
    assert len(ingest_file(path, _options("time=Date,lat=lat,lng=lng")).events) == 5
    with pytest.raises(DataValidationError, match=r"median point is lat -87\.6300, lng 41\.8300"):
        ingest_file(path, _options("time=Date,lat=lng,lng=lat"))


def test_the_cli_reads_a_point_column_and_refuses_a_swapped_one_in_one_line(
    run_cli: Any, write: Write, tmp_path: Path
) -> None:
    text = "Date,Location\n" + "".join(
        f'2023-05-0{d} 10:00,"({-87.6 - d / 100}, {41.8 + d / 100})"\n' for d in range(1, 6)
    )
    lng_first = write("lng_first.csv", text)
    out = tmp_path / "events.parquet"
    args = ["ingest", lng_first, "--map", "time=Date,point=Location", "--category-name", "a"]
    res = run_cli(*args, "--tz", "America/Chicago", "--out", out)
    assert res.code == 2 and not out.exists()  # |-87.6| is a latitude: no way to tell
    assert res.err.count("\n") == 1 and "are latitude and longitude swapped" in res.err
    west = write("west.csv", text.replace("-87.", "-122."))  # |-122| is no latitude
    res = run_cli(*args[:1], west, *args[2:], "--tz", "America/Chicago", "--out", out)
    assert res.code == 0, res.err
    assert pd.read_parquet(out)["lat"].between(41.8, 41.9).all()
    assert "pairs read as (longitude, latitude)" in res.err


def test_coordinates_written_with_decimal_commas_are_read_with_a_note(write: Write) -> None:
    """A European export: ';' between fields, ',' in the numbers; a stray text stays bad."""
    path = write(
        "de.csv",
        "Datum;Breite;Laenge\n"
        "2023-05-01 10:00;52,5200;13,4050\n"
        "2023-05-02 11:00;52,5210;13,4060\n"
        "2023-05-03 12:00;52.5220;13.4070\n"
        "2023-05-04 12:00;52,5230;irgendwo\n",
    )
    berlin = replace(_options("time=Datum,lat=Breite,lng=Laenge"), timezone="Europe/Berlin")
    result = ingest_file(path, berlin)
    assert result.events["lat"].tolist() == [52.52, 52.521, 52.522]
    assert result.events["lng"].tolist() == [13.405, 13.406, 13.407]
    assert result.report.rejected == {"bad_coordinates": 1}
    assert "lat and lng written with decimal commas (e.g. 52,5200), read so" in (
        result.report.notes
    )
    # a column whose unreadable values are mostly not decimal commas is not reread
    mixed = write("mixed.csv", "t,la,ln\n2023-05-01,\"1,5\",13.4\n2023-05-02,x,13.4\n"
                  "2023-05-03,y,13.4\n")  # fmt: skip
    with pytest.raises(TooManyRejectsError, match=r"3 of 3 rows .* most were bad_coordinates"):
        ingest_file(mixed, _options("time=t,lat=la,lng=ln"))
