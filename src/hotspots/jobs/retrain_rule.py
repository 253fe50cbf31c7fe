"""Champion against challenger: the rule ``hotspots retrain`` promotes by.

The champion is the registry's current version as it is deployed: fitted once, never refitted,
it forecasts each recent fold from the panel's history before it (as the service would have).
The challenger is the spec's model (or a challenger kind that beats it) refitted, fold by fold,
as the training backtest fits it. Both, and every baseline, are scored by the one backtest
(``evaluation.backtest``) on the same recent folds: the periods after the champion's fit,
which neither saw in training. The champion enters it as a reference (scored like a model,
never fitted).

The rule: promote when the challenger's mean PAI at the spec's selection coverage over those
folds is at least the champion's and at least the best baseline's. How sure that is: the
share of bootstrap resamples of the folds in which the challenger is ahead of each
(``paired_win_share``, as ``hotspots train`` says of its choice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.evaluation import BacktestResult, Fold, paired_win_share
from hotspots.features import Panel
from hotspots.forecasters import Forecaster
from hotspots.jobs.spec import TrainingSpec
from hotspots.jobs.train import coverage_label

CHAMPION = "champion"
"""The champion's name in the retrain backtest (a reference, so never a model's name)."""

RULE = (
    "promote when the challenger's mean PAI@{cutoff} over the recent folds (the periods after "
    "the champion's fit) is >= the champion's and >= the best baseline's"
)


def champion_forecasts(
    champion: Forecaster, panel: Panel, folds: Sequence[Fold]
) -> npt.NDArray[np.float64]:
    """The deployed champion's lead-1 forecast of each fold (rows in fold order) on
    ``panel.cells``; a panel cell the champion does not cover is forecast 0."""
    if champion.freq_ != panel.freq or champion.resolution_ != panel.resolution:
        raise ConfigError(
            f"the current model forecasts '{champion.freq_}' periods at H3 resolution "
            f"{champion.resolution_}; the spec's grid is '{panel.freq}' at "
            f"{panel.resolution}: retrain compares like with like, so train this spec with "
            "`hotspots train` instead"
        )
    out = np.zeros((len(folds), panel.cells.size), dtype=np.float64)
    for i, fold in enumerate(folds):
        frame = champion.predict(panel, fold.as_of, horizon=1)
        pos = pd.Index(panel.cells).get_indexer(pd.Index(frame["cell"].to_numpy(np.uint64)))
        ok = pos >= 0
        out[i, pos[ok]] = frame["expected_count"].to_numpy(np.float64)[ok]
    return out


@dataclass(frozen=True)
class Verdict:
    """The rule's answer: promote ``challenger`` or not, and why in one sentence."""

    promote: bool
    challenger: str
    reason: str
    cutoff: str
    scores: dict[str, float]
    best_baseline: str | None
    win_vs_champion: float | None
    win_vs_baseline: float | None


def decide(result: BacktestResult, spec: TrainingSpec, champion_label: str) -> Verdict:
    """Apply the rule (module docstring) to a backtest holding the spec's models and the
    ``CHAMPION`` reference; ``champion_label`` names it in the reason (e.g. ``"v3"``)."""
    cutoff = coverage_label(spec.backtest.select_coverage)
    pai = result.table(cutoff, references=True)["pai"]
    scores = {str(k): float(v) for k, v in pai.items() if pd.notna(v)}
    learned = [k for k in (spec.model.kind, *spec.model.challengers) if k in result.models]
    best_learned = max(learned, key=lambda k: (scores.get(k, float("-inf")), k == learned[0]))
    baselines = {k: v for k, v in scores.items() if k not in learned and k != CHAMPION}
    best = max(baselines, key=lambda k: (baselines[k], k)) if baselines else None
    seed = spec.backtest.seed
    vs_champion = _win_share(result, best_learned, CHAMPION, cutoff, seed)
    vs_baseline = None if best is None else _win_share(result, best_learned, best, cutoff, seed)
    mine, theirs = scores.get(best_learned), scores.get(CHAMPION)
    floor = baselines[best] if best is not None else float("-inf")
    promote = mine is not None and theirs is not None and mine >= theirs and mine >= floor
    span = _span(result.folds)
    champ = f"champion {champion_label}"
    if mine is None or theirs is None:
        why = f"no target event in the {span}: nothing to tell {best_learned} and {champ} apart"
        return Verdict(False, best_learned, why, cutoff, scores, best, None, None)
    parts = [
        f"{best_learned} PAI@{cutoff} {mine:.2f} {'>=' if mine >= theirs else '<'} {champ} "
        f"{theirs:.2f}{_sure(vs_champion)}"
    ]
    if best is not None:
        op = ">=" if mine >= floor else "<"
        parts.append(f"{op} best baseline {best} {floor:.2f}{_sure(vs_baseline)}")
    verdict = "promoted" if promote else f"not promoted, {champ} stays current"
    reason = f"{' and '.join(parts)} over the {span}: {verdict}"
    return Verdict(promote, best_learned, reason, cutoff, scores, best, vs_champion, vs_baseline)


def _span(folds: Sequence[Fold]) -> str:
    first, last = folds[0].as_of.date(), folds[-1].as_of.date()
    return f"{len(folds)} fold{'s' if len(folds) != 1 else ''} {first}..{last}"


def _sure(share: float | None) -> str:
    return "" if share is None else f" (ahead in {share:.0%} of fold resamples)"


def _win_share(result: BacktestResult, a: str, b: str, cutoff: str, seed: int) -> float | None:
    """``paired_win_share`` of ``a``'s PAI per fold over ``b``'s (None: no fold scored)."""
    rows = result.per_fold[result.per_fold["cutoff"] == cutoff]
    wide = rows.pivot(index="as_of", columns="model", values="pai")
    if a not in wide or b not in wide:
        return None
    share = paired_win_share(wide[a], wide[b], seed=seed)
    return None if pd.isna(share) else float(share)
