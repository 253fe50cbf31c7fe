"""Natural mistakes of an analyst at ``hotspots ingest``: a boundary layer of another area
or with latitude and longitude swapped, and a reject ceiling of 1 that lets every row go."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hotspots.errors import TooManyRejectsError
from hotspots.ingest import IngestOptions, ingest_file
from hotspots.ingest.coords import Area
from hotspots.ingest.mapping import ColumnMap

RunCli = Any
MAP = "time=Date,lat=Lat,lng=Lng,category=Type"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """40 burglaries around lat 41.85, lng -87.65 (Chicago), with a BOM and CRLF lines."""
    rows = ["Date,Lat,Lng,Type"]
    rows += [
        f"2024-01-{1 + i % 28:02d} 10:00,{41.84 + i / 2000:.5f},-87.65,Burglary" for i in range(40)
    ]
    path = tmp_path / "crimes.csv"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("utf-8-sig"))
    return path


def _layer(tmp_path: Path, ring: list[list[float]]) -> Path:
    path = tmp_path / "area.geojson"
    geometry = {"type": "Polygon", "coordinates": [ring]}
    feature = {"type": "Feature", "properties": {}, "geometry": geometry}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


# [lat, lng] pairs where GeoJSON wants [lng, lat]: the right place, swapped
SWAPPED = [[41.8, -87.7], [41.9, -87.7], [41.9, -87.6], [41.8, -87.6], [41.8, -87.7]]


def test_a_boundary_holding_no_row_says_where_each_lies(tmp_path: Path, export: Path) -> None:
    options = IngestOptions(
        column_map=ColumnMap.parse(MAP), area=Area.from_boundary_file(_layer(tmp_path, SWAPPED))
    )
    with pytest.raises(TooManyRejectsError) as err:
        ingest_file(export, options)
    message = str(err.value)
    assert "most were outside_area (40:" in message
    assert (
        "none of the 40 located rows lies inside the polygons of area.geojson "
        "(lat -87.7000..-87.6000, lng 41.8000..41.9000); their median point is lat 41.8498, "
        "lng -87.6500: is it this area's layer, in WGS84 (GeoJSON lists [lng, lat])?"
    ) in message


def test_a_boundary_holding_some_rows_adds_no_note(tmp_path: Path, export: Path) -> None:
    ring = [[-87.7, 41.8], [-87.6, 41.8], [-87.6, 41.85], [-87.7, 41.85], [-87.7, 41.8]]
    options = IngestOptions(
        column_map=ColumnMap.parse(MAP),
        area=Area.from_boundary_file(_layer(tmp_path, ring)),
        max_reject_fraction=1.0,
    )
    result = ingest_file(export, options)
    assert result.report.rows_accepted == 20 and result.area_miss is None
    assert not any(note.startswith("none of the") for note in result.report.notes)


def test_ingest_that_accepts_no_row_writes_nothing_and_exits_2(
    run_cli: RunCli, tmp_path: Path, export: Path
) -> None:
    out = tmp_path / "events.parquet"
    res = run_cli(
        "ingest", export, "--map", MAP, "--boundary", _layer(tmp_path, SWAPPED),
        "--max-reject-fraction", "1", "--out", out,
    )  # fmt: skip
    assert res.code == 2
    error = res.err.strip().splitlines()[-1]
    assert error.startswith(
        "error: no row of crimes.csv was accepted (40 rejected, 0 left out by policy); "
        "nothing written; none of the 40 located rows lies inside the polygons of area.geojson"
    )
    assert "[lng, lat]" in res.err.replace(error, "")  # the note above it, brackets and all
    assert not out.exists() and not out.with_name("events.report.json").exists()


def test_a_bom_and_crlf_export_reads_clean(run_cli: RunCli, tmp_path: Path, export: Path) -> None:
    import pandas as pd

    out = tmp_path / "events.parquet"
    res = run_cli("ingest", export, "--map", MAP, "--out", out)
    assert res.code == 0, res.err
    events = pd.read_parquet(out)
    assert len(events) == 40 and set(events["category"]) == {"Burglary"}
    # the counts are of the event table's time_precision column, not a bare 'minute 40'
    # beside 'the export records hours, not minutes'
    assert "(rows by time_precision: minute 40)" in res.err + res.out


def test_the_panel_line_gives_the_cells_own_area(
    run_cli: RunCli, tmp_path: Path, export: Path
) -> None:
    import h3
    import pandas as pd

    panel = tmp_path / "panel.parquet"
    res = run_cli(
        "ingest", export, "--map", MAP, "--out", tmp_path / "e.parquet", "--panel", panel
    )  # fmt: skip
    assert res.code == 0, res.err
    cells = pd.read_parquet(tmp_path / "e.parquet")[["lat", "lng"]].apply(
        lambda r: h3.latlng_to_cell(r["lat"], r["lng"], 9), axis=1
    )
    own = sum(h3.cell_area(c, unit="km^2") for c in set(cells))
    assert f"{len(set(cells))} cells (H3 res 9, {own:,.1f} km2)" in res.out + res.err


def test_a_panel_with_part_periods_at_its_ends_says_so(run_cli: RunCli, tmp_path: Path) -> None:
    # Wednesday 2024-01-03 to Tuesday 2024-02-13: the first and last weeks are part-weeks,
    # whose low counts read as a fall in crime; train uses 2024-01-08 to 2024-02-12
    days = pd.date_range("2024-01-03", "2024-02-13", freq="D")
    rows = ["Date,Lat,Lng,Type"] + [f"{d.date()} 10:00,41.85,-87.65,Burglary" for d in days]
    path = tmp_path / "crimes.csv"
    path.write_text("\n".join(rows) + "\n")
    res = run_cli(
        "ingest", path, "--map", MAP, "--out", tmp_path / "e.parquet",
        "--panel", tmp_path / "p.parquet",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert (
        "note: the first period (2024-01-01) and the last period (2024-02-12) of the panel hold "
        "only part of their days in the data, so counts there look low; hotspots train and "
        "forecast use the whole periods from 2024-01-08 to 2024-02-12 (excl.)"
    ) in res.out + res.err
    whole = tmp_path / "whole.csv"  # Monday 2024-01-08 to Sunday 2024-02-11: no note
    whole.write_text("\n".join(rows[:1] + rows[6:-2]) + "\n")
    res = run_cli(
        "ingest", whole, "--map", MAP, "--out", tmp_path / "w.parquet",
        "--panel", tmp_path / "wp.parquet",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert "note: the" not in res.out + res.err


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--tz", "America/Houston"], "--tz (spec: data.timezone) 'America/Houston' is not"),
        (["--tz", "CST"], "(a city of the zone, not an abbreviation like CST)"),
        (["--source-tz", "GMT+1"], "--source-tz (spec: data.source_timezone) 'GMT+1' is not"),
    ],
)
def test_a_wrong_timezone_names_flag_and_spec_key(
    run_cli: RunCli, tmp_path: Path, export: Path, flags: list[str], fragment: str
) -> None:
    res = run_cli("ingest", export, "--map", MAP, *flags, "--out", tmp_path / "e.parquet")
    assert res.code == 2
    [line] = res.err.strip().splitlines()
    assert fragment in line and "IANA timezone name, such as America/Chicago" in line


def test_a_wrong_timezone_setting_is_named(
    run_cli: RunCli, tmp_path: Path, export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotspots.config import get_settings

    monkeypatch.setenv("HOTSPOTS_TIMEZONE", "Mars/Olympus")
    get_settings.cache_clear()
    try:
        res = run_cli("ingest", export, "--map", MAP, "--out", tmp_path / "e.parquet")
    finally:
        monkeypatch.delenv("HOTSPOTS_TIMEZONE")
        get_settings.cache_clear()
    assert res.code == 2 and "HOTSPOTS_TIMEZONE 'Mars/Olympus' is not" in res.err


def test_an_event_table_given_back_says_what_it_is(
    run_cli: RunCli, tmp_path: Path, export: Path
) -> None:
    events = tmp_path / "events.parquet"
    assert run_cli("ingest", export, "--map", MAP, "--out", events).code == 0
    said = (
        "error: events.parquet is an event table already (written by hotspots ingest): train, "
        "backtest, forecast and plan read it as --events as it is; its validation report is "
        "beside it"
    )
    res = run_cli("ingest", events, "--out", tmp_path / "again.parquet", "--panel", tmp_path / "p")
    assert res.code == 2 and res.err.strip() == said
    # with a map of its own columns it was read as an export: without --tz, in UTC
    own = "time=occurred_at,lat=lat,lng=lng,category=category,id=event_id"
    res = run_cli("ingest", events, "--map", own, "--out", tmp_path / "again.parquet")
    assert res.code == 2 and res.err.strip() == said
    assert not (tmp_path / "again.parquet").exists()


def test_a_wrong_panel_period_is_refused_before_reading(
    run_cli: RunCli, tmp_path: Path, export: Path
) -> None:
    res = run_cli(
        "ingest", export, "--map", MAP, "--out", tmp_path / "e.parquet",
        "--panel", tmp_path / "p.parquet", "--period", "Q",
    )  # fmt: skip
    assert res.code == 2
    assert res.err.strip() == "error: --period 'Q' must be D, W (weeks from Monday) or M"
    assert not (tmp_path / "e.parquet").exists()


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--resolution", "20"], "error: --resolution 20 must be an H3 resolution from 0 to 15"),
        (["--resolution", "-1"], "error: --resolution -1 must be an H3 resolution from 0 to 15"),
        (["--k-ring", "-1"], "error: --k-ring -1 must be 0 (the cells alone) or more rings"),
    ],
)
def test_a_wrong_panel_resolution_or_ring_is_named_before_reading(
    run_cli: RunCli, tmp_path: Path, export: Path, flags: list[str], said: str
) -> None:
    # it was found only after the whole export was read and its report printed, and the
    # line named no flag ("k must be >= 0, got -1")
    out = tmp_path / "e.parquet"
    res = run_cli(
        "ingest", export, "--map", MAP, "--out", out, "--panel", tmp_path / "p.parquet", *flags
    )
    assert res.code == 2
    assert res.err.strip() == said  # the one line: no report was printed (it goes to stderr)
    assert not out.exists()


def test_one_rejected_row_in_many_is_not_shown_as_none(run_cli: RunCli, tmp_path: Path) -> None:
    # Vancouver's one row without coordinates among 37,512 read "1 | 0.00%", and the
    # accepted share of such an export "100.00%"
    rows = ["Date,Lat,Lng,Type"]
    rows += [
        f"2024-01-{1 + i % 28:02d} 10:00,{41.84 + i / 1e6:.6f},-87.65,Burglary"
        for i in range(29_999)
    ]
    rows.append("2024-01-05 10:00,,-87.65,Burglary")
    export = tmp_path / "many.csv"
    export.write_text("\n".join(rows) + "\n")
    res = run_cli("ingest", export, "--map", MAP, "--out", tmp_path / "e.parquet", columns="200")
    assert res.code == 0, res.err
    table = [" ".join(line.replace("│", " ").split()) for line in res.err.splitlines()]
    assert any(line.startswith("rejected: missing_coordinates 1 <0.01% ") for line in table)
    assert any(line.startswith("accepted 29,999 >99.99% rejects <0.01% of rows") for line in table)
