"""Shared fixtures: a small seeded synthetic city, its files, and the CLI run in-process."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from hotspots.cli import main
from hotspots.features import Panel, events_to_panel
from hotspots.ingest import IngestOptions, ingest_file
from hotspots.ingest.mapping import ColumnMap
from hotspots.synthetic import COLUMN_MAP, TIMEZONE, City, generate_city, write_city


@pytest.fixture(scope="session")
def small_city() -> City:
    """Synthetica over 60 days with about 4,000 events (well under a second to build)."""
    return generate_city(seed=7, start="2023-01-01", days=60, target_events=4_000)


@pytest.fixture(scope="session")
def small_city_dir(small_city: City, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small city written as ``hotspots demo-data`` writes it."""
    out = tmp_path_factory.mktemp("city")
    write_city(small_city, out)
    return out


@pytest.fixture(scope="session")
def year_city_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A year of Synthetica (about 12,000 events from Monday 2023-01-02), as files."""
    city = generate_city(seed=11, start="2023-01-02", days=364, target_events=12_000)
    out = tmp_path_factory.mktemp("year_city")
    write_city(city, out)
    return out


@pytest.fixture(scope="session")
def year_city_events(year_city_dir: Path) -> pd.DataFrame:
    """The year city's events, ingested as a user would ingest them."""
    options = IngestOptions(column_map=ColumnMap.parse(COLUMN_MAP), timezone=TIMEZONE)
    return ingest_file(year_city_dir / "events.csv.gz", options).events


@pytest.fixture(scope="session")
def year_panel(year_city_events: pd.DataFrame) -> Panel:
    """The year city as a weekly resolution-8 panel: 52 weeks, five categories."""
    return events_to_panel(year_city_events, 8, "W")


@dataclass
class CliResult:
    """Exit status and captured output of one in-process CLI run."""

    code: int
    out: str
    err: str


RunCli = Callable[..., CliResult]


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run ``hotspots ARGS...`` in this process and return its exit code and output
    (``columns``: the terminal width it sees; None for none, as in a log)."""

    def run(*args: str | Path, columns: str | None = "200") -> CliResult:
        monkeypatch.setattr(sys, "argv", ["hotspots", *map(str, args)])
        if columns is None:  # as in a log: no terminal width at all
            monkeypatch.delenv("COLUMNS", raising=False)
        else:
            monkeypatch.setenv("COLUMNS", columns)
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
