"""Output paths: never the input, never each other, and a path that cannot be written is one
line and exit status 2 before any work; a missing folder is created and the command says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hotspots.synthetic import COLUMN_MAP, TIMEZONE

RunCli = Any


@pytest.fixture
def export(small_city_dir: Path) -> Path:
    return small_city_dir / "events.csv.gz"


def ingest(run_cli: RunCli, source: Path, *args: str | Path) -> Any:
    return run_cli("ingest", source, "--map", COLUMN_MAP, "--tz", TIMEZONE, *args)


def one_error_line(res: Any) -> str:
    assert res.code == 2, res.err
    assert "internal error" not in res.err
    [line] = res.err.strip().splitlines()
    assert line.startswith("error: ")
    return str(line)


def test_ingest_out_equal_to_the_input_is_refused(
    run_cli: RunCli, export: Path, tmp_path: Path
) -> None:
    source = tmp_path / "crimes.csv.gz"
    source.write_bytes(export.read_bytes())
    before = source.read_bytes()
    line = one_error_line(ingest(run_cli, source, "--out", source))
    assert "is the same file as the input" in line
    assert source.read_bytes() == before
    # the same file by another spelling
    line = one_error_line(ingest(run_cli, source, "--out", tmp_path / "." / "crimes.csv.gz"))
    assert source.read_bytes() == before


def test_ingest_panel_equal_to_out_is_refused(
    run_cli: RunCli, export: Path, tmp_path: Path
) -> None:
    out = tmp_path / "e.parquet"
    line = one_error_line(ingest(run_cli, export, "--out", out, "--panel", out))
    assert "--panel" in line and "--out" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda t: (t / "d").mkdir() or t / "d", "is a folder"),
        (lambda t: (t / "f").write_text("x") and t / "f" / "e.parquet", "is a file, not a folder"),
        (lambda t: Path("/sys/e.parquet"), "cannot write in folder /sys"),
    ],
    ids=["directory", "under-a-file", "unwritable"],
)
def test_ingest_out_that_cannot_be_written_is_one_line(
    run_cli: RunCli, export: Path, tmp_path: Path, make: Any, fragment: str
) -> None:
    out = make(tmp_path)
    line = one_error_line(ingest(run_cli, export, "--out", out))
    assert fragment in line and "--out" in line
    assert not (tmp_path / "e.report.json").exists()


def test_a_missing_folder_is_created_and_said(
    run_cli: RunCli, export: Path, tmp_path: Path
) -> None:
    out = tmp_path / "new" / "deeper" / "e.parquet"
    res = ingest(run_cli, export, "--out", out)
    assert res.code == 0, res.err
    assert out.is_file()
    # said as they are made: just before the files written into them
    lines = res.err.splitlines()
    said = lines.index(f"created folder {tmp_path / 'new'} (it did not exist)")
    assert lines[said + 1 :][:2] == [
        f"created folder {tmp_path / 'new' / 'deeper'} (it did not exist)",
        f"wrote {len(pd.read_parquet(out)):,} events to {out} and the report to "
        f"{out.with_name('e.report.json')}",
    ]


def test_forecast_output_checks_come_before_any_work(run_cli: RunCli, tmp_path: Path) -> None:
    events = tmp_path / "e.parquet"
    events.write_bytes(b"x")
    res = run_cli(
        "forecast", "--model", "m", "--models-dir", tmp_path / "none", "--events", events,
        "--as-of", "2024-01-01", "--output", events,
    )  # fmt: skip
    assert "is the same file as --events" in one_error_line(res)
    (tmp_path / "d.csv").mkdir()
    res = run_cli(
        "forecast", "--model", "m", "--models-dir", tmp_path / "none", "--events", events,
        "--as-of", "2024-01-01", "--output", tmp_path / "d.csv",
    )  # fmt: skip
    assert "--output" in one_error_line(res) and "is a folder" in res.err


def test_demo_data_into_a_file_is_one_line(run_cli: RunCli, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    target.write_text("not a folder")
    line = one_error_line(run_cli("demo-data", "--out", target, "--days", "30"))
    assert "is a file, not a folder" in line


def test_an_os_error_while_writing_is_one_line(
    run_cli: RunCli, export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hotspots.ingest

    def refuse(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path / "e.parquet"))

    monkeypatch.setattr(hotspots.ingest, "write_events", refuse)
    res = ingest(run_cli, export, "--out", tmp_path / "e.parquet")
    assert res.code == 2 and "internal error" not in res.err
    last = res.err.strip().splitlines()[-1]  # after the validation report
    assert last == f"error: {tmp_path / 'e.parquet'}: Permission denied"


def test_train_checks_its_registry_folder_before_reading(run_cli: RunCli, tmp_path: Path) -> None:
    blocker = tmp_path / "models"
    blocker.write_text("a file where the registry should be")
    (tmp_path / "never-read.csv").write_text("not an export: the folder check comes first")
    res = run_cli(
        "train", "--events", tmp_path / "never-read.csv", "--name", "x",
        "--models-dir", blocker / "inner",
    )  # fmt: skip
    line = one_error_line(res)
    assert "--models-dir" in line and "is a file, not a folder" in line
