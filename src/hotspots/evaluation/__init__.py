"""Evaluation: rolling-origin folds, backtests, hotspot metrics, reports and plots."""

from hotspots.evaluation.backtest import CURVE_COVERAGES, backtest
from hotspots.evaluation.folds import Fold, rolling_origin_folds
from hotspots.evaluation.metrics import (
    Calibration,
    Cutoff,
    CutoffScores,
    bootstrap_ci,
    calibration_table,
    flagged_count,
    hit_rate,
    pai,
    paired_ratio_ci,
    paired_win_share,
    pei,
    poisson_deviance,
    rank_cells,
    score_ranking,
)
from hotspots.evaluation.report import write_report
from hotspots.evaluation.result import METRICS, BacktestResult, LastFold

__all__ = [
    "CURVE_COVERAGES",
    "METRICS",
    "BacktestResult",
    "Calibration",
    "Cutoff",
    "CutoffScores",
    "Fold",
    "LastFold",
    "backtest",
    "bootstrap_ci",
    "calibration_table",
    "flagged_count",
    "hit_rate",
    "pai",
    "paired_ratio_ci",
    "paired_win_share",
    "pei",
    "poisson_deviance",
    "rank_cells",
    "rolling_origin_folds",
    "score_ranking",
    "write_report",
]
