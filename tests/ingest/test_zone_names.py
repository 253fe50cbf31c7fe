"""Zone names after times ("2021-06-01 14:00 BST"): read only as the configured zone's own
name at that local time; any other is a wrong_time_zone reject naming the value. They were
all unreadable before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.ingest import IngestOptions, ingest_file
from hotspots.ingest.mapping import ColumnMap
from hotspots.ingest.times import parse_time_column

LONDON = "Europe/London"
MAP = "time=time,lat=lat,lng=lng,category=cat,id=id"


def utc(values: list[str], tz: str = LONDON) -> list[str | None]:
    """Each value's instant in UTC (``YYYY-MM-DD HH:MM``), None where it is not read."""
    times = parse_time_column(pd.Series(values), tz, tz).times.dt.tz_convert("UTC")
    return [None if pd.isna(t) else f"{t:%Y-%m-%d %H:%M}" for t in times]


def test_the_zones_own_names_are_read_as_its_local_time() -> None:
    assert utc(["2021-06-01 14:00 BST", "2021-01-05 14:00 GMT", "2021-01-05 14:00"]) == [
        "2021-06-01 13:00",
        "2021-01-05 14:00",
        "2021-01-05 14:00",
    ]
    # twelve-hour clocks, slash dates and seconds, and Chicago's names
    chicago = ["06/13/2021 2:00:30 PM CDT", "12/13/2021 2:00:30 PM CST"]
    assert utc(chicago, "America/Chicago") == ["2021-06-13 19:00", "2021-12-13 20:00"]
    # IST is Irish summer time in Dublin and Indian time in Kolkata: each zone reads its own
    assert utc(["2021-06-01 14:00 IST"], "Europe/Dublin") == ["2021-06-01 13:00"]
    assert utc(["2021-06-01 14:00 IST"], "Asia/Kolkata") == ["2021-06-01 08:30"]
    # UTC names no place: an offset of zero
    assert utc(["2021-06-01 14:00 UTC"]) == ["2021-06-01 14:00"]


def test_another_name_is_wrong_time_zone_not_a_reading_hours_off() -> None:
    values = pd.Series(
        ["2021-06-01 14:00 EST", "2021-01-05 10:00 BST", "2021-06-01 14:00 CST", "x 10:00 BST"]
    )
    parsed = parse_time_column(values, LONDON, LONDON)
    assert parsed.times.isna().all()
    assert parsed.wrong_zone is not None
    assert parsed.wrong_zone.tolist() == [True, True, True, False]  # the last is unreadable
    assert parsed.notes[-1] == (
        "wrong_time_zone: times named 'BST' (1 row, e.g. '2021-01-05 10:00 BST'), 'CST' (1 row, "
        "e.g. '2021-06-01 14:00 CST'), 'EST' (1 row, e.g. '2021-06-01 14:00 EST') are not so "
        "named in Europe/London at that local time; read as its local time they would be an "
        "hour or more off"
    )
    # Chicago's own names are wrong in Chicago at the other time of year
    assert utc(["06/13/2021 2:00 PM CST", "12/13/2021 2:00 PM CDT"], "America/Chicago") == [
        None,
        None,
    ]


def test_at_the_clock_changes_the_name_says_which_time_it_is() -> None:
    # 31 October 2021: 01:00-02:00 happens twice in London, first as BST, then as GMT; a
    # time without a name is read as standard time (GMT), as before
    back = ["2021-10-31 01:30 BST", "2021-10-31 01:30 GMT", "2021-10-31 01:30"]
    assert utc(back) == ["2021-10-31 00:30", "2021-10-31 01:30", "2021-10-31 01:30"]
    # 28 March 2021: 01:00-02:00 does not happen in London, so BST on such a time is wrong;
    # GMT is an offset of zero, an instant whatever London's clocks say
    spring = ["2021-03-28 00:59 GMT", "2021-03-28 01:30 GMT", "2021-03-28 01:30 BST"]
    spring += ["2021-03-28 02:00 BST", "2021-03-28 02:00 GMT"]
    assert utc(spring) == [
        "2021-03-28 00:59",
        "2021-03-28 01:30",
        None,
        "2021-03-28 01:00",
        "2021-03-28 02:00",
    ]


def test_names_are_read_for_a_whole_column_at_once() -> None:
    # five years of hourly stamps with their names: every one read, as pandas places them
    wall = pd.date_range("2017-01-01", "2021-12-31 23:00", freq="h")
    local = wall.tz_localize(LONDON, ambiguous=np.zeros(len(wall), bool), nonexistent="NaT")
    keep = ~local.isna()
    wall, local = wall[keep], local[keep]
    summer = (local.tz_localize(None) - local.tz_convert(None)) > pd.Timedelta(0)
    values = pd.Series(wall.strftime("%Y-%m-%d %H:%M")) + np.where(summer, " BST", " GMT")
    parsed = parse_time_column(values, LONDON, LONDON)
    assert parsed.wrong_zone is not None and not parsed.wrong_zone.any()
    assert (parsed.times.dt.tz_convert("UTC").to_numpy() == local.tz_convert("UTC")).all()
    # the repeated hours read as their names say: one each of 01:00 BST and 01:00 GMT
    assert len(values) == 5 * 8760 + 24 - 5


def write(path: Path, stamps: list[str]) -> Path:
    rows = ["id,time,lat,lng,cat"]
    rows += [f"{i},{s},{51.5 + i / 1e4:.4f},-0.12,burglary" for i, s in enumerate(stamps)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_ingest_counts_wrong_names_as_rejects_with_their_values(tmp_path: Path) -> None:
    stamps = [f"2021-06-{d:02d} 14:00 BST" for d in range(1, 21)] + ["2021-06-21 14:00 EST"]
    options = IngestOptions(
        column_map=ColumnMap.parse(MAP), timezone=LONDON, now=pd.Timestamp("2022-01-01")
    )
    result = ingest_file(write(tmp_path / "named.csv", stamps), options)
    report = result.report
    assert report.rejected == {"wrong_time_zone": 1}
    assert [e["source_row"] for e in report.examples["wrong_time_zone"]] == [21]
    assert len(result.events) == 20
    assert result.events["occurred_at"].min() == pd.Timestamp("2021-06-01 13:00", tz="UTC")
    assert "time zone names read as Europe/London's own at those times: BST 20" in report.notes
    assert any("'EST' (1 row, e.g. '2021-06-21 14:00 EST')" in n for n in report.notes)


def test_cli_refuses_a_file_of_another_zones_names_in_one_line(
    run_cli: Any, tmp_path: Path
) -> None:
    path = write(tmp_path / "ny.csv", [f"2021-06-{d:02d} 14:00 EDT" for d in range(1, 8)])
    out = tmp_path / "ny.parquet"
    res = run_cli("ingest", path, "--map", MAP, "--tz", LONDON, "--out", out, "--now", "2022-01-01")
    assert res.code == 2 and not out.exists()
    assert res.err.strip().splitlines()[-1] == (
        "error: 7 of 7 rows (100.0%) of ny.csv were rejected, above --max-reject-fraction 0.05; "
        "most were wrong_time_zone (7: the time names a zone (EST, BST, ...) that is not the "
        "timezone's at that local time); column 'time' of ny.csv holds times named 'EDT' (e.g. "
        "'2021-06-01 14:00 EDT'), a name Europe/London does not give them: if the times were "
        "written in another zone, give --source-tz America/New_York (spec: "
        "data.source_timezone), or export them with UTC offsets (+01:00)"
    )
    assert "times named 'EDT' (7 rows, e.g. '2021-06-01 14:00 EDT')" in res.err
    # read where the times of day were written (--source-tz), they are its own names
    res = run_cli(
        "ingest", path, "--map", MAP, "--tz", LONDON, "--source-tz", "America/New_York",
        "--out", out, "--now", "2022-01-01",
    )  # fmt: skip
    assert res.code == 0, res.err
    times = pd.read_parquet(out)["occurred_at"].dt.tz_convert("UTC")
    assert times.min() == pd.Timestamp("2021-06-01 18:00", tz="UTC")
    report = json.loads((tmp_path / "ny.report.json").read_text())
    assert (
        "time zone names read as America/New_York's own at those times: EDT 7" in (report["notes"])
    )


def test_utc_gmt_z_and_zero_offsets_are_offset_zero_in_any_zone() -> None:
    # 14:05 at offset zero on 1 March 2024 is 08:05 CST; before, GMT was wrong_time_zone in
    # Chicago (and in a London summer)
    forms = ["2024-03-01 14:05 GMT", "2024-03-01 14:05 UTC", "2024-03-01 14:05Z"]
    forms += ["2024-03-01 14:05 Z", "2024-03-01 14:05 +0000", "2024-03-01T14:05:00+00:00"]
    for form in forms:
        parsed = parse_time_column(pd.Series([form] * 3), "America/Chicago", "America/Chicago")
        assert (
            parsed.times.tolist() == [pd.Timestamp("2024-03-01 08:05", tz="America/Chicago")] * 3
        ), form
    # GMT on a London summer date is offset zero too: 14:05 GMT is 15:05 BST
    assert utc(["2024-06-01 14:05 GMT", "2024-06-01 14:05 BST"]) == [
        "2024-06-01 14:05",
        "2024-06-01 13:05",
    ]
    parsed = parse_time_column(
        pd.Series(["2024-06-01 14:05 GMT", "2024-06-01 14:05 BST"]), LONDON, LONDON
    )
    assert parsed.notes == (
        "time zone names read as an offset of zero (+00:00): GMT 1",
        "time zone names read as Europe/London's own at those times: BST 1",
    )


@pytest.mark.parametrize(
    ("name", "advice"),
    [
        ("EST", "give --source-tz America/New_York"),
        ("CET", "give --source-tz Europe/Paris"),
        ("CST", "give --source-tz America/Chicago (US Central) or Asia/Shanghai (China)"),
        ("WIB", "give --source-tz the IANA zone they were written in"),
    ],
)
def test_cli_refusal_of_other_zones_names_the_column_a_value_and_what_to_do(
    run_cli: Any, tmp_path: Path, name: str, advice: str
) -> None:
    path = write(tmp_path / "named.csv", [f"2024-03-{d:02d} 14:05 {name}" for d in range(1, 29)])
    out = tmp_path / "named.parquet"
    res = run_cli("ingest", path, "--map", MAP, "--tz", LONDON, "--out", out, "--now", "2025-01-01")
    assert res.code == 2 and not out.exists()
    last = res.err.strip().splitlines()[-1]
    assert "Traceback" not in res.err
    assert last.startswith("error: 28 of 28 rows (100.0%) of named.csv were rejected")
    assert (
        f"column 'time' of named.csv holds times named {name!r} (e.g. '2024-03-01 14:05 {name}'), "
        "a name Europe/London does not give them"
    ) in last
    assert advice in last
