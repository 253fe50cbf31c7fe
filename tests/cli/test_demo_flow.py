"""The demo path a new user takes: demo-data, then ingest with a panel."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hotspots.features import Panel
from hotspots.ingest import read_events
from hotspots.synthetic import City

RunCli = Callable[..., Any]  # tests/conftest.py run_cli: returns .code .out .err


def test_demo_data_then_ingest_reports_every_defect(
    run_cli: RunCli, tmp_path: Path, small_city: City
) -> None:
    city_dir = tmp_path / "city"
    res = run_cli("demo-data", "--out", city_dir, "--seed", "7", "--days", "60", "--events", "4000")
    assert res.code == 0, res.err
    info = json.loads((city_dir / "city.json").read_text())
    helped = " ".join(run_cli("demo-data", "--help").out.split())
    assert all(f.name in helped for f in city_dir.iterdir()), helped  # its help names each file
    out, panel_path = tmp_path / "events.parquet", tmp_path / "panel.parquet"
    res = run_cli(
        "ingest",
        city_dir / "events.csv.gz",
        "--map",
        info["column_map"],
        "--tz",
        info["timezone"],
        "--boundary",
        city_dir / "boundary.geojson",
        "--out",
        out,
        "--panel",
        panel_path,
        "--resolution",
        "9",
        "--period",
        "W",
    )
    assert res.code == 0, res.err
    report = json.loads((tmp_path / "events.report.json").read_text())
    # the CLI's city is the fixture's city (same seed and size): every defect is caught
    assert report["rejected"] == {k: v for k, v in small_city.defects.items() if v}
    n_drugs = int((small_city.events["offence"] == "Drugs").sum())
    assert report["excluded_by_policy"] == {"Drugs": n_drugs}
    events, meta = read_events(out)
    assert len(events) == len(small_city.events) - n_drugs
    assert meta["timezone"] == "America/Chicago"
    panel = Panel.from_parquet(panel_path)
    assert panel.freq == "W" and panel.resolution == 9
    assert int(panel.counts.sum()) == len(events)  # every accepted event in the panel
    assert np.array_equal(panel.cells, np.unique(panel.cells))
    assert "wrote the panel" in res.err


def test_month_precision_into_weekly_panel_fails_before_writing(
    run_cli: RunCli, tmp_path: Path
) -> None:
    src = tmp_path / "m.csv"
    src.write_text("Month,Latitude,Longitude,Crime type\n2022-03,51.5,-0.1,Burglary\n")
    out = tmp_path / "ev.parquet"
    res = run_cli(
        "ingest",
        src,
        "--preset",
        "police-uk",
        "--out",
        out,
        "--panel",
        tmp_path / "p.parquet",
        "--period",
        "W",
    )
    assert res.code == 2
    assert (
        "1 event has month precision: its date is the first of a month (1 event over 1 month, "
        "2022-03), read as months, or a month alone (as data.police.uk writes them: 2021-03); "
        "it cannot go into a weekly panel without inventing days: count it in monthly "
        "periods (--period M; a spec's grid.period)"
    ) in res.err.replace("\n", " ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv"]


def test_help_explains_flags_with_examples(run_cli: RunCli) -> None:
    res = run_cli("ingest", "--help")
    assert res.code == 0
    for words in (
        "--map",
        "--preset",
        "police-uk",
        "--max-reject-fraction",
        "Examples",
        "--include-discretionary",
        "--panel",
    ):
        assert words in res.out
    top = run_cli("--help")
    assert "ingest" in top.out and "demo-data" in top.out


def test_demo_data_says_its_new_folder_after_simulating_and_before_writing(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hotspots.cli.data_cmds as data_cmds
    import hotspots.synthetic as synthetic

    steps: list[str] = []

    def step(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            steps.append(name)
            return fn(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(synthetic, "generate_city", step("simulate", synthetic.generate_city))
    monkeypatch.setattr(synthetic, "write_city", step("write", synthetic.write_city))
    monkeypatch.setattr(data_cmds, "print_created", step("say", data_cmds.print_created))
    out = tmp_path / "new"
    res = run_cli("demo-data", "--out", out, "--days", "30", "--events", "2000")
    assert res.code == 0, res.err
    assert steps == ["simulate", "say", "write"]
    assert f"created folder {out} (it did not exist)" in res.err.splitlines()
