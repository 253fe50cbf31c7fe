"""Evaluation: rolling-origin folds, backtests, hotspot metrics, reports and plots."""

from hotspots.evaluation.backtest import CURVE_COVERAGES, backtest
from hotspots.evaluation.blocks import BlockForecast, FitBlock, fit_blocks, forecast_block
from hotspots.evaluation.compare import FlagChanges, flag_changes
from hotspots.evaluation.folds import Fold, rolling_origin_folds
from hotspots.evaluation.metrics import (
    Calibration,
    Cutoff,
    CutoffScores,
    bootstrap_ci,
    calibration_table,
    flagged_count,
    hit_rate,
    mean_ratio_win_share,
    pai,
    paired_ratio_ci,
    paired_win_share,
    pei,
    poisson_deviance,
    rank_cells,
    ratio_or_bound,
    score_ranking,
)
from hotspots.evaluation.plans import plan_summary, score_plans
from hotspots.evaluation.references import (
    ORACLE,
    REFERENCE_KIND,
    oracle_reference,
    read_truth,
    truth_to_reference,
)
from hotspots.evaluation.report import ReportText, render_report, write_report, write_report_text
from hotspots.evaluation.result import METRICS, BacktestResult, LastFold

__all__ = [
    "BlockForecast",
    "FitBlock",
    "fit_blocks",
    "forecast_block",
    "CURVE_COVERAGES",
    "METRICS",
    "ORACLE",
    "REFERENCE_KIND",
    "BacktestResult",
    "Calibration",
    "Cutoff",
    "CutoffScores",
    "FlagChanges",
    "Fold",
    "LastFold",
    "backtest",
    "bootstrap_ci",
    "calibration_table",
    "flag_changes",
    "flagged_count",
    "hit_rate",
    "oracle_reference",
    "pai",
    "mean_ratio_win_share",
    "paired_ratio_ci",
    "paired_win_share",
    "ratio_or_bound",
    "pei",
    "poisson_deviance",
    "rank_cells",
    "read_truth",
    "rolling_origin_folds",
    "score_ranking",
    "truth_to_reference",
    "plan_summary",
    "score_plans",
    "ReportText",
    "render_report",
    "write_report",
    "write_report_text",
]
