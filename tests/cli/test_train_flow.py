"""The analyst's path: train from a spec, list the model, forecast a ranked CSV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h3
import pandas as pd
import pytest

from hotspots.registry import Registry
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

RunCli = Any

SPEC = """
name = "year-burglary"
[data]
events = "{events}"
map = "{map}"
timezone = "{tz}"
[target]
categories = ["burglary"]
[grid]
resolution = 8
period = "W"
[model]
kind = "lightgbm"
[model.params]
n_estimators = 25
[backtest]
folds = 3
coverages = [0.05, 0.10]
select_coverage = 0.05
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, year_city_dir: Path) -> dict[str, Path]:
    """A model trained once through the CLI for every test of this module."""
    import sys

    from hotspots.cli import main

    root = tmp_path_factory.mktemp("train")
    spec = root / "spec.toml"
    events = year_city_dir / "events.csv.gz"
    spec.write_text(SPEC.format(events=events, map=COLUMN_MAP, tz=TIMEZONE))
    argv = ["hotspots", "train", str(spec), "--models-dir", str(root / "models")]
    old, sys.argv = sys.argv, argv
    try:
        main()
    finally:
        sys.argv = old
    return {"root": root, "models": root / "models", "events": events, "spec": spec}


def test_train_publishes_a_checked_version(trained: dict[str, Path]) -> None:
    version = trained["models"] / "year-burglary" / "v1"
    assert (version / "manifest.json").is_file()
    assert (version / "MODEL_CARD.md").is_file()
    assert (version / "report.html").is_file() and (version / "report.json").is_file()
    loaded = Registry(trained["models"]).load("year-burglary")  # every checksum verified
    assert {"report.html", "report.json", "MODEL_CARD.md"} <= set(loaded.manifest["artifacts"])
    assert loaded.manifest["data"]["target_categories"] == ["Burglary Residential"]
    assert loaded.manifest["backtest"]["selected"] == loaded.manifest["kind"]
    # 3 folds are too few for the monitor's reference: recorded as none, and the card says so
    assert loaded.manifest["notes"]["feedback_monitor"] == {}
    card = (version / "MODEL_CARD.md").read_text()
    assert "## Feedback-loop monitor\n\nNo training-time reference was recorded" in card


def test_train_output_shows_the_comparison(
    run_cli: RunCli, trained: dict[str, Path], tmp_path: Path
) -> None:
    res = run_cli("train", trained["spec"], "--models-dir", tmp_path, "--name", "again")
    assert res.code == 0, res.err
    for name in ("lightgbm", "last_period", "historical_mean", "rolling_mean", "prospective"):
        assert name in res.out
    assert "selected" in res.err and "published again v1" in res.err
    # each table names the cells its cutoff flags: on a small force 1% is one cell
    assert Registry(trained["models"]).load("year-burglary").manifest["study_cells"] == 769
    assert "top 5% of cells flagged (38 of 769): means of 3 folds" in res.out
    assert "the folds' " in res.err and " events" in res.err  # the measured gain's base


def test_forecast_contract_csv(run_cli: RunCli, trained: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    res = run_cli(
        "forecast", "--model", "year-burglary", "--models-dir", trained["models"],
        "--events", trained["events"], "--map", COLUMN_MAP,
        "--as-of", "2023-11-01..2023-11-20", "--horizon", "2", "--output", out,
    )  # fmt: skip
    assert res.code == 0, res.err
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["as_of", "period_start", "cell", "expected_count", "rank"]
    assert sorted(frame["as_of"].unique()) == ["2023-11-06", "2023-11-13", "2023-11-20"]
    n_cells = frame.groupby(["as_of", "period_start"]).size()
    assert len(n_cells) == 6 and n_cells.nunique() == 1
    first = frame[(frame.as_of == "2023-11-06") & (frame.period_start == "2023-11-06")]
    assert first["rank"].tolist() == list(range(1, len(first) + 1))
    assert first["expected_count"].is_monotonic_decreasing
    assert all(h3.is_valid_cell(c) and h3.get_resolution(c) == 8 for c in first["cell"])
    assert (frame["expected_count"] >= 0).all() and frame["expected_count"].sum() > 0


def test_forecast_reads_the_ingest_parquet_the_same(
    run_cli: RunCli, trained: dict[str, Path], tmp_path: Path
) -> None:
    table = tmp_path / "events.parquet"
    res = run_cli(
        "ingest", trained["events"], "--map", COLUMN_MAP, "--tz", TIMEZONE, "--out", table
    )
    assert res.code == 0, res.err
    outs = []
    for source, extra in ((trained["events"], ["--map", COLUMN_MAP]), (table, [])):
        out = tmp_path / f"f_{len(outs)}.parquet"
        res = run_cli(
            "forecast", "--model", "year-burglary", "--models-dir", trained["models"],
            "--events", source, *extra, "--as-of", "2023-10-04", "--output", out,
        )  # fmt: skip
        assert res.code == 0, res.err
        outs.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(outs[0], outs[1])
    assert outs[0]["period_start"].unique().tolist() == [pd.Timestamp("2023-10-09")]


def test_forecast_unknown_model_is_one_line(
    run_cli: RunCli, trained: dict[str, Path], tmp_path: Path
) -> None:
    res = run_cli(
        "forecast", "--model", "nope", "--models-dir", trained["models"],
        "--events", trained["events"], "--as-of", "2023-10-02", "--output", tmp_path / "x.csv",
    )  # fmt: skip
    assert res.code == 2
    assert "nope" in res.err and len(res.err.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_forecast_beyond_a_year_is_one_line_before_the_events_are_read(
    run_cli: RunCli, trained: dict[str, Path], tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"x{suffix}"
    res = run_cli(
        "forecast", "--model", "year-burglary", "--models-dir", trained["models"],
        "--events", tmp_path / "not-read.csv", "--horizon", "53", "--output", out,
    )  # fmt: skip
    assert res.code == 2, res.err
    assert res.err.strip() == (
        "error: --horizon 53: must be between 1 and 52 (a 'W' model forecasts at most 52 "
        "periods, a year, ahead)"
    )
    assert not out.exists()


def test_backtest_writes_the_report_and_publishes_nothing(
    run_cli: RunCli, trained: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "report"
    res = run_cli("backtest", trained["spec"], "--out", out, "--folds", "2")
    assert res.code == 0, res.err
    report = json.loads((out / "report.json").read_text())
    assert len(report["result"]["folds"]) == 2
    html = (out / "report.html").read_text()
    assert html.count("<img") >= 4 and "lightgbm" in html
    assert "2 folds" in res.out and "selected" in res.err
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("change", ["rename", "move"])
def test_forecast_refuses_events_that_do_not_fit_the_model(
    run_cli: RunCli,
    trained: dict[str, Path],
    tmp_path: Path,
    year_city_events: pd.DataFrame,
    change: str,
) -> None:
    from hotspots.ingest import write_events

    events = year_city_events
    if change == "rename":  # the export's target type was renamed
        events = events.assign(category=events["category"].str.replace("Burglary", "Burgl."))
    else:  # another city's events
        events = events.assign(lat=events["lat"] + 5.0)
    source = tmp_path / "other.parquet"
    write_events(events, source, {"timezone": TIMEZONE})
    out = tmp_path / "f.csv"
    res = run_cli(
        "forecast", "--model", "year-burglary", "--models-dir", trained["models"],
        "--events", source, "--as-of", "2023-10-02", "--output", out,
    )  # fmt: skip
    assert res.code == 2, res.err
    [line] = res.err.strip().splitlines()
    assert line.startswith("error: ")
    assert ("target category" if change == "rename" else "study area") in line
    assert not out.exists()
