"""``forecast_blocks_ahead``: every horizon's blocks from one fit per origin, exactly the
blocks ``forecast_block_ahead`` gives horizon by horizon (and ``forecast_block`` gives the
next period), for every baseline the realised effectiveness scores."""

from __future__ import annotations

import numpy as np

from hotspots.evaluation import Fold
from hotspots.evaluation.blocks import (
    fit_blocks,
    forecast_block,
    forecast_block_ahead,
    forecast_blocks_ahead,
)
from hotspots.features import Panel
from hotspots.forecasters import make_forecaster
from hotspots.jobs.spec import BASELINES

TARGET = ("Burglary Residential",)


def served_folds(panel: Panel) -> dict[int, list[Fold]]:
    """Six weekly origins served 1-4 periods ahead, the later periods of the last origins
    beyond the panel left out (as pending periods are)."""
    origins = panel.periods[40:46]
    last = len(panel.periods) - 1
    return {
        h: [
            Fold(panel.periods[i + h - 1], origin)
            for i, origin in zip(range(40, 46), origins, strict=True)
            if i + h - 1 <= last
        ]
        for h in (1, 2, 3, 4)
    }


def test_one_fit_per_origin_gives_each_horizons_blocks_exactly(year_panel: Panel) -> None:
    models = {b: make_forecaster(b, target=TARGET) for b in BASELINES}
    folds = served_folds(year_panel)
    shared = forecast_blocks_ahead(models, year_panel, folds)
    assert sorted(shared) == [1, 2, 3, 4]
    for h, group in folds.items():
        plan = fit_blocks(models, group)
        one_by_one = [forecast_block_ahead(b, models[b.name], year_panel, group) for b in plan]
        assert len(shared[h]) == len(plan) == len(models) * len(group)
        for block, got, want in zip(plan, shared[h], one_by_one, strict=True):
            np.testing.assert_array_equal(got.expected, want.expected, err_msg=block.name)
            assert got.fitted.fit_end_ == want.fitted.fit_end_
        if h == 1:  # the next period: what the backtest's own fits forecast
            nxt = [forecast_block(b, models[b.name], year_panel, group) for b in plan]
            for got, want in zip(shared[h], nxt, strict=True):
                np.testing.assert_array_equal(got.expected, want.expected)
    # something is forecast (an all-zero panel would make the comparison empty)
    assert all(b.expected.sum() > 0 for b in shared[1])
