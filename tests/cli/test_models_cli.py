"""``hotspots models list | show | promote | rollback`` on a registry of test models."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hotspots.config import get_settings
from hotspots.features import Panel
from hotspots.forecasters import Forecaster, History, Origin
from hotspots.grid import points_to_cells
from hotspots.registry import Registry

RunCli = Callable[..., Any]  # tests/conftest.py run_cli: returns .code .out .err
BACKTEST = {
    "select_cutoff": "1%",
    "folds": 12,
    "table": [{"model": "cli_double", "hit_rate": 0.41234, "pai": 3.5}],
}


class CliDouble(Forecaster):
    """Forecasts each cell's mean count (state: the means, kept by the base ``cells``)."""

    name = "test_models_cli_double"

    def __init__(self, *, target: tuple[str, ...] | None = None) -> None:
        self.target = target

    def _predict(self, history: History, origin: Origin) -> np.ndarray:
        return np.tile(history.target.mean(axis=0), (len(origin.targets), 1))


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """robbery v1, v2 (current v2) and burglary v1 (never promoted)."""
    cells = np.sort(points_to_cells(np.array([51.50, 51.52]), np.array([-0.12, -0.12]), 8))
    periods = pd.date_range("2024-01-01", periods=3, freq="W-MON")
    counts = np.array([[[1, 0], [2, 1], [0, 3]], [[0, 1], [1, 0], [0, 0]]], dtype=np.int32)
    panel = Panel(counts, cells, periods, ("Robbery", "Burglary"), "W", 8)
    reg = Registry(tmp_path / "models")
    for name, target, promote in [
        ("robbery", "Robbery", True),
        ("robbery", "Robbery", True),
        ("burglary", "Burglary", False),
    ]:
        model = CliDouble(target=(target,)).fit(panel)
        reg.publish(
            name, model, spec={}, data={"sha256": "f00d"}, backtest=BACKTEST, promote=promote
        )
    return reg.root


def _row(out: str, first: str) -> list[str]:
    """The cells of the table row starting with ``first``."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃|").split("│")]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{out}")


def test_list(run_cli: RunCli, models_dir: Path) -> None:
    res = run_cli("models", "list", "--models-dir", models_dir)
    assert res.code == 0, res.err
    assert _row(res.out, "robbery")[:5] == [
        "robbery",
        "v2",
        "v1, v2",
        "test_models_cli_double",
        "Robbery",
    ]
    assert _row(res.out, "burglary")[:3] == ["burglary", "none", "v1"]


def test_list_empty(run_cli: RunCli, tmp_path: Path) -> None:
    res = run_cli("models", "list", "--models-dir", tmp_path / "nothing")
    assert res.code == 0 and res.out == ""
    assert "no models in" in res.err


def test_show_summary_and_backtest(run_cli: RunCli, models_dir: Path) -> None:
    res = run_cli("models", "show", "robbery", "--models-dir", models_dir)
    assert res.code == 0, res.err
    assert "robbery v2 (current)" in res.out
    assert _row(res.out, "kind")[1] == "test_models_cli_double"
    assert _row(res.out, "checksums")[1] == "ok (2 files)"  # cells.npy and the card
    assert _row(res.out, "grid")[1] == "2 cells at H3 resolution 8, period W"
    assert _row(res.out, "last period fitted")[1] == "the week from 2024-01-15"
    assert _row(res.out, "cli_double") == ["cli_double", "0.4123", "3.5"]
    old = run_cli("models", "show", "robbery", "--version", "1", "--models-dir", models_dir)
    assert old.code == 0 and "robbery v1" in old.out and "(current)" not in old.out


def test_show_writes_counts_with_thousands_separators(run_cli: RunCli, tmp_path: Path) -> None:
    lat = 51.0 + 0.02 * np.arange(1241)  # 2 km apart: one resolution-8 cell each
    cells = np.unique(points_to_cells(lat, np.full(lat.size, -0.12), 8))
    periods = pd.date_range("2024-01-01", periods=3, freq="W-MON")
    panel = Panel(np.zeros((1, 3, cells.size), np.int32), cells, periods, ("Robbery",), "W", 8)
    data = {"rows_accepted": 86104, "resolution": 8, "sha256": "f00d"}
    reg = Registry(tmp_path / "models")
    reg.publish("big", CliDouble(target=("Robbery",)).fit(panel), spec={}, data=data, backtest={})
    res = run_cli("models", "show", "big", "--models-dir", reg.root, columns=None)
    assert res.code == 0, res.err
    assert _row(res.out, "grid")[1] == "1,241 cells at H3 resolution 8, period W"
    assert _row(res.out, "data")[1] == "rows_accepted=86,104, resolution=8, sha256=f00d"


def test_show_marks_the_published_model_and_says_why(
    run_cli: RunCli, tmp_path: Path, models_dir: Path
) -> None:
    # Vancouver's van-tfv: kind historical_mean, a table with lightgbm above it, and nothing
    # saying which row was published or why, where train had marked it '*' with the reason
    reason = "lightgbm PAI@1% 13.84 against best baseline historical_mean 14.43: 0.980x < 1"
    backtest = {
        **BACKTEST,
        "selected": "historical_mean",
        "reason": reason,
        "table": [
            {"model": "lightgbm", "hit_rate": 0.1634, "pai": 16.9},
            {"model": "historical_mean", "hit_rate": 0.1733, "pai": 17.92},
        ],
    }
    _publish_one_cell(models_dir, "picked", backtest)
    res = run_cli("models", "show", "picked", "--models-dir", models_dir, columns=None)
    assert res.code == 0, res.err
    assert _row(res.out, "lightgbm") == ["lightgbm", "0.1634", "16.9"]
    assert _row(res.out, "historical_mean *") == ["historical_mean *", "0.1733", "17.92"]
    assert f"* = published (historical_mean): {reason}" in res.out.splitlines()


def test_show_json_prints_the_manifest(run_cli: RunCli, models_dir: Path) -> None:
    res = run_cli("models", "show", "robbery", "-V", "v1", "--json", "--models-dir", models_dir)
    assert res.code == 0, res.err
    assert json.loads(res.out) == Registry(models_dir).manifest("robbery", "v1")


def test_promote_and_rollback(run_cli: RunCli, models_dir: Path) -> None:
    res = run_cli("models", "promote", "robbery", "1", "--models-dir", models_dir)
    assert res.code == 0, res.err
    assert "model 'robbery': current version is now v1 (was v2)" in res.out
    assert Registry(models_dir).current("robbery") == "v1"
    res = run_cli("models", "rollback", "robbery", "--models-dir", models_dir)
    assert res.code == 0 and "rolled back from v1 to v2" in res.out
    res = run_cli("models", "rollback", "robbery", "--models-dir", models_dir)
    assert res.code == 0 and "rolled back from v2 to v1" in res.out
    res = run_cli("models", "rollback", "robbery", "--models-dir", models_dir)
    assert res.code == 2 and len(res.err.strip().splitlines()) == 1
    assert "no earlier promoted version" in res.err
    assert Registry(models_dir).current("robbery") == "v1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "nope"), "error: no model named 'nope'"),
        (("show", "robbery", "--version", "9"), "error: model 'robbery' has no version v9"),
        (("show", "burglary"), "error: model 'burglary' has no current version"),
        (("promote", "nope", "1"), "error: no model named 'nope'"),
        (("rollback", "../etc"), "error: model name '../etc' is not valid"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    run_cli: RunCli, models_dir: Path, args: tuple[str, ...], message: str
) -> None:
    res = run_cli("models", *args, "--models-dir", models_dir)
    assert res.code == 2
    assert res.err.strip().splitlines() == [res.err.strip()]
    assert res.err.startswith(message)
    assert res.out == ""


def test_show_refuses_a_tampered_version(run_cli: RunCli, models_dir: Path) -> None:
    cells = models_dir / "robbery" / "v2" / "arrays" / "cells.npy"
    cells.write_bytes(cells.read_bytes()[:-1] + b"\x00")
    res = run_cli("models", "show", "robbery", "--models-dir", models_dir)
    assert res.code == 2 and res.out == ""
    assert "model 'robbery' v2: arrays/cells.npy sha256 mismatch" in res.err


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_models_dir_defaults_to_the_settings(
    run_cli: RunCli, models_dir: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("HOTSPOTS_MODELS_DIR", str(models_dir))
    res = run_cli("models", "list")
    assert res.code == 0, res.err
    assert _row(res.out, "robbery")[1] == "v2"


def test_show_says_what_the_backtest_figures_are_and_never_cuts_them(
    run_cli: RunCli, tmp_path: Path, models_dir: Path
) -> None:
    wide = {
        "select_cutoff": "1%",
        "folds": 12,
        "table": [
            {
                "model": "historical_mean",
                **{
                    f"{m}{end}": 12.2812
                    for m in ("pai", "pei")
                    for end in ("", "_ci_low", "_ci_high")
                },
                **{f"metric_{i}": 12.2812 for i in range(8)},
            },
        ],
    }
    _publish_one_cell(models_dir, "wide", wide)
    res = run_cli("models", "show", "wide", "--models-dir", models_dir, columns="100")
    assert res.code == 0, res.err
    assert "Backtest: top 1% of cells flagged, means of 12 folds" in res.out
    table = res.out[res.out.index("Backtest:") :]
    assert "…" not in table  # 11 columns in 100: wrapped, a figure never cut to '12.…'
    log = run_cli("models", "show", "wide", "--models-dir", models_dir, columns=None).out
    assert _row(log[log.index("Backtest:") :], "historical_mean")[1:3] == [
        "12.28 [12.28, 12.28]",  # a figure and its interval in one cell, not three
        "12.28 [12.28, 12.28]",
    ]
    first_cells = [line.split("│")[1].strip() for line in table.splitlines() if "│" in line]
    assert "historical_mean" in "".join(first_cells)


def _publish_one_cell(models_dir: Path, name: str, backtest: dict[str, Any]) -> None:
    """Publish ``name``: a one-cell weekly robbery model with ``backtest`` as its record."""
    cells = np.sort(points_to_cells(np.array([51.50]), np.array([-0.12]), 8))
    periods = pd.date_range("2024-01-01", periods=3, freq="W-MON")
    panel = Panel(np.ones((1, 3, 1), dtype=np.int32), cells, periods, ("Robbery",), "W", 8)
    model = CliDouble(target=("Robbery",)).fit(panel)
    Registry(models_dir).publish(name, model, spec={}, data={}, backtest=backtest)
