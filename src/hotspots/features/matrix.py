"""The feature matrix: one row per (origin, cell), one float32 column per named feature.

A row for origin ``o`` and cell ``i`` sees only periods ``[0, o)`` and describes the forecast
of period ``o - 1 + lead``. Rows are ordered by block (origin, lead) then cell; the matrix is
Fortran-ordered so each column is filled in one contiguous write and LightGBM reads it
without a copy. ``W`` / ``M`` / ``D`` windows are in periods (see ``lags.PLANS``).

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

from hotspots.errors import ConfigError, DataValidationError
from hotspots.features.calendar import (
    calendar_features,
    calendar_names,
    parse_holidays,
    shift_periods,
)
from hotspots.features.cell_parts import RowPart, quiet_draws
from hotspots.features.event_table import EventTable
from hotspots.features.lags import (
    Neighbours,
    SeriesCache,
    neighbours_of,
    plan_for,
    window_mean,
    window_sum,
)

IntArray = npt.NDArray[np.int64]
_ALL = 1 << 30  # a window longer than any history: the mean over every period before
Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class FeatureOptions:
    """Which optional feature groups to build (all JSON-able)."""

    holidays: str | None = None  # "US", "GB-ENG", ...: count holidays in the target period
    related: bool = True  # each non-target category's recent counts
    near_repeat: bool = True  # cell + ring 1 events in the last period
    lead: bool = False  # the lead as a feature (training over several leads)
    event_times: bool = False  # decays of the target events by their time (needs the events)


@dataclass(frozen=True)
class TrainingSet:
    """Training rows: features ``X`` (Fortran order), target ``y`` and optional weights."""

    X: Float32Array
    y: Float32Array
    weight: Float32Array | None
    names: list[str]
    n_candidates: int  # rows before dropping quiet rows


@dataclass
class _Blocks:
    """The (origin, lead) blocks of rows; each block holds one row per cell."""

    origins: IntArray
    leads: IntArray  # the lead feature (may be clamped)
    starts: pd.DatetimeIndex  # the real target period of each block
    calendar: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)


Column = Callable[[SeriesCache, _Blocks], npt.NDArray[Any]]


def _sum(source: str, window: int) -> Column:
    return lambda s, b: window_sum(s.cum(source), b.origins, window)


def _mean(source: str, window: int) -> Column:
    return lambda s, b: window_mean(s.cum(source), b.origins, window)


def _static(values: npt.NDArray[Any]) -> Column:
    return lambda s, b: values[None, :]


def _calendar(name: str) -> Column:
    return lambda s, b: b.calendar[name][:, None]


def feature_slug(text: str) -> str:
    """A feature-name-safe form of ``text``: lower case, other characters as ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", str(text).lower()).strip("_") or "x"


class FeatureBuilder:
    """Builds feature matrices for one study area, frequency and target.

    Parameters
    ----------
    cells, resolution, freq
        The study cells (sorted uint64), their H3 resolution and the period frequency.
    categories, target_categories
        Every category of the ``counts`` passed later, and those summed into the target.
    options
        Optional feature groups.
    static, static_names
        Per-cell covariates ``(n_cells, k)`` (NaN = missing) and their feature names.
    """

    def __init__(
        self,
        cells: npt.ArrayLike,
        resolution: int,
        freq: str,
        categories: Sequence[str],
        target_categories: Sequence[str],
        options: FeatureOptions | None = None,
        static: npt.ArrayLike | None = None,
        static_names: Sequence[str] = (),
    ) -> None:
        self.cells = np.asarray(cells, dtype=np.uint64)
        self.resolution, self.static_names = resolution, tuple(static_names)
        self.freq, self.plan = freq, plan_for(freq)
        self.categories, self.target_categories = tuple(categories), tuple(target_categories)
        self.options = options or FeatureOptions()
        if self.options.holidays:
            parse_holidays(self.options.holidays)
        self.neighbours: Neighbours = neighbours_of(self.cells, resolution)
        self.static: Float32Array = np.asarray(
            np.empty((self.cells.size, 0)) if static is None else static, dtype=np.float32
        )
        if self.static.shape != (self.cells.size, len(static_names)):
            raise ConfigError(
                f"static covariates have shape {self.static.shape}, expected "
                f"({self.cells.size}, {len(static_names)}) for names {list(static_names)}"
            )
        self._columns = self._specs(list(static_names))

    @property
    def names(self) -> list[str]:
        """Feature names, in column order."""
        return [name for name, _ in self._columns]

    def _specs(self, static_names: list[str]) -> list[tuple[str, Column]]:
        p, nb = self.plan, self.neighbours
        specs: list[tuple[str, Column]] = [(f"target_sum_{w}", _sum("target", w)) for w in p.sums]
        specs += [(f"target_mean_{w}", _mean("target", w)) for w in p.means]
        specs.append(("target_mean_all", _mean("target", _ALL)))
        specs += [(f"target_decay_{h}", self._decay(h)) for h in p.half_lives]
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
        for src, label in self._other_sources():
            specs += [(f"{label}_sum_{p.short}", _sum(src, p.short))]
            specs += [(f"{label}_mean_{p.long}", _mean(src, p.long))]
        if self.options.near_repeat:
            specs.append((p.near_repeat, self._near_repeat))
        if self.options.event_times:
            for h in p.event_half_lives:
                specs.append((f"event_decay_{h}d", self._event_decay(h, False)))
                specs.append((f"ring1_event_decay_{h}d", self._event_decay(h, True)))
            specs.append(("days_since_event", lambda s, b: s.days_since(p.days_cap)[b.origins]))
        if self.options.lead:
            specs.append(("lead", lambda s, b: b.leads[:, None]))
        cal = calendar_names(self.freq, self.options.holidays)
        specs += [(name, _calendar(name)) for name in cal]
        specs += [(n, _static(self.static[:, j])) for j, n in enumerate(static_names)]
        names = [n for n, _ in specs]
        if len(set(names)) != len(names):
            raise ConfigError(
                f"feature names collide: {sorted(n for n in names if names.count(n) > 1)}"
            )
        return specs

    @staticmethod
    def _decay(half_life: int) -> Column:
        return lambda s, b: s.decay(half_life)[b.origins]

    @staticmethod
    def _event_decay(half_life: int, ring1: bool) -> Column:
        return lambda s, b: s.event_decay(half_life, ring1)[b.origins]

    @staticmethod
    def _near_repeat(s: SeriesCache, b: _Blocks) -> npt.NDArray[np.int32]:
        return window_sum(s.cum("target"), b.origins, 1) + window_sum(s.cum("ring1"), b.origins, 1)

    def _other_sources(self) -> list[tuple[str, str]]:
        """(source, label) of all-crime and each related category's counts."""
        out: list[tuple[str, str]] = []
        if set(self.target_categories) != set(self.categories):
            out.append(("all", "all"))
        if self.options.related:
            seen: set[str] = set()
            for c, name in enumerate(self.categories):
                if name in self.target_categories:
                    continue
                slug = feature_slug(name)
                slug = f"{slug}_{c}" if slug in seen else slug
                seen.add(slug)
                out.append((f"cat{c}", f"rel_{slug}"))
        return out

    # -- building ----------------------------------------------------------------------
    def matrix(
        self,
        counts: npt.ArrayLike,
        target: npt.ArrayLike,
        periods: pd.DatetimeIndex,
        origins: npt.ArrayLike,
        leads: npt.ArrayLike,
        feature_leads: npt.ArrayLike | None = None,
        events: EventTable | None = None,
    ) -> Float32Array:
        """Features for every cell at each ``(origins[b], leads[b])`` block.

        Returns ``(n_blocks * n_cells, n_features)`` float32, block-major. ``leads`` fix the
        target period (its calendar); ``feature_leads`` (default ``leads``) is the value of
        the ``lead`` feature, which a model trained on fewer leads clamps. ``events`` are the
        target events (cells as positions in ``cells``), needed with ``event_times``.
        """
        src, blocks = self._prepare(counts, target, periods, origins, leads, feature_leads, events)
        return self._fill(src, blocks, None)

    def training_set(
        self,
        counts: npt.ArrayLike,
        target: npt.ArrayLike,
        periods: pd.DatetimeIndex,
        *,
        min_history: int,
        max_horizon: int = 1,
        train_periods: int | None = None,
        zero_row_fraction: float = 1.0,
        seed: int = 0,
        events: EventTable | None = None,
        part: RowPart | None = None,
    ) -> TrainingSet:
        """Rows for every origin ``o >= min_history`` and lead with a known target.

        Lead ``L`` uses origins ``o <= n_periods - L`` (the target period ``o - 1 + L``
        exists); ``train_periods`` keeps the last that many origins. With
        ``zero_row_fraction < 1`` only that share of the quiet rows (target 0 and no event in
        the cell or ring 1 over the last 8 periods) is kept, weighted by its inverse.
        With ``part``, only the rows of its cells, as the whole panel's build has them.
        """
        if not 0.0 < zero_row_fraction <= 1.0:
            raise ConfigError(f"zero_row_fraction must be in (0, 1], got {zero_row_fraction!r}")
        origins, leads = _training_blocks(
            np.shape(target)[0], min_history, max_horizon, train_periods
        )
        src, blocks = self._prepare(counts, target, periods, origins, leads, None, events)
        own = slice(None) if part is None else part.own
        y2d = np.asarray(target)[origins - 1 + leads][:, own]
        rows, weight = None, None
        if zero_row_fraction < 1.0:
            quiet = (y2d == 0) & (
                window_sum(src.cum("target"), origins, self.plan.quiet)[:, own]
                + window_sum(src.cum("ring1"), origins, self.plan.quiet)[:, own]
                == 0
            )
            drawn = quiet_draws(seed, quiet.shape, part) < zero_row_fraction
            rows = np.flatnonzero(~quiet | drawn)
            weight = np.where(quiet.reshape(-1)[rows], 1.0 / zero_row_fraction, 1.0)
            weight = weight.astype(np.float32)
        y = y2d.reshape(-1) if rows is None else y2d.reshape(-1)[rows]
        if part is not None:  # rows of the part's cells -> rows of the builder's cells
            block, cell = np.divmod(np.arange(y2d.size) if rows is None else rows, y2d.shape[1])
            rows = block * self.cells.size + part.own[cell]
        X = self._fill(src, blocks, rows)
        return TrainingSet(X, y.astype(np.float32), weight, self.names, int(y2d.size))

    def _prepare(
        self,
        counts: npt.ArrayLike,
        target: npt.ArrayLike,
        periods: pd.DatetimeIndex,
        origins: npt.ArrayLike,
        leads: npt.ArrayLike,
        feature_leads: npt.ArrayLike | None,
        events: EventTable | None = None,
    ) -> tuple[SeriesCache, _Blocks]:
        counts_a, target_a = np.asarray(counts), np.asarray(target)
        n_periods = target_a.shape[0] if target_a.ndim == 2 else -1
        expected = (len(self.categories), n_periods, self.cells.size)
        if (
            target_a.shape != expected[1:]
            or counts_a.shape != expected
            or len(periods) != n_periods
        ):
            raise DataValidationError(
                f"counts {counts_a.shape}, target {target_a.shape} and {len(periods)} periods do "
                f"not match {len(self.categories)} categories x periods x {self.cells.size} cells"
            )
        o = np.atleast_1d(np.asarray(origins, dtype=np.int64))
        lead = np.broadcast_to(np.asarray(leads, dtype=np.int64), o.shape)
        if o.size and (o.min() < 1 or o.max() > n_periods or lead.min() < 1):
            raise DataValidationError(
                f"origins must be in 1..{n_periods} and leads >= 1, got origins "
                f"{o.min()}..{o.max()} and leads from {lead.min()}"
            )
        fl = lead if feature_leads is None else np.broadcast_to(feature_leads, o.shape)
        starts = shift_periods(pd.Timestamp(periods[0]), o - 1 + lead, self.freq)
        blocks = _Blocks(o, np.asarray(fl, dtype=np.int64), starts)
        blocks.calendar = dict(calendar_features(starts, self.freq, self.options.holidays))
        timed = None
        if self.options.event_times:
            if events is None:
                raise DataValidationError(
                    "these features use the events' times, but none were given: build the "
                    "panel from events (events_to_panel), not from counts alone"
                )
            bounds = shift_periods(pd.Timestamp(periods[0]), np.arange(n_periods + 1), self.freq)
            timed = (events.time_ns, events.cell, bounds.asi8)
        return SeriesCache(self.neighbours, counts_a, target_a, timed), blocks

    def _fill(self, src: SeriesCache, blocks: _Blocks, rows: IntArray | None) -> Float32Array:
        n_blocks, n_cells = blocks.origins.size, self.cells.size
        n_rows = n_blocks * n_cells if rows is None else rows.size
        out = np.empty((len(self._columns), n_rows), dtype=np.float32).T  # Fortran order
        if rows is not None:
            block_of, cell_of = np.divmod(rows, max(n_cells, 1))
        for j, (_, column) in enumerate(self._columns):
            values = column(src, blocks)
            if rows is None:
                out[:, j].reshape(n_blocks, n_cells)[...] = values
            else:
                out[:, j] = np.broadcast_to(values, (n_blocks, n_cells))[block_of, cell_of]
        return out


def _training_blocks(
    n_periods: int, min_history: int, max_horizon: int, train_periods: int | None
) -> tuple[IntArray, IntArray]:
    """Origins and leads of the training blocks: lead-major, origins ascending."""
    first = min_history if train_periods is None else max(min_history, n_periods - train_periods)
    origins = [np.arange(first, n_periods - lead + 1) for lead in range(1, max_horizon + 1)]
    leads = [np.full(o.size, lead) for lead, o in enumerate(origins, start=1)]
    if not origins or sum(o.size for o in origins) == 0:
        raise DataValidationError(
            f"training needs at least {min_history + 1} periods ({min_history} of history "
            f"and a known target after them); there are {n_periods}"
        )
    return np.concatenate(origins).astype(np.int64), np.concatenate(leads).astype(np.int64)
