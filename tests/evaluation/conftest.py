"""Fixtures for the evaluation tests: a tiny hand-made panel and two backtest results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from eval_doubles import (
    ConstantForecaster,
    CountingForecaster,
    MeanForecaster,
    OracleForecaster,
    UniformForecaster,
)

from hotspots.evaluation import BacktestResult, backtest, rolling_origin_folds
from hotspots.features import Panel
from hotspots.grid import grid_disk_cells, points_to_cells


@pytest.fixture
def counting() -> type[CountingForecaster]:
    """The counting double with an empty fit log."""
    CountingForecaster.fits.clear()
    return CountingForecaster


# Period 4 (2024-01-29) of the tiny panel: A + B = [3, 1, 1, 0, 0, 2, 0], 7 events.
# Period 5 (2024-02-05) has no events at all.
TINY_A = np.array(
    [
        [1, 0, 0, 0, 0, 0, 1],
        [0, 2, 0, 0, 1, 0, 0],
        [1, 1, 0, 0, 0, 0, 0],
        [0, 0, 3, 0, 0, 0, 0],
        [3, 0, 1, 0, 0, 2, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ],
    dtype=np.int32,
)
TINY_B = np.zeros_like(TINY_A)
TINY_B[4, 1] = 1
TINY_B[0, 3] = 2


@pytest.fixture(scope="session")
def tiny_panel() -> Panel:
    """Six weeks from 2024-01-01 on seven real resolution-8 cells, categories A and B."""
    centre = points_to_cells([41.88], [-87.63], 8)
    cells = grid_disk_cells(centre, 1)
    periods = pd.date_range("2024-01-01", periods=6, freq="W-MON")
    return Panel(np.stack([TINY_A, TINY_B]), cells, periods, ("A", "B"), "W", 8)


@pytest.fixture(scope="session")
def tiny_result(tiny_panel: Panel) -> BacktestResult:
    """Oracle and constant models on the last two weeks of the tiny panel (one fit each)."""
    models = {
        "oracle": OracleForecaster(truth=tiny_panel),
        "constant": ConstantForecaster(),
    }
    folds = rolling_origin_folds(tiny_panel.periods, 2)
    return backtest(models, tiny_panel, folds, coverages=(0.5,), budgets=(2,))


@pytest.fixture(scope="session")
def year_result(year_panel: Panel) -> BacktestResult:
    """Oracle, uniform and history-mean models over the last 12 weeks of the year city."""
    models = {
        "oracle": OracleForecaster(truth=year_panel),
        "uniform": UniformForecaster(seed=3),
        "mean": MeanForecaster(),
    }
    folds = rolling_origin_folds(year_panel.periods, 12, refit_every=4, min_train_periods=8)
    return backtest(models, year_panel, folds, budgets=(50,), seed=5)
