"""Output that is not a terminal (a log): progress as plain lines, tables at their natural
width; in a narrow terminal ids are wrapped, never cut."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.registry import Registry
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

RunCli = Any
LONG = "burglary-residential-north-district-weekly-h3-res8-v2026"


@pytest.fixture
def registry(tmp_path: Path, year_panel: Panel) -> Path:
    model = make_forecaster("historical_mean", target=("Burglary Residential",)).fit(year_panel)
    Registry(tmp_path / "models").publish(LONG, model, spec={}, data={}, backtest={})
    return tmp_path / "models"


def test_tables_in_a_log_keep_their_width_and_whole_names(registry: Path, run_cli: RunCli) -> None:
    res = run_cli("models", "list", "--models-dir", registry, columns=None)
    assert res.code == 0, res.err
    out = res.out
    [row] = [line for line in out.splitlines() if LONG in line]  # the name whole, on one line
    assert "Burglary Residential" in row and len(row) > 80  # not wrapped at 80 columns


def test_a_narrow_terminal_wraps_names_but_never_cuts_them(registry: Path, run_cli: RunCli) -> None:
    res = run_cli("models", "list", "--models-dir", registry, columns="60")
    assert res.code == 0, res.err
    out = res.out
    assert "…" not in out
    first_cells = [line.split("│")[1].strip() for line in out.splitlines() if line.count("│") > 2]
    assert LONG in "".join(first_cells)


@pytest.fixture
def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress lines from the first moment (a quick test run is under the quiet 2 s)."""
    import hotspots.cli.progress as progress

    monkeypatch.setattr(progress, "QUIET_S", 0.0)
    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.05)


def test_progress_lines_in_a_log(
    run_cli: RunCli, year_city_dir: Path, tmp_path: Path, eager: None
) -> None:
    res = run_cli(
        "backtest", "--events", year_city_dir / "events.csv.gz", "--map", COLUMN_MAP,
        "--tz", TIMEZONE, "--category", "burglary", "--resolution", "8",
        "--model", "historical_mean", "--folds", "2", "--out", tmp_path / "r",
    )  # fmt: skip
    assert res.code == 0, res.err
    lines = res.err.splitlines()
    assert any(line.startswith("reading events.csv.gz: done in ") for line in lines)
    assert any(line.startswith("backtest kde 2/2 (100%), ") for line in lines)
    assert any(line.startswith("backtest: done in ") for line in lines)
    # backtest publishes nothing: its tables mark the selected model, not a 'published' one
    assert "* = published" not in res.out
    assert "* = selected: the model train publishes (backtest publishes none)" in res.out


def test_ingest_progress_lines_in_a_log(
    run_cli: RunCli, year_city_dir: Path, tmp_path: Path, eager: None
) -> None:
    res = run_cli(
        "ingest", year_city_dir / "events.csv.gz", "--map", COLUMN_MAP, "--tz", TIMEZONE,
        "--out", tmp_path / "e.parquet", "--panel", tmp_path / "p.parquet",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert "(100%)" in res.err and "reading events.csv.gz: done in" in res.err
    assert "building the panel: done in" in res.err
    assert pd.read_parquet(tmp_path / "e.parquet").shape[0] > 0


def test_a_long_stage_beats_in_a_log(eager: None, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from hotspots.cli.progress import stage

    with stage("fitting"):
        time.sleep(0.3)
    lines = capsys.readouterr().err.splitlines()
    assert sum(line.startswith("fitting ... ") for line in lines) >= 2
    assert lines[-1].startswith("fitting: done in 0.")


def test_a_finished_count_is_one_line_however_often_it_is_told(
    eager: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A gzip export is read ahead of its parsing, so the reader reports all bytes read at each
    batch parsed after that: the log printed ``(100%)`` once per batch (six identical lines on
    San Francisco's export), not once as the part ended."""
    from hotspots.cli.progress import counted

    with counted("reading sf.csv.gz") as update:
        for _ in range(6):
            update("bytes", 100, 100)
        update("bytes", 100, 100)
    with counted("backtest") as update:
        update("kde", 2, 2)
        update("prospective", 2, 2)
    lines = capsys.readouterr().err.splitlines()
    assert sum("(100%)" in line for line in lines if line.startswith("reading ")) == 1, lines
    assert sum("(100%)" in line for line in lines if line.startswith("backtest ")) == 2, lines


def test_a_quick_failure_is_one_line(run_cli: RunCli, tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    source.write_text("a,b\n")
    res = run_cli(
        "ingest", source, "--map", "time=a,lat=b,lng=b,category=a", "--out", tmp_path / "o.parquet"
    )
    assert res.code == 2 and len(res.err.strip().splitlines()) == 1, res.err


def _help(command: str, columns: int) -> str:
    """``hotspots COMMAND --help`` in a fresh process at ``COLUMNS`` (the help's format is set
    when the command line is built)."""
    argv = ["hotspots", *command.split(), "--help"]
    code = f"import sys; sys.argv = {argv!r}; from hotspots.cli import main; main()"
    env = {**os.environ, "COLUMNS": str(columns)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("command", ["train", "report effectiveness", "ingest"])
def test_help_on_a_narrow_terminal_shows_every_flag_and_word_whole(command: str) -> None:
    """Rich's option table cut names to fit 80 columns (``--include-discret…``,
    ``--monitor-populatio…``); plain text wraps instead. Wide terminals keep the panels."""
    from hotspots.cli.main import RICH_HELP_COLUMNS

    narrow = _help(command, 80)
    assert "…" not in narrow and "╭" not in narrow
    assert all(len(line) <= 80 or " " not in line.strip() for line in narrow.splitlines())
    wanted = {
        "train": ["--include-discretionary / --no-include-discretionary", "--no-workers-timeout"],
        "report effectiveness": ["--monitor-population-field", "--monitor-group-field"],
        "ingest": ["--include-discretionary", "--max-reject-fraction"],
    }[command]
    assert all(flag in narrow for flag in wanted), narrow
    wide = _help(command, RICH_HELP_COLUMNS)
    assert "╭─ Options" in wide and all(flag.split(" /")[0] in wide for flag in wanted)


@pytest.mark.parametrize("command", ["ingest", "train", "forecast"])
def test_plain_help_shows_no_markdown_asterisks(command: str) -> None:
    """In a pipe or a narrow terminal the help is plain text: the presets' names read
    ``police-uk:``, not ``**police-uk**:`` (and ``**police-\nuk**`` where it wrapped)."""
    plain = _help(command, 80)
    assert "uk: data.police.uk street-level" in " ".join(plain.split()), plain
    assert "**" not in plain, plain


def test_ingest_help_names_the_settings_it_reads() -> None:
    """``hotspots ingest`` takes its timezone and reject ceiling from HOTSPOTS_TIMEZONE and
    HOTSPOTS_MAX_REJECT_FRACTION when no flag is given; its help said 0.05 alone for the
    second."""
    plain = " ".join(_help("ingest", 80).split())
    assert "HOTSPOTS_TIMEZONE" in plain and "HOTSPOTS_MAX_REJECT_FRACTION or 0.05" in plain


@pytest.mark.parametrize("command", ["train", "backtest"])
def test_spec_flag_help_names_each_key_and_the_default_without_a_spec(command: str) -> None:
    """``train`` and ``backtest`` work from flags alone, yet their help gave no default for
    --folds, --period, --resolution or --model, --refit-every named no spec key, and six
    flags wrote ``[data.bbox]`` where the others write ``[spec: data.map]``."""
    from hotspots.jobs.spec import BacktestSpec, DataSpec, GridSpec, ModelSpec

    plain = " ".join(_help(command, 400).split())
    grid, backtest = GridSpec(), BacktestSpec()
    distance = DataSpec.model_fields["max_distance_km"].default
    for said in (
        f"[spec: grid.resolution / grid.resolutions; default: {grid.resolution}]",
        f"[spec: grid.period; default: {grid.period}]",
        f"[spec: grid.k_ring; default: {grid.k_ring}]",
        f"[spec: model.kind; default: {ModelSpec().kind}]",
        f"[spec: backtest.folds; default: {backtest.folds}]",
        "Refit every K folds [spec: backtest.refit_every; default: fit once]",
        f"[spec: data.max_distance_km; default: {distance:g}]",
    ):
        assert said in plain, said
    assert backtest.refit_every is None  # "fit once"
    assert "[data." not in plain  # each spec key is written [spec: ...]
