"""A time zone column beside the times (``--map tz=COL``): each row read in its own zone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError, InputFileError
from hotspots.ingest import IngestOptions, ingest_file
from hotspots.ingest.eventtimes import parse_times
from hotspots.ingest.mapping import ColumnMap
from hotspots.ingest.times import parse_time_column

LONDON = "Europe/London"
# 14:05 on 1 March 2024 as each zone value says, in UTC
ZONES = {
    "GMT": "2024-03-01 14:05",
    "utc": "2024-03-01 14:05",
    "Z": "2024-03-01 14:05",
    "+0000": "2024-03-01 14:05",
    "+01:00": "2024-03-01 13:05",
    "-05:00": "2024-03-01 19:05",
    "UTC-5": "2024-03-01 19:05",
    "GMT+5:30": "2024-03-01 08:35",
    "-5.0": "2024-03-01 19:05",  # hours from a Parquet float column
    "America/Chicago": "2024-03-01 20:05",  # CST, UTC-6
    "": "2024-03-01 14:05",  # no zone: the source zone's (London, GMT in March)
}


def utc(parsed_times: pd.Series) -> list[str | None]:
    times = parsed_times.dt.tz_convert("UTC")
    return [None if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M") for t in times]


@pytest.mark.parametrize("form", ["date", "time"])
def test_each_row_is_read_in_the_zone_its_column_gives(form: str) -> None:
    zones = list(ZONES)
    if form == "date":
        frame = pd.DataFrame({"d": "2024-03-01", "h": "14:05", "z": zones}, dtype="string")
        cmap = ColumnMap(date="d", hour="h", tz="z")
    else:
        frame = pd.DataFrame({"t": "2024-03-01 14:05", "z": zones}, dtype="string")
        cmap = ColumnMap(time="t", tz="z")
    parsed = parse_times(frame, cmap, LONDON, LONDON)
    assert utc(parsed.times) == list(ZONES.values())
    assert str(parsed.times.dt.tz) == LONDON
    assert parsed.wrong_zone is not None and not parsed.wrong_zone.any()


def test_a_name_is_read_only_where_it_is_the_source_zones_at_that_time() -> None:
    frame = pd.DataFrame(
        {"d": ["2024-06-01", "2024-01-05", "2024-06-01"], "h": "14:05", "z": ["BST", "BST", "EST"]},
        dtype="string",
    )
    parsed = parse_times(frame, ColumnMap(date="d", hour="h", tz="z"), LONDON, LONDON)
    assert utc(parsed.times) == ["2024-06-01 13:05", None, None]
    assert parsed.wrong_zone is not None and parsed.wrong_zone.tolist() == [False, True, True]


def test_values_that_are_no_zone_make_the_time_unreadable_with_a_note() -> None:
    frame = pd.DataFrame(
        {"t": "2024-03-01 14:05", "z": ["Eastern", "Europe/Nowhere", "+25:00", "GMT"]}
    )
    parsed = parse_times(frame, ColumnMap(time="t", tz="z"), LONDON, LONDON)
    assert utc(parsed.times) == [None, None, None, "2024-03-01 14:05"]
    assert parsed.notes[-1] == (
        "unparseable_time: time zone column 'z' holds values that are no zone: 'Eastern' "
        "(1 row), 'Europe/Nowhere' (1 row), '+25:00' (1 row); write UTC offsets (+01:00), "
        "abbreviations (EST) or IANA names (America/New_York)"
    )


def test_a_zone_column_needs_a_time_of_day() -> None:
    with pytest.raises(ConfigError, match="tz= without time= or hour="):
        ColumnMap.parse("date=d,tz=z,lat=a,lng=b").check()


def export(rows: list[tuple[str, str, str]]) -> str:
    lines = ["id,date,time,tz,lat,lng,cat"]
    lines += [
        f"{i},{d},{t},{z},{51.5 + i / 1e4:.4f},-0.12,burglary" for i, (d, t, z) in enumerate(rows)
    ]
    return "\n".join(lines) + "\n"


MAP = "date=date,hour=time,tz=tz,lat=lat,lng=lng,category=cat,id=id"


def test_ingest_reads_a_date_time_tz_export(write: Callable[[str, str | bytes], Path]) -> None:
    rows = [(f"2024-03-{d:02d}", "14:05", "-05:00" if d % 2 else "UTC") for d in range(1, 21)]
    options = IngestOptions(
        column_map=ColumnMap.parse(MAP), timezone=LONDON, now=pd.Timestamp("2025-01-01")
    )
    result = ingest_file(write("zoned.csv", export(rows)), options)
    assert result.report.n_rejected == 0
    got = result.events["occurred_at"].dt.tz_convert("UTC").dt.strftime("%d %H:%M").tolist()
    assert got == [f"{d:02d} {'19' if d % 2 else '14'}:05" for d in range(1, 21)]


@pytest.mark.parametrize(
    ("zone", "says"),
    [
        (
            "Eastern",
            "most were unparseable_time (20: the time is empty, cannot be read, or is before "
            "1677-09-22); column 'tz' of zoned.csv holds values that are no time zone (e.g. "
            "'Eastern'): write UTC offsets (+01:00), abbreviations (EST) or IANA names "
            "(America/New_York) there, or leave it unmapped and give --source-tz if every time "
            "was written in one zone",
        ),
        (
            "EST",
            "most were wrong_time_zone (20: the time names a zone (EST, BST, ...) that is not the "
            "timezone's at that local time); column 'tz' of zoned.csv holds times named 'EST' "
            "(e.g. 'EST'), a name Europe/London does not give them: if the times were written in "
            "another zone, give --source-tz America/New_York (spec: data.source_timezone), or "
            "export them with UTC offsets (+01:00)",
        ),
        (
            "BST",  # London's summer name on March dates
            "column 'tz' of zoned.csv holds times named 'BST' (e.g. 'BST'), Europe/London's "
            "name at other times of year: the times or their names are wrong; if the times are "
            "right, drop the names and they are read as its local times",
        ),
    ],
)
def test_cli_refuses_zones_it_cannot_read_in_one_line(
    run_cli: Any, write: Callable[[str, str | bytes], Path], tmp_path: Path, zone: str, says: str
) -> None:
    rows = [(f"2024-03-{d:02d}", "14:05", zone) for d in range(1, 21)]
    out = tmp_path / "zoned.parquet"
    path = write("zoned.csv", export(rows))
    res = run_cli("ingest", path, "--map", MAP, "--tz", LONDON, "--out", out, "--now", "2025-01-01")
    assert res.code == 2 and not out.exists()
    assert "Traceback" not in res.err
    last = res.err.strip().splitlines()[-1]
    assert last.startswith("error: 20 of 20 rows (100.0%) of zoned.csv were rejected")
    assert last.endswith(says)


def test_an_unmapped_zone_column_is_refused_not_read_as_the_local_time(
    run_cli: Any, write: Callable[[str, str | bytes], Path], tmp_path: Path
) -> None:
    # date, time, tz with tz left out of the map: 14:05 EST was read as 14:05 in London, exit 0
    path = write("zoned.csv", export([(f"2024-03-{d:02d}", "14:05", "EST") for d in range(1, 21)]))
    out = tmp_path / "zoned.parquet"
    unmapped = "date=date,hour=time,lat=lat,lng=lng,category=cat,id=id"
    args = ("--tz", LONDON, "--out", out, "--now", "2025-01-01")
    res = run_cli("ingest", path, "--map", unmapped, *args)
    assert res.code == 2 and not out.exists()
    assert res.err.strip() == (
        "error: zoned.csv has a time zone column 'tz' (e.g. 'EST') that --map does not name, so "
        "its times would be read as Europe/London's: map it (tz=tz) to read each time in its "
        "zone, or give --source-tz with the zone every time was written in"
    )
    # told where the times were written, it reads them there
    res = run_cli("ingest", path, "--map", unmapped, "--source-tz", "America/New_York", *args)
    assert res.code == 0, res.err
    first = pd.read_parquet(out)["occurred_at"].min().tz_convert("UTC")
    assert first == pd.Timestamp("2024-03-01 19:05", tz="UTC")


@pytest.mark.parametrize("kind", ["csv", "parquet", "zip"])
def test_an_unmapped_zone_column_is_named_as_its_header_spells_it(
    write: Callable[[str, str | bytes], Path], kind: str
) -> None:
    """Found whatever its case ('Time Zone' for the name 'time zone'), the column is named
    as the file has it, in the message and in the map it says to give."""
    import io
    import zipfile

    rows = [(f"2024-03-{d:02d}", "14:05", "EST") for d in range(1, 21)]
    text = export(rows).replace(",tz,", ",Time Zone,", 1)
    if kind == "csv":
        path = write("zoned.csv", text)
    elif kind == "parquet":
        path = write("zoned.parquet", pd.read_csv(io.StringIO(text)).to_parquet())
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("zoned.csv", text)
        path = write("zoned.zip", buffer.getvalue())
    options = IngestOptions(
        column_map=ColumnMap.parse("date=date,hour=time,lat=lat,lng=lng,category=cat,id=id"),
        timezone=LONDON,
        now=pd.Timestamp("2025-01-01"),
    )
    with pytest.raises(InputFileError) as err:
        ingest_file(path, options)
    assert str(err.value).startswith(
        f"{path.name} has a time zone column 'Time Zone' (e.g. 'EST') that --map does not "
        "name, so its times would be read as Europe/London's: map it (tz=Time Zone) to read"
    )


def test_a_zone_column_that_is_empty_or_the_zone_itself_is_no_reason_to_refuse(
    write: Callable[[str, str | bytes], Path],
) -> None:
    rows = [(f"2024-03-{d:02d}", "14:05", LONDON if d % 2 else "") for d in range(1, 21)]
    options = IngestOptions(
        column_map=ColumnMap.parse("date=date,hour=time,lat=lat,lng=lng,category=cat,id=id"),
        timezone=LONDON,
        now=pd.Timestamp("2025-01-01"),
    )
    result = ingest_file(write("zoned.csv", export(rows)), options)
    assert len(result.events) == 20 and result.report.n_rejected == 0
    assert "unmapped zone column" not in " ".join(result.report.notes)
    local = result.events["occurred_at"].dt.tz_convert(LONDON).dt.strftime("%Y-%m-%d %H:%M")
    assert local.tolist() == [f"2024-03-{d:02d} 14:05" for d in range(1, 21)]  # read in --tz


def test_a_date_without_a_time_of_day_stays_on_its_date_whatever_its_zone() -> None:
    # a time column mixing stamps and bare dates: a date is a local calendar date, never
    # moved across midnight by a zone (Paris's midnight is 18:00 the day before in New York)
    frame = pd.DataFrame(
        {
            "t": ["2024-03-03", "2024-03-03 14:05", "2024-03-03"],
            "z": ["Europe/Paris", "Europe/Paris", ""],
        },
        dtype="string",
    )
    parsed = parse_times(frame, ColumnMap(time="t", tz="z"), "America/New_York", "America/New_York")
    local = parsed.times.dt.strftime("%Y-%m-%d %H:%M").tolist()
    assert local == ["2024-03-03 00:00", "2024-03-03 08:05", "2024-03-03 00:00"]
    assert parsed.precision.tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    "written",
    [
        "03/13/2024 14:05",
        "03/13/2024 2:05 PM",
        "13.03.2024 14:05",
        "13-Mar-2024 14:05",
        "Mar 13 2024  2:05PM",
        "202403131405",  # a compact stamp
        "2024-03-13T14:05:00",
    ],
)
def test_a_zone_column_reads_times_in_any_format_the_column_is_written_in(written: str) -> None:
    # offsets and Z were appended to the text and read back as ISO: every row of a slash,
    # dotted, month-name or compact time column beside -05:00 was unparseable_time
    zones = {"-05:00": "19:05", "Z": "14:05", "UTC+1": "13:05", "America/Chicago": "19:05"}
    frame = pd.DataFrame({"t": written, "z": list(zones)}, dtype="string")
    parsed = parse_times(frame, ColumnMap(time="t", tz="z"), LONDON, LONDON)
    assert utc(parsed.times) == [f"2024-03-13 {hm}" for hm in zones.values()]
    assert parsed.precision.tolist() == [0] * len(zones)
    assert parsed.column_format == parse_time_column(frame["t"], LONDON, LONDON).fmt


def test_a_date_or_an_epoch_number_is_not_moved_by_a_zone_offset() -> None:
    # a date is the date written (it was unparseable beside an offset); an epoch number is an
    # instant, which no zone moves
    for value in ("2024-03-13", "13/03/2024"):
        frame = pd.DataFrame({"t": [value] * 2, "z": ["+01:00", "-05:00"]}, dtype="string")
        parsed = parse_times(frame, ColumnMap(time="t", tz="z"), LONDON, LONDON)
        assert parsed.times.dt.strftime("%Y-%m-%d %H:%M").tolist() == ["2024-03-13 00:00"] * 2
        assert parsed.precision.tolist() == [1, 1]
    frame = pd.DataFrame({"t": ["1710338700"] * 2, "z": ["+01:00", "-05:00"]}, dtype="string")
    parsed = parse_times(frame, ColumnMap(time="t", tz="z"), LONDON, LONDON)
    assert utc(parsed.times) == ["2024-03-13 14:05"] * 2 and parsed.fmt == "epoch-s"


def test_names_in_the_time_column_itself_are_read_beside_an_empty_zone_column() -> None:
    frame = pd.DataFrame({"t": ["2024-06-01 14:05 BST", "2024-06-01 14:05"], "z": ["", "UTC"]})
    parsed = parse_times(frame, ColumnMap(time="t", tz="z"), LONDON, LONDON)
    assert utc(parsed.times) == ["2024-06-01 13:05", "2024-06-01 14:05"]


def test_the_wall_clock_of_a_row_read_in_its_iana_zone_is_the_one_written() -> None:
    # what placeholder minutes and first-of-month midnights are read on: 00:01 written in
    # Chicago is 00:01 there, not London's 06:01 (every row read in London's own)
    frame = pd.DataFrame(
        {
            "t": ["2024-03-13 00:01", "2024-03-13 00:01", "2024-03-13"],
            "z": ["America/Chicago", "", "America/Chicago"],
        },
        dtype="string",
    )
    parsed = parse_times(frame, ColumnMap(time="t", tz="z"), LONDON, LONDON)
    assert utc(parsed.times) == ["2024-03-13 05:01", "2024-03-13 00:01", "2024-03-13 00:00"]
    assert parsed.clock is not None
    wall = parsed.clock.wall(parsed.times, parsed.precision, np.arange(3))
    assert [str(t)[:16] for t in wall.times] == ["2024-03-13T00:01"] * 2 + ["2024-03-13T00:00"]
