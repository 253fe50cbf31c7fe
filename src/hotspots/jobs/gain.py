"""What the published model gains over the best baseline on the reported folds: the mean PAI
ratio with a paired bootstrap interval, and the events it rests on, for the manifest and the
model card (``measured_gain``)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from hotspots.evaluation import BacktestResult, paired_ratio_ci
from hotspots.jobs.spec import TrainingSpec


def measured_gain(
    result: BacktestResult, spec: TrainingSpec, cutoff: str, model: str | None = None
) -> dict[str, Any]:
    """``model``'s (default: the main model's) mean PAI over the best baseline's on the
    reported folds, with a 95% paired bootstrap interval, as flat manifest keys and one
    sentence for the model card. The other learned models are not rivals."""
    main = model or spec.model.kind
    pai = result.table(cutoff)["pai"].dropna()
    rivals = pai.drop([spec.model.kind, *spec.model.challengers], errors="ignore")
    if main not in pai.index or rivals.empty:
        return {}
    best = str(rivals.idxmax())
    rows = result.per_fold[result.per_fold["cutoff"] == cutoff]
    wide = rows.pivot(index="as_of", columns="model", values="pai")
    ratio, low, high = paired_ratio_ci(wide[main], wide[best], seed=spec.backtest.seed)
    interval = (
        f"{low:.3f}-{high:.3f}"
        if math.isfinite(high)  # else the baseline caught nothing in some resamples
        else f"{low:.3f} and up, unbounded (in some resamples of the folds {best} caught no event)"
    )
    base = _event_base(rows, main, best)
    undecided = low <= 1.0 <= high
    verdict = (
        f": the interval holds 1, so these folds cannot tell {main} and {best} apart"
        if undecided
        else ""
    )
    line = (
        f"{main} PAI@{cutoff} is {ratio:.3f}x the best baseline's ({best}), 95% interval "
        f"{interval}, over the {len(wide)} reported folds; {base['sentence']}{verdict}"
    )
    if math.isnan(ratio):  # paired_ratio_ci: the baseline scored 0 (or NaN) in every fold
        line = (
            f"{main} PAI@{cutoff} has no ratio to the best baseline's ({best}): {best} caught "
            f"no event in the {len(wide)} reported folds; {base['sentence']}"
        )
    return {
        "measured_gain": line,
        "gain_ratio": ratio,
        "gain_ci_low": low,
        "gain_ci_high": high,
        "gain_baseline": best,
        "gain_hits": base["hits"],
        "gain_baseline_hits": base["baseline_hits"],
        "gain_events": base["events"],
        "gain_undecided": undecided,
    }


def _event_base(rows: pd.DataFrame, main: str, best: str) -> dict[str, Any]:
    """The events the measured gain rests on: each model's catches in its flagged cells over
    the folds, and the folds' events. On a small force the top 1% is one cell and a ratio of
    0.5x can be 4 events against 7; the sentence names them."""
    by_model = rows.groupby("model")
    hits = {m: int(by_model.get_group(m)["hits"].sum()) for m in (main, best)}
    first = by_model.get_group(main)
    events = int(first["n_events"].sum())
    return {
        "sentence": (
            f"their flagged cells ({cells_a_fold(first)}) caught {hits[main]:,} ({main}) and "
            f"{hits[best]:,} ({best}) of the folds' {events:,} events"
        ),
        "hits": hits[main],
        "baseline_hits": hits[best],
        "events": events,
    }


def cells_a_fold(rows: pd.DataFrame) -> str:
    """``1 cell a fold``, ``3-5 cells a fold``: the cells a model flagged in its folds."""
    cells = sorted(set(rows["flagged"].astype(int)))
    per = f"{cells[0]}" if len(cells) == 1 else f"{cells[0]}-{cells[-1]}"
    return f"{per} {'cell' if cells == [1] else 'cells'} a fold"
