"""The rule that weighs several coverages, written once.

A model's mean PAI over a rival's, each coverage against its own rival (e.g. the best
baseline at that coverage), averaged over ``select_coverages``: at least 1 wins. How sure:
the share of fold resamples in which that mean stays above 1 (``mean_ratio_win_share``).
``hotspots train`` publishes by it (``train.select_model``) and ``hotspots retrain`` promotes
by it (``retrain_rule.decide``); ``select_also = []`` weighs ``select_coverage`` alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.evaluation import BacktestResult, mean_ratio_win_share, ratio_or_bound
from hotspots.jobs.spec import TrainingSpec

Rivals = Mapping[str, str]
"""The rival a model is weighed against at each cutoff label (``{"1%": "kde", ...}``)."""


def coverage_label(coverage: float) -> str:
    """The cutoff label the evaluation uses for an area coverage, e.g. ``"1%"``."""
    return f"{coverage * 100:g}%"


def select_coverages(spec: TrainingSpec) -> tuple[float, ...]:
    """The coverages the rule weighs: ``select_coverage``, then ``select_also``."""
    first = spec.backtest.select_coverage
    return (first, *dict.fromkeys(c for c in spec.backtest.select_also if c != first))


def select_labels(result: BacktestResult, spec: TrainingSpec) -> list[str]:
    """The cutoff labels of ``select_coverages``; ConfigError naming one not backtested."""
    scored = {c.label for c in result.cutoffs}
    labels = []
    for key, coverage in (
        ("select_coverage", spec.backtest.select_coverage),
        *(("select_also", c) for c in select_coverages(spec)[1:]),
    ):
        if (label := coverage_label(coverage)) not in scored:
            raise ConfigError(
                f"{key} {coverage} is not one of the backtest coverages "
                f"{list(spec.backtest.coverages)}"
            )
        labels.append(label)
    return labels


def best_rivals(
    tables: Mapping[str, pd.Series], exclude: Iterable[str], otherwise: str
) -> dict[str, str]:
    """The model with the highest mean PAI at each cutoff, leaving ``exclude`` out (the
    learned models, a champion): the best baseline there, or ``otherwise`` if none scored."""
    left_out = set(exclude)
    out = {}
    for label, pai in tables.items():
        rivals = {str(k): float(v) for k, v in pai.items() if pd.notna(v) and k not in left_out}
        out[label] = max(rivals, key=lambda k: (rivals[k], k)) if rivals else otherwise
    return out


def mean_ratio(tables: Mapping[str, pd.Series], rivals: Rivals, model: str) -> float:
    """``model``'s mean PAI over its rival's, averaged over the cutoffs of ``rivals`` (NaN
    when either was not scored at one of them)."""
    ratios: list[float] = []
    for label, rival in rivals.items():
        mine, theirs = tables[label].get(model, np.nan), tables[label].get(rival, np.nan)
        ratios.append(np.nan if pd.isna(theirs) else float(ratio_or_bound(mine, theirs)))
    return float(np.mean(ratios))


def ratio_win_share(result: BacktestResult, model: str, rivals: Rivals, seed: int) -> float | None:
    """``mean_ratio_win_share`` of ``model``'s PAI per fold over its rival's at each cutoff
    (None: one of them was not scored, or no fold had events)."""
    per_fold = result.per_fold
    if not {model, *rivals.values()} <= set(per_fold["model"]):
        return None
    pairs = []
    for label, rival in rivals.items():
        rows = per_fold[per_fold["cutoff"] == label].pivot(
            index="as_of", columns="model", values="pai"
        )
        pairs.append((rows[model], rows[rival]))
    share = mean_ratio_win_share(pairs, seed=seed)
    return None if pd.isna(share) else share


def or_low(value: float) -> float:
    """``value``, or minus infinity for NaN (so an unscored model never wins a ``max``)."""
    return float("-inf") if np.isnan(value) else value
