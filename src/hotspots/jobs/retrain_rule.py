"""Champion against challenger: the rule ``hotspots retrain`` promotes by.

The champion is the registry's current version as it is deployed: fitted once, never refitted,
it forecasts each recent fold from the panel's history before it (as the service would have).
The challenger is the spec's model (or a challenger kind that beats it) refitted, fold by fold,
as the training backtest fits it. Both, and every baseline, are scored by the one backtest
(``evaluation.backtest``) on the same recent folds: the periods after the champion's fit,
which neither saw in training. The champion enters it as a reference (scored like a model,
never fitted).

The rule is ``hotspots train``'s (``select_rule``), weighed twice: promote when the
challenger's mean PAI over the champion's, and over the best baseline's (the best at each
coverage), averaged over ``select_coverage`` and ``select_also``, is at least 1 for both. With
one coverage (``select_also = []``) that is: at least the champion's and the best baseline's
mean PAI there. How sure: the share of bootstrap resamples of the folds in which each mean
stays above 1 (``mean_ratio_win_share``, as ``hotspots train`` says of its choice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.evaluation import BacktestResult, Fold
from hotspots.features import Panel
from hotspots.forecasters import Forecaster
from hotspots.jobs.select_rule import (
    Rivals,
    best_rivals,
    mean_ratio,
    or_low,
    ratio_win_share,
    select_labels,
)
from hotspots.jobs.spec import TrainingSpec

CHAMPION = "champion"
"""The champion's name in the retrain backtest (a reference, so never a model's name)."""


def rule(labels: Sequence[str]) -> str:
    """The rule in words, for the coverages it weighs (``Verdict.labels``)."""
    if len(labels) == 1:
        return (
            f"promote when the challenger's mean PAI@{labels[0]} over the recent folds (the "
            "periods after the champion's fit) is >= the champion's and >= the best baseline's"
        )
    return (
        "promote when the challenger's mean PAI over the champion's, and over the best "
        f"baseline's (the best at each coverage), averaged over {', '.join(labels)} on the "
        "recent folds (the periods after the champion's fit), is >= 1 for both"
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
    """The rule's answer: promote ``challenger`` or not, and why in one sentence.

    ``cutoff``, ``scores`` and ``best_baseline`` are at ``select_coverage``; ``pai`` holds the
    mean PAI of every model at each coverage weighed (``labels``), ``rivals`` the best
    baseline at each, ``ratio_vs_*`` the challenger's mean ratios the rule compares with 1."""

    promote: bool
    challenger: str
    reason: str
    cutoff: str
    scores: dict[str, float]
    best_baseline: str | None
    win_vs_champion: float | None
    win_vs_baseline: float | None
    labels: tuple[str, ...] = ()
    pai: dict[str, dict[str, float]] = field(default_factory=dict)
    rivals: dict[str, str] = field(default_factory=dict)
    ratio_vs_champion: float | None = None
    ratio_vs_baseline: float | None = None


def decide(result: BacktestResult, spec: TrainingSpec, champion_label: str) -> Verdict:
    """Apply the rule (module docstring) to a backtest holding the spec's models and the
    ``CHAMPION`` reference; ``champion_label`` names it in the reason (e.g. ``"v3"``)."""
    labels = select_labels(result, spec)
    tables = {label: result.table(label, references=True)["pai"] for label in labels}
    pai = {k: {str(m): float(v) for m, v in t.items() if pd.notna(v)} for k, t in tables.items()}
    cutoff, scores = labels[0], pai[labels[0]]
    learned = [k for k in (spec.model.kind, *spec.model.challengers) if k in result.models]
    baselines = [k for k in scores if k not in learned and k != CHAMPION]
    best = max(baselines, key=lambda k: (scores[k], k)) if baselines else None
    vs_champion = dict.fromkeys(labels, CHAMPION)
    vs_best = best_rivals(tables, [*learned, CHAMPION], best) if best is not None else {}
    rank_by = vs_best or vs_champion
    challenger = max(
        learned, key=lambda k: (or_low(mean_ratio(tables, rank_by, k)), k == learned[0])
    )
    seed = spec.backtest.seed
    share_champion = ratio_win_share(result, challenger, vs_champion, seed)
    share_best = ratio_win_share(result, challenger, vs_best, seed) if vs_best else None
    ratio_champion = mean_ratio(tables, vs_champion, challenger)
    ratio_best = mean_ratio(tables, vs_best, challenger) if vs_best else None
    wins_champion = ratio_champion >= 1  # NaN never wins
    wins_best = ratio_best is None or ratio_best >= 1
    span, champ = _span(result.folds), f"champion {champion_label}"
    verdict = Verdict(
        wins_champion and wins_best, challenger, "", cutoff, scores, best, share_champion,
        share_best, tuple(labels), pai, vs_best, _or_none(ratio_champion), _or_none(ratio_best),
    )  # fmt: skip
    if any(challenger not in pai[k] or CHAMPION not in pai[k] for k in labels):
        why = f"no target event in the {span}: nothing to tell {challenger} and {champ} apart"
        return _with(verdict, why, promote=False)
    if len(labels) == 1:
        mine = f"{challenger} PAI@{cutoff} {scores[challenger]:.2f} "
        parts = [mine + _one(scores, CHAMPION, champ, wins_champion, share_champion)]
        if best is not None:
            parts.append(_one(scores, best, f"best baseline {best}", wins_best, share_best))
        said = " and ".join(parts)
    else:
        parts = [_several(verdict, vs_champion, champ, ratio_champion, share_champion)]
        if ratio_best is not None:
            parts.append(_several(verdict, vs_best, "best baseline", ratio_best, share_best))
        said = f"{challenger} PAI@{'/'.join(labels)} {_figures(pai, challenger, labels)} "
        said += ", and ".join(parts) + ","
    outcome = "promoted" if verdict.promote else f"not promoted, {champ} stays current"
    return _with(verdict, f"{said} over the {span}: {outcome}", promote=verdict.promote)


def _one(
    scores: Mapping[str, float], rival: str, called: str, wins: bool, share: float | None
) -> str:
    """One coverage: ``>= champion v3 10.94 (ahead in ...)``."""
    return f"{'>=' if wins else '<'} {called} {scores[rival]:.2f}{_sure(share)}"


def _several(
    verdict: Verdict, rivals: Rivals, rival: str, ratio: float, share: float | None
) -> str:
    """Several coverages: ``against rival y1/y2: mean r x >= 1 (ahead in ...)``; a best
    baseline that differs by coverage is named at each."""
    names = list(dict.fromkeys(rivals.values()))
    if len(names) == 1:
        theirs = _figures(verdict.pai, names[0], verdict.labels)
        who = rival if names[0] == CHAMPION else f"{rival} {names[0]}"
    else:
        theirs = "/".join(f"{r} {verdict.pai[k].get(r, np.nan):.2f}" for k, r in rivals.items())
        who = f"{rival}s"
    op = ">=" if ratio >= 1 else "<"
    return f"against {who} {theirs}: mean {ratio:.3f}x {op} 1{_sure(share)}"


def _figures(pai: Mapping[str, Mapping[str, float]], model: str, labels: Sequence[str]) -> str:
    return "/".join(f"{pai[k].get(model, np.nan):.2f}" for k in labels)


def _with(verdict: Verdict, reason: str, *, promote: bool) -> Verdict:
    return replace(verdict, reason=reason, promote=promote)


def _or_none(value: float | None) -> float | None:
    return None if value is None or np.isnan(value) else value


def _span(folds: Sequence[Fold]) -> str:
    first, last = folds[0].as_of.date(), folds[-1].as_of.date()
    return f"{len(folds)} fold{'s' if len(folds) != 1 else ''} {first}..{last}"


def _sure(share: float | None) -> str:
    return "" if share is None else f" (ahead in {share:.0%} of fold resamples)"
