"""``hotspots forecast --horizon``: a horizon out of range is refused naming the flag and value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.registry import Registry
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

RunCli = Any


@pytest.fixture(scope="module")
def weekly_models(tmp_path_factory: pytest.TempPathFactory, year_panel: Panel) -> Path:
    root = tmp_path_factory.mktemp("horizon_models")
    model = make_forecaster("historical_mean", target=("Robbery",)).fit(year_panel, "2023-10-30")
    Registry(root).publish("rob", model, spec={}, data={}, backtest={})
    return root


WEEKLY = "must be between 1 and 52 (a 'W' model forecasts at most 52 periods, a year, ahead)"


@pytest.mark.parametrize("horizon", ["0", "-3", "53"])
def test_a_horizon_out_of_range_names_the_flag_and_the_value(
    run_cli: RunCli,
    weekly_models: Path,
    year_city_dir: Path,
    tmp_path: Path,
    horizon: str,
) -> None:
    out = tmp_path / "f.csv"
    res = run_cli(
        "forecast", "--model", "rob", "--models-dir", weekly_models, "--events",
        year_city_dir / "events.csv.gz", "--map", COLUMN_MAP, "--tz", TIMEZONE,
        "--as-of", "2023-11-06", "--horizon", horizon, "--output", out,
    )  # fmt: skip
    assert res.code == 2
    assert res.err.strip().splitlines() == [f"error: --horizon {horizon}: {WEEKLY}"], res.err
    assert not out.exists()
