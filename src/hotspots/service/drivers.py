"""Why a cell ranks high: readable reasons ("drivers") computed once, at publish time.

For ``LightGBMForecaster`` the drivers are the features with the largest positive
per-prediction contributions (SHAP values on the log scale of the Poisson model, from
``booster_.predict(X, pred_contrib=True)``), each turned into a sentence. Features that read
the same (``month_sin`` and ``week_cos`` are both "seasonal pattern") count once. A baseline
has no per-cell contributions, so its one driver describes the method.

Cells whose history is suppressed (too few events to show) get sentences without counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hotspots.features import Panel
from hotspots.features.matrix import feature_slug
from hotspots.forecasters import Forecaster, LightGBMForecaster

MAX_DRIVERS = 3
"""Reasons shown per cell."""

_UNITS = {"W": "week", "M": "month", "D": "day"}
_NEAR_REPEAT_SPAN = {"7d": "7 days", "1d": "day", "month": "month"}

Sentence = Callable[[float, bool], str]
"""``(feature value, suppressed) -> sentence``."""


@dataclass(frozen=True)
class Drivers:
    """Drivers of every (period, cell) of a forecast, in the model's cell order.

    ``features[h, i]`` holds up to ``MAX_DRIVERS`` feature positions (into ``names``, -1 =
    none) and ``texts[h][i]`` the sentences; baselines have no features (all -1).
    """

    names: tuple[str, ...]
    features: npt.NDArray[np.int16]
    texts: tuple[tuple[tuple[str, ...], ...], ...]


def target_label(target: Sequence[str], categories: Sequence[str]) -> str:
    """How sentences name the target: the category, ``"A and B"``, or "crime" for all."""
    if len(target) > 1 and set(target) == set(categories):
        return "crime"
    if len(target) == 1:
        return target[0]
    return f"{', '.join(target[:-1])} and {target[-1]}"


def _count(value: float) -> str:
    return f"{round(value):d}" if abs(value - round(value)) < 1e-6 else f"{value:.1f}"


def _span(window: str, unit: str) -> str:
    n = int(window)
    return f"last {unit}" if n == 1 else f"last {n} {unit}s"


def describe_feature(
    name: str, *, target: str, unit: str, categories: Sequence[str] = ()
) -> tuple[str, Sentence]:
    """A sentence maker for one feature and its group key (features of a group read alike).

    ``unit`` is the period's word ("week", "month", "day"); ``categories`` are the model's
    categories, to name ``rel_<category>`` features in full.
    """
    slugs = {feature_slug(c): c for c in categories}
    if m := re.fullmatch(r"target_sum_(\d+)", name):
        span = _span(m[1], unit)
        return (
            "recent",
            lambda v, s: (
                f"recent {target} in this cell"
                if s
                else f"{_count(v)} {target} in this cell in the {span}"
            ),
        )
    if m := re.fullmatch(r"target_mean_(\d+)", name):
        span = _span(m[1], unit)
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


def lgbm_contributions(
    model: LightGBMForecaster, panel: Panel, as_of: object, horizon: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    """The feature matrix ``predict`` builds and its contributions, both ``(h * n, f)``.

    The last contribution column (the bias) is dropped. Uses the model's own feature builder
    so the rows are exactly those ``predict`` scores.
    """
    X = model.feature_matrix(panel, as_of, horizon)
    contrib = np.asarray(model.booster_.predict(X, pred_contrib=True), dtype=np.float64)
    return X, contrib[:, :-1]


def _top_distinct(
    order: npt.NDArray[np.int64], positive: npt.NDArray[np.bool_], groups: list[str]
) -> list[int]:
    chosen: list[int] = []
    seen: set[str] = set()
    for j, ok in zip(order.tolist(), positive.tolist(), strict=True):
        if not ok:
            break
        if groups[j] not in seen:
            seen.add(groups[j])
            chosen.append(j)
            if len(chosen) == MAX_DRIVERS:
                break
    return chosen


def lgbm_drivers(
    model: LightGBMForecaster,
    panel: Panel,
    as_of: object,
    horizon: int,
    suppressed: npt.NDArray[np.bool_],
) -> Drivers:
    """Up to three sentences per (period, cell) from the largest positive contributions."""
    X, contrib = lgbm_contributions(model, panel, as_of, horizon)
    names = tuple(model.feature_names_)
    label = target_label(model.target_, model.categories_)
    makers = [
        describe_feature(n, target=label, unit=_UNITS[model.freq_], categories=model.categories_)
        for n in names
    ]
    groups, sentences = [g for g, _ in makers], [f for _, f in makers]
    depth = min(len(names), 4 * MAX_DRIVERS)  # enough candidates to skip look-alikes
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :depth]
    top = np.take_along_axis(contrib, order, axis=1)
    n = model.cells_.size
    features = np.full((X.shape[0], MAX_DRIVERS), -1, dtype=np.int16)
    hidden = np.tile(np.asarray(suppressed, dtype=bool), horizon).tolist()
    texts = []
    for row, (o, pos) in enumerate(zip(order, top > 0, strict=True)):
        chosen = _top_distinct(o, pos, groups)
        features[row, : len(chosen)] = chosen
        texts.append(tuple(sentences[j](float(X[row, j]), hidden[row]) for j in chosen))
    per_period = tuple(tuple(texts[h * n : (h + 1) * n]) for h in range(horizon))
    return Drivers(names, features.reshape(horizon, n, MAX_DRIVERS), per_period)


_METHODS = {
    "historical_mean": "average of {target} over {window} (historical mean)",
    "rolling_mean": "average of {target} over {window} (rolling mean)",
    "last_period": "{target} in this cell in the last {unit} (last period)",
    "prospective": "recent {target} in and around this cell (prospective hotspotting)",
    "kde": "density of recent {target} around this cell (kernel density)",
}


def baseline_drivers(
    model: Forecaster, relative_risk: npt.NDArray[np.float64], horizon: int
) -> Drivers:
    """One sentence per cell naming the method; "high"/"low" against the study mean."""
    label = target_label(model.target_, model.categories_)
    unit = _UNITS[model.freq_]
    window = getattr(model, "window", None)
    span = "the whole history" if window is None else f"the last {window} {unit}s"
    template = _METHODS.get(model.name, "forecast of {target} by " + model.name)
    text = template.format(target=label, window=span, unit=unit)
    rr = np.asarray(relative_risk).reshape(horizon, -1)
    high, low = (f"high {text}",), (f"low {text}",)
    texts = tuple(tuple(high if r >= 1.0 else low for r in row.tolist()) for row in rr)
    features = np.full((*rr.shape, MAX_DRIVERS), -1, dtype=np.int16)
    return Drivers((), features, texts)
