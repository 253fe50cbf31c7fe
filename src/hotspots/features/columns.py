"""The named feature columns: what each column of the feature matrix holds, and how.

A column is a function of the panel's series (``lags.SeriesCache``) and the row blocks
(``Blocks``); ``feature_columns`` lists them in matrix order for one study area, frequency
and target. ``matrix.FeatureBuilder`` fills them. ``W`` / ``M`` / ``D`` windows are in periods
(see ``lags.PLANS``).

=============================  =================================================================
feature (W windows shown)      meaning
=============================  =================================================================
``target_sum_{w}``             target count in the cell over the last w periods, w = 1, 2, 4, 8
                               (M: 1, 2, 3; D: 1, 7)
``target_mean_{w}``            target count per period over the last min(w, history) periods,
                               w = 13, 26, 52 (M: 6, 12; D: 28, 91): long windows come as
                               rates only (the sum is w x the rate once the history is longer)
``target_mean_all``            target count per period over the whole history (the historical
                               mean a long-run hotspot map shows); also ``ring1_mean_all``,
                               ``ring2_mean_all`` and ``parent_mean_all``
``target_decay_{h}``           counts decayed with a half-life of h periods, the last period
                               weighing 1; h = 1, 4, 13 (M: 1, 3, 12; D: 3, 14, 56)
``periods_since_last``         periods since the last target event in the cell (1 = the last
                               period), capped at 52 (M: 24, D: 91), the cap also meaning none
``ring1_n_cells``              in-study cells one step away (6 inside the area, fewer at edges)
``ring1_sum_{w}``              target count over ring 1 (grid_disk 1 minus the cell), w = 1, 4
                               (M: 1, 3; D: 1, 7); cells outside the study area count 0
``ring1_mean_{w}``             the same per period, w = 13, 52 (M: 12; D: 28, 91)
``ring2_n_cells``              in-study cells exactly two steps away (12 inside the area)
``ring2_sum_4``,               target count over ring 2 (grid_disk 2 minus grid_disk 1) over 4
``ring2_mean_52``              periods and per period over 52 (M: 3, 12; D: 7, 91)
``parent_n_cells``             in-study children of the cell's parent at resolution - 2
``parent_sum_4``,              target count over the parent's in-study children (the cell
``parent_mean_52``             included), windows as for ring 2
``all_sum_{s}``,               every panel category: sum over s = 4 (M: 3; D: 7) and mean over
``all_mean_{l}``               l = 52 (M: 12; D: 91) periods; only when the target is not
                               already every category
``rel_{category}_sum_{s}``,    each related (non-target) category, same windows; the category
``rel_{category}_mean_{l}``    name lower-cased with other characters as ``_``
``near_repeat_k1_last_7d``     target events in the cell and ring 1 in the last period
                               (M: ``..._last_month``; D: ``..._last_1d``). police.uk data has
                               month precision only, so it cannot give a finer near-repeat
``event_decay_{h}d``,          target events of the cell / its ring 1 before the origin, each
``ring1_event_decay_{h}d``     weighing 0.5 ** (age in days / h), h = 1, 3, 7 (M: 3, 14): the
                               near-repeat signal within the period, from the events' times;
                               only with ``event_times`` (events known to the day or finer)
``days_since_event``           days from the cell's last target event to the origin, cap 365
``lead``                       periods ahead (1 = next period); only when training over leads
``month``, ``month_sin``,      month of the target period 1..12 and its position on the circle
``month_cos``                  (weeks: the month of the week's Thursday)
``week_of_year``,              ISO week of the target period 1..53 and its position on the
``week_sin``, ``week_cos``     circle (W and D only)
``day_of_week``                0 = Monday .. 6 = Sunday (D only)
``holidays_in_period``         public holidays in the target period (only with ``holidays``)
``cov_{name}``                 static cell covariates (see ``features.covariates``)
=============================  =================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.features.calendar import calendar_names
from hotspots.features.lags import (
    FreqPlan,
    Neighbours,
    SeriesCache,
    window_mean,
    window_sum,
)

IntArray = npt.NDArray[np.int64]
Float32Array = npt.NDArray[np.float32]
_ALL = 1 << 30  # a window longer than any history: the mean over every period before


@dataclass(frozen=True)
class FeatureOptions:
    """Which optional feature groups to build (all JSON-able)."""

    holidays: str | None = None  # "US", "GB-ENG", ...: count holidays in the target period
    related: bool = True  # each non-target category's recent counts
    near_repeat: bool = True  # cell + ring 1 events in the last period
    lead: bool = False  # the lead as a feature (training over several leads)
    event_times: bool = False  # decays of the target events by their time (needs the events)


@dataclass
class Blocks:
    """The (origin, lead) blocks of rows; each block holds one row per cell."""

    origins: IntArray
    leads: IntArray  # the lead feature (may be clamped)
    starts: pd.DatetimeIndex  # the real target period of each block
    calendar: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)


Column = Callable[[SeriesCache, Blocks], npt.NDArray[Any]]


def feature_slug(text: str) -> str:
    """A feature-name-safe form of ``text``: lower case, other characters as ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", str(text).lower()).strip("_") or "x"


def feature_columns(
    plan: FreqPlan,
    neighbours: Neighbours,
    freq: str,
    categories: Sequence[str],
    target_categories: Sequence[str],
    options: FeatureOptions,
    static: Float32Array,
    static_names: Sequence[str],
) -> list[tuple[str, Column]]:
    """``(name, column)`` of every feature, in matrix order (the table above)."""
    p, nb = plan, neighbours
    specs: list[tuple[str, Column]] = [(f"target_sum_{w}", _sum("target", w)) for w in p.sums]
    specs += [(f"target_mean_{w}", _mean("target", w)) for w in p.means]
    specs.append(("target_mean_all", _mean("target", _ALL)))
    specs += [(f"target_decay_{h}", _decay(h)) for h in p.half_lives]
    specs.append(("periods_since_last", lambda s, b: s.since(p.since_cap)[b.origins]))
    spatial = {
        "ring1": (nb.n_ring1, p.ring1),
        "ring2": (nb.n_ring2, p.outer),
        "parent": (nb.parent_size, p.outer),
    }
    for src, (size, (sums, means)) in spatial.items():
        specs.append((f"{src}_n_cells", _static(size)))
        specs += [(f"{src}_sum_{w}", _sum(src, w)) for w in sums]
        specs += [(f"{src}_mean_{w}", _mean(src, w)) for w in means]
        specs.append((f"{src}_mean_all", _mean(src, _ALL)))
    for src, label in _other_sources(categories, target_categories, options.related):
        specs += [(f"{label}_sum_{p.short}", _sum(src, p.short))]
        specs += [(f"{label}_mean_{p.long}", _mean(src, p.long))]
    if options.near_repeat:
        specs.append((p.near_repeat, _near_repeat))
    if options.event_times:
        for h in p.event_half_lives:
            specs.append((f"event_decay_{h}d", _event_decay(h, False)))
            specs.append((f"ring1_event_decay_{h}d", _event_decay(h, True)))
        specs.append(("days_since_event", lambda s, b: s.days_since(p.days_cap)[b.origins]))
    if options.lead:
        specs.append(("lead", lambda s, b: b.leads[:, None]))
    cal = calendar_names(freq, options.holidays)
    specs += [(name, _calendar(name)) for name in cal]
    specs += [(n, _static(static[:, j])) for j, n in enumerate(static_names)]
    names = [n for n, _ in specs]
    if len(set(names)) != len(names):
        raise ConfigError(
            f"feature names collide: {sorted(n for n in names if names.count(n) > 1)}"
        )
    return specs


def _other_sources(
    categories: Sequence[str], target_categories: Sequence[str], related: bool
) -> list[tuple[str, str]]:
    """(source, label) of all-crime and each related category's counts."""
    out: list[tuple[str, str]] = []
    if set(target_categories) != set(categories):
        out.append(("all", "all"))
    if related:
        seen: set[str] = set()
        for c, name in enumerate(categories):
            if name in target_categories:
                continue
            slug = feature_slug(name)
            slug = f"{slug}_{c}" if slug in seen else slug
            seen.add(slug)
            out.append((f"cat{c}", f"rel_{slug}"))
    return out


def _sum(source: str, window: int) -> Column:
    return lambda s, b: window_sum(s.cum(source), b.origins, window)


def _mean(source: str, window: int) -> Column:
    return lambda s, b: window_mean(s.cum(source), b.origins, window)


def _static(values: npt.NDArray[Any]) -> Column:
    return lambda s, b: values[None, :]


def _calendar(name: str) -> Column:
    return lambda s, b: b.calendar[name][:, None]


def _decay(half_life: int) -> Column:
    return lambda s, b: s.decay(half_life)[b.origins]


def _event_decay(half_life: int, ring1: bool) -> Column:
    return lambda s, b: s.event_decay(half_life, ring1)[b.origins]


def _near_repeat(s: SeriesCache, b: Blocks) -> npt.NDArray[np.int32]:
    return window_sum(s.cum("target"), b.origins, 1) + window_sum(s.cum("ring1"), b.origins, 1)
