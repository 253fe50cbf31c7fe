"""Why a cell ranks high: the readable reasons every forecaster gives through ``explain``.

``Forecaster.explain(panel, as_of, horizon, hide_counts=...)`` returns ``Reasons``: up to
``MAX_REASONS`` sentences per (period, cell). Each model says it its own way:

- LightGBM: the features with the largest positive per-prediction contributions (SHAP values
  on the log scale of the Poisson model), each turned into a sentence; features that read the
  same (``month_sin`` and ``week_cos`` are both "seasonal pattern") count once.
- The baselines: one sentence naming the method, "high" or "low" against the study mean.
- hawkes: the share of the cell's rate that is background and near-repeat excitation.
- ensemble: its members' reasons, the heaviest member's first.

Cells whose counts are hidden (too few events to show) get sentences without counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hotspots.errors import ConfigError
from hotspots.features.matrix import feature_slug

MAX_REASONS = 3
"""Reasons shown per cell."""

UNITS = {"W": "week", "M": "month", "D": "day"}
_NEAR_REPEAT_SPAN = {"7d": "7 days", "1d": "day", "month": "month"}

Sentence = Callable[[float, bool], str]
"""``(feature value, counts hidden) -> sentence``."""
Texts = tuple[tuple[tuple[str, ...], ...], ...]
"""``texts[h][i]``: the sentences of period ``h`` and cell ``i``."""


@dataclass(frozen=True)
class Reasons:
    """Reasons for every (period, cell) of a forecast, in the model's cell order.

    ``texts[h][i]`` are up to ``MAX_REASONS`` sentences; ``features[h, i]`` the positions in
    ``names`` of the model features behind them (-1 = none: a model without features).
    """

    names: tuple[str, ...]
    features: npt.NDArray[np.int16]
    texts: Texts

    @property
    def shape(self) -> tuple[int, int]:
        """``(horizon, n_cells)``."""
        return len(self.texts), len(self.texts[0]) if self.texts else 0


def target_label(target: Sequence[str], categories: Sequence[str]) -> str:
    """How sentences name the target: the category, ``"A and B"``, or "crime" for all."""
    if len(target) > 1 and set(target) == set(categories):
        return "crime"
    if len(target) == 1:
        return target[0]
    return f"{', '.join(target[:-1])} and {target[-1]}"


def hidden_mask(hide_counts: npt.ArrayLike | None, n_cells: int) -> npt.NDArray[np.bool_]:
    """``hide_counts`` as a boolean mask over the model's cells (None: nothing hidden)."""
    if hide_counts is None:
        return np.zeros(n_cells, dtype=bool)
    mask = np.asarray(hide_counts, dtype=bool)
    if mask.shape != (n_cells,):
        raise ConfigError(f"hide_counts has shape {mask.shape}; the model has {n_cells} cells")
    return mask


def _count(value: float) -> str:
    return f"{round(value):d}" if abs(value - round(value)) < 1e-6 else f"{value:.1f}"


def _span(window: str, unit: str, history: int | None = None) -> str:
    """``last N units``: the window, or the periods of history where there are fewer (the
    features sum and average over what exists)."""
    n = int(window) if history is None else max(min(int(window), history), 1)
    return f"last {unit}" if n == 1 else f"last {n} {unit}s"


def describe_feature(
    name: str,
    *,
    target: str,
    unit: str,
    categories: Sequence[str] = (),
    history: int | None = None,
) -> tuple[str, Sentence]:
    """A sentence maker for one feature and its group key (features of a group read alike).

    ``unit`` is the period's word ("week", "month", "day"); ``categories`` are the model's
    categories, to name ``rel_<category>`` features in full; ``history``: the periods before
    the forecast's origin, so a 52-week window over 34 weeks of data says 34.
    """
    slugs = {feature_slug(c): c for c in categories}
    if m := re.fullmatch(r"target_sum_(\d+)", name):
        span = _span(m[1], unit, history)
        return (
            "recent",
            lambda v, s: (
                f"recent {target} in this cell"
                if s
                else f"{_count(v)} {target} in this cell in the {span}"
            ),
        )
    if m := re.fullmatch(r"target_mean_(\d+)", name):
        span = _span(m[1], unit, history)
        return (
            "level",
            lambda v, s: (
                f"high level of {target} here over the {span}"
                if s
                else f"high level of {target} here over the {span} ({v:.2f} per {unit})"
            ),
        )
    if name == "target_mean_all":
        return name, lambda v, s: f"high long-run level of {target} here"
    if name.startswith("target_decay_") or name == "periods_since_last":
        return "recent", lambda v, s: f"recent {target} in this cell"
    if m := re.fullmatch(r"(ring1|ring2|parent)_(sum|mean)_(\d+|all)", name):
        where = {
            "ring1": "the neighbouring cells",
            "ring2": "the cells two rings out",
            "parent": "the surrounding district",
        }[m[1]]
        what = "high long-run level of" if m[3] == "all" or m[2] == "mean" else "recent"
        return f"{m[1]}{what}", lambda v, s: f"{what} {target} in {where}"
    if name.endswith("_n_cells"):
        return "n_cells", lambda v, s: "many study cells around this one"
    if m := re.fullmatch(r"all_(sum|mean)_\d+", name):
        return "all", lambda v, s: "recent crime of all kinds here"
    if m := re.fullmatch(r"rel_(.+)_(sum|mean)_\d+", name):
        category = slugs.get(m[1], m[1].replace("_", " "))
        return f"rel{category}", lambda v, s: f"recent {category} here"
    if m := re.fullmatch(r"near_repeat_k1_last_(\w+)", name):
        span = _NEAR_REPEAT_SPAN.get(m[1], m[1])
        return (
            "near_repeat",
            lambda v, s: (
                f"{target} nearby in the last {span} (near repeat)"
                if s
                else f"{_count(v)} {target} nearby in the last {span} (near repeat)"
            ),
        )
    if name == "holidays_in_period":
        return name, lambda v, s: "public holiday in the period"
    if name == "day_of_week":
        return name, lambda v, s: f"day-of-week pattern of {target}"
    if name.startswith(("month", "week")):
        return "season", lambda v, s: f"seasonal pattern of {target} for this time of year"
    if name == "lead":
        return name, lambda v, s: f"forecast {_count(v)} {unit}s ahead"
    if name.startswith("cov_"):
        label = name[4:].replace("_", " ")
        return name, lambda v, s: f"{label} nearby ({v:.3g})"
    return name, lambda v, s: f"feature {name} ({v:.3g})"


RECENT_PERIODS = 4
"""What "recent" means, in model periods: ``periods_since_last`` says it only when the cell's
last event is this many periods back or fewer, and a plan's "recent rise" compares this many
last periods (``publishing.plan_context``)."""
NOTHING_STANDS_OUT = "the model's typical level: nothing recorded here stands out"
"""A cell's reason when no feature that raises its forecast says something true of it."""

_HIGH = re.compile(  # a decayed count says "recent" only when it is above the average cell's
    r"target_(mean_(\d+|all)|decay_.+)|(ring1|ring2|parent)_(mean_(\d+|all)|sum_all)|.*_n_cells"
)
_PRESENT = re.compile(
    r"target_sum_\d+|(ring1|ring2|parent)_sum_\d+|near_repeat_.+|all_.+|rel_.+"
    r"|holidays_in_period"
)


def claims_hold(
    names: Sequence[str], X: npt.NDArray[np.float32], horizon: int
) -> npt.NDArray[np.bool_]:
    """Whether each feature's sentence is true of each row of ``X`` (``horizon * n`` rows,
    period-major): a sentence of recent crime ("recent X in this cell", "2 X nearby") needs a
    value above 0, and one of a "high" level, "many" cells or a decayed count ("recent") a
    value above the study cells' mean of that feature in the same period;
    ``periods_since_last`` ("recent") at most ``RECENT_PERIODS`` (below the mean is not
    enough: cells with no event sit at the cap and lift the mean near it, so an event 30
    weeks back would read as recent).
    A model may raise a forecast for a count of 0 (SHAP values on a thin history do), but the
    sentence would then say crime was recorded where none was."""
    values = np.asarray(X, dtype=np.float64)
    n = values.shape[0] // max(horizon, 1)
    mean = np.repeat(values.reshape(horizon, n, -1).mean(axis=1), n, axis=0)
    holds = np.ones(values.shape, dtype=bool)
    for j, name in enumerate(names):
        if _HIGH.fullmatch(name):
            holds[:, j] = values[:, j] > mean[:, j]
        elif _PRESENT.fullmatch(name):
            holds[:, j] = values[:, j] > 0
        elif name == "periods_since_last":
            holds[:, j] = values[:, j] <= RECENT_PERIODS
    return holds


def _top_distinct(
    order: npt.NDArray[np.int64], positive: npt.NDArray[np.bool_], groups: list[str]
) -> list[int]:
    chosen: list[int] = []
    seen: set[str] = set()
    for j, ok in zip(order.tolist(), positive.tolist(), strict=True):
        if not ok:
            continue
        if groups[j] not in seen:
            seen.add(groups[j])
            chosen.append(j)
            if len(chosen) == MAX_REASONS:
                break
    return chosen


def contribution_reasons(
    names: Sequence[str],
    X: npt.NDArray[np.float32],
    contrib: npt.NDArray[np.float64],
    *,
    label: str,
    unit: str,
    categories: Sequence[str],
    horizon: int,
    hidden: npt.NDArray[np.bool_],
    history: int | None = None,
) -> Reasons:
    """Up to three sentences per row of ``X`` (``horizon * n`` rows, period-major) from the
    largest positive contributions (``contrib``: one column per feature, no bias) whose
    sentences are true of the row (``claims_hold``; none: ``NOTHING_STANDS_OUT``);
    ``history``: the periods before the origin (``describe_feature``)."""
    makers = [
        describe_feature(n, target=label, unit=unit, categories=categories, history=history)
        for n in names
    ]
    groups, sentences = [g for g, _ in makers], [f for _, f in makers]
    depth = min(len(names), 4 * MAX_REASONS)  # enough candidates to skip look-alikes
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :depth]
    top = np.take_along_axis(contrib, order, axis=1)
    true = np.take_along_axis(claims_hold(names, X, horizon), order, axis=1)
    n = hidden.size
    features = np.full((X.shape[0], MAX_REASONS), -1, dtype=np.int16)
    hide = np.tile(hidden, horizon).tolist()
    texts = []
    for row, (o, pos) in enumerate(zip(order, (top > 0) & true, strict=True)):
        chosen = _top_distinct(o, pos, groups)
        features[row, : len(chosen)] = chosen
        said = tuple(sentences[j](float(X[row, j]), hide[row]) for j in chosen)
        texts.append(said or (NOTHING_STANDS_OUT,))
    per_period = tuple(tuple(texts[h * n : (h + 1) * n]) for h in range(horizon))
    return Reasons(tuple(names), features.reshape(horizon, n, MAX_REASONS), per_period)


def relative_risk(mean: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``mean / mean.mean()``; all ones when nothing is expected anywhere."""
    average = float(mean.mean()) if mean.size else 0.0
    return mean / average if average > 0 else np.ones_like(mean)


def level_reasons(text: str, mean: npt.NDArray[np.float64]) -> Reasons:
    """One sentence per cell, "high <text>" or "low <text>" against each period's study
    mean of ``mean`` (``(horizon, n_cells)``)."""
    rows = np.asarray(mean, dtype=np.float64)
    high, low = (f"high {text}",), (f"low {text}",)
    texts = tuple(
        tuple(high if r >= 1.0 else low for r in relative_risk(row).tolist()) for row in rows
    )
    features = np.full((*rows.shape, MAX_REASONS), -1, dtype=np.int16)
    return Reasons((), features, texts)


def merge_reasons(parts: Sequence[Reasons]) -> Reasons:
    """Several models' reasons for the same cells, the first part's first: per cell, the
    sentences taken in turn from each part, repeats dropped, at most ``MAX_REASONS``."""
    horizon, n = parts[0].shape
    names: list[str] = []
    offsets = []
    for part in parts:
        offsets.append(len(names))
        names.extend(part.names)
    features = np.full((horizon, n, MAX_REASONS), -1, dtype=np.int16)
    texts = []
    for h in range(horizon):
        row = []
        for i in range(n):
            # sentence and feature of every part's k-th reason, for k = 0, 1, ...
            turns = [
                (part.texts[h][i][k], int(part.features[h, i, k]), offsets[p])
                for k in range(MAX_REASONS)
                for p, part in enumerate(parts)
                if k < len(part.texts[h][i])
            ]
            chosen: list[str] = []
            for text, j, offset in turns:
                if text not in chosen and len(chosen) < MAX_REASONS:
                    features[h, i, len(chosen)] = j + offset if j >= 0 else -1
                    chosen.append(text)
            row.append(tuple(chosen))
        texts.append(tuple(row))
    return Reasons(tuple(names), features, tuple(texts))
