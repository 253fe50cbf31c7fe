"""Small things a user hits (issue "Honest answers", item 20): inputs that are not files,
huge header fields, empty layers, columns a preset names but the file lacks, hourly times,
too many folds, and what git and `make clean` leave behind."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hotspots.errors import ConfigError
from hotspots.ingest import ColumnMap, IngestOptions, ingest_file

RunCli = Callable[..., Any]
Write = Callable[[str, str | bytes], Path]
MAP = "time=t,lat=lat,lng=lng,category=c"
ROOT = Path(__file__).resolve().parents[2]


def one_line(res: Any) -> str:
    assert res.code == 2, res.err
    [line] = res.err.strip().splitlines()
    return str(line)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda t: (t / "d").mkdir() or t / "d", "is a folder, not a file"),
        (
            lambda t: (t / "a").symlink_to(t / "b") or (t / "b").symlink_to(t / "a") or t / "a",
            "is a symbolic link that loops",
        ),
        (lambda t: (t / "s").symlink_to(t / "gone.csv") or t / "s", "points to a missing"),
    ],
    ids=["folder", "symlink-loop", "dangling-symlink"],
)
def test_an_input_that_is_not_a_file_says_what_it_is(
    run_cli: RunCli, tmp_path: Path, make: Any, fragment: str
) -> None:
    source = make(tmp_path)
    line = one_line(run_cli("ingest", source, "--map", MAP, "--out", tmp_path / "o.parquet"))
    assert fragment in line and "not found" not in line
    res = run_cli(
        "forecast", "--model", "m", "--models-dir", tmp_path, "--events", source,
        "--as-of", "2024-01-01", "--output", tmp_path / "f.csv",
    )  # fmt: skip
    assert res.code == 2 and "internal error" not in res.err


def test_a_huge_header_field_is_not_echoed_whole(write: Write, run_cli: RunCli) -> None:
    source = write("huge.csv", "a" * 5_000_000 + ",b\n1,2\n")
    line = one_line(run_cli("ingest", source, "--map", MAP, "--out", source.with_suffix(".pq")))
    assert len(line) < 500
    assert "'aaaa" in line and " characters)'" in line  # the first 60, and how many were read


def test_a_layer_without_features_says_so(write: Write) -> None:
    source = write("empty.geojson", json.dumps({"type": "FeatureCollection", "features": []}))
    options = IngestOptions(column_map=ColumnMap.parse(MAP))
    with pytest.raises(Exception, match="has no features") as info:
        ingest_file(source, options)
    assert "columns are: " not in str(info.value)


def test_a_preset_column_the_file_lacks_is_not_reported_as_read(write: Write) -> None:
    text = "Month,Longitude,Latitude,Crime type\n2019-01,-2.2,53.4,Burglary\n"
    result = ingest_file(write("puk.csv", text), IngestOptions(preset="police-uk"))
    notes = result.report.notes
    assert notes[0] == "columns: time=Month,lat=Latitude,lng=Longitude,category=Crime type"
    assert "not in the file, so not used: id=Crime ID" in notes


def test_hourly_times_are_reported_as_such(write: Write) -> None:
    rows = [f"2023-05-{1 + i % 28:02d} {i % 24:02d}:00,41.8,-87.6,Theft\n" for i in range(200)]
    result = ingest_file(write("h.csv", "t,lat,lng,c\n" + "".join(rows)),
                         IngestOptions(column_map=ColumnMap.parse(MAP)))  # fmt: skip
    assert any("every time of day is on the hour (200 rows)" in n for n in result.report.notes)
    minutes = [r.replace(":00,", ":17,", 1) for r in rows]
    result = ingest_file(write("m.csv", "t,lat,lng,c\n" + "".join(minutes)),
                         IngestOptions(column_map=ColumnMap.parse(MAP)))  # fmt: skip
    assert not any("on the hour" in n for n in result.report.notes)


def test_too_many_folds_suggests_how_many(year_city_dir: Path) -> None:
    from hotspots.jobs.spec import spec_from_dict
    from hotspots.jobs.train import prepare, run_backtest
    from hotspots.synthetic import COLUMN_MAP, TIMEZONE

    raw = {
        "name": "t",
        "data": {"events": str(year_city_dir / "events.csv.gz"), "map": COLUMN_MAP,
                 "timezone": TIMEZONE},
        "grid": {"resolution": 7, "period": "M"},
        "model": {"kind": "historical_mean", "baselines": ["last_period"]},
        "backtest": {"folds": 12},
    }  # fmt: skip
    prepared = prepare(spec_from_dict(raw))
    with pytest.raises(ConfigError, match=r"give --folds 10 or fewer \(backtest.folds\)"):
        run_backtest(prepared)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("path", ["reports/demo/report.html", "events.parquet", "gmp.report.json"])
def test_outputs_are_ignored_by_git(path: str) -> None:
    done = subprocess.run(
        ["git", "check-ignore", "-q", path], cwd=ROOT, capture_output=True, check=False
    )
    if done.returncode == 128:
        pytest.skip("not a git checkout")
    assert done.returncode == 0, f"{path} is not ignored"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_clean_removes_the_state_a_second_demo_would_serve() -> None:
    done = subprocess.run(
        ["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    removed = done.stdout.split()
    assert {"var", "reports", "models/demo-burglary", "demo"} <= set(removed)
