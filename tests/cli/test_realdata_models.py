"""Real data through the analyst's two commands: train from flags alone, then forecast.

Greater Manchester burglary (data.police.uk, monthly) is small enough to train in seconds.
The folder is absent on a user's fresh clone, so these skip there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hotspots.ingest import ColumnMap, IngestOptions, ingest_file

RunCli = Any
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GMP = DATA / "gmp_burglary_policeuk" / "gmp_burglary_2016-02_2019-01.csv.gz"
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"real data folder {DATA} is absent"),
]


@pytest.fixture(scope="module")
def gmp_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GMP burglary model trained with flags only (no spec), in its own registry."""
    import sys

    from hotspots.cli import main

    models = tmp_path_factory.mktemp("gmp") / "models"
    argv = [
        "hotspots", "train", "--events", str(GMP), "--preset", "police-uk",
        "--map", "category=Crime.type", "--category", "burglary", "--resolution", "8",
        "--period", "M", "--until", "2019-01-01", "--folds", "6", "--name", "gmp",
        "--models-dir", str(models),
    ]  # fmt: skip
    old, sys.argv = sys.argv, argv
    try:
        main()
    finally:
        sys.argv = old
    return models


def test_trained_on_the_real_export(gmp_model: Path) -> None:
    manifest = json.loads((gmp_model / "gmp" / "v1" / "manifest.json").read_text())
    data = manifest["data"]
    assert data["rows_read"] == 92_666 and data["rows_accepted"] == 92_666
    assert data["training_until"].startswith("2019-01-01") and data["freq"] == "M"
    assert data["periods"] == 35  # 2016-02 .. 2018-12
    table = {row["model"]: row for row in manifest["backtest"]["table"]}
    assert set(table) == {
        "lightgbm", "last_period", "historical_mean", "rolling_mean", "prospective", "kde",
    }  # fmt: skip
    pai = {name: row["pai"] for name, row in table.items()}
    assert all(v > 3 for v in pai.values())  # every map is far better than chance (1)
    assert pai["lightgbm"] > pai["last_period"] and pai["lightgbm"] > pai["prospective"]
    # the choice is made on the 6 months before the 6 reported ones, by the same rule
    record = manifest["backtest"]
    assert record["select_basis"] == "selection" and record["select_folds"] == 6
    scores = record["scores"]
    assert set(scores) == set(table) and scores != pai
    best_baseline = max((n for n in scores if n != "lightgbm"), key=lambda n: scores[n])
    expected = "lightgbm" if scores["lightgbm"] >= scores[best_baseline] else best_baseline
    assert record["selected"] == expected == manifest["kind"]
    assert 0.0 <= record["select_win_share"] <= 1.0


def test_forecast_ranks_the_long_run_hotspots_first(
    run_cli: RunCli, gmp_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "f.csv"
    res = run_cli(
        "forecast", "--model", "gmp", "--models-dir", gmp_model, "--events", GMP,
        "--as-of", "2019-01-01", "--output", out,
    )  # fmt: skip
    assert res.code == 0, res.err
    frame = pd.read_csv(out)
    assert frame["period_start"].unique().tolist() == ["2019-01-01"]
    options = IngestOptions(preset="police-uk", column_map=ColumnMap.parse("category=Crime.type"))
    events = ingest_file(GMP, options).events
    from hotspots.grid import cells_to_strings, points_to_cells

    cells = cells_to_strings(points_to_cells(events["lat"], events["lng"], 8))
    before = events["occurred_at"].dt.tz_localize(None) < pd.Timestamp("2019-01-01")
    busiest = pd.Series(cells[before.to_numpy()]).value_counts().index[:50]
    top = frame.nsmallest(50, "rank")["cell"]
    assert len(set(top) & set(busiest)) >= 25  # the forecast's top 50 mostly long-run hotspots
    actual = pd.Series(cells[~before.to_numpy()]).value_counts()
    caught = actual.reindex(top).fillna(0).sum() / actual.sum()
    assert caught > 0.15  # the top 50 of 1,500+ cells (~3%) catch >15% of January's burglaries
