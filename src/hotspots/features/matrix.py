"""The feature matrix: one row per (origin, cell), one float32 column per named feature.

A row for origin ``o`` and cell ``i`` sees only periods ``[0, o)`` and describes the forecast
of period ``o - 1 + lead``. Rows are ordered by block (origin, lead) then cell; the matrix is
Fortran-ordered so each column is filled in one contiguous write and LightGBM reads it
without a copy. The columns, their names and meanings are in ``features.columns``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError, DataValidationError
from hotspots.features.calendar import calendar_features, parse_holidays, shift_periods
from hotspots.features.cell_parts import RowPart, quiet_draws
from hotspots.features.columns import (
    Blocks,
    Column,
    FeatureOptions,
    feature_columns,
    feature_slug,
)
from hotspots.features.event_table import EventTable
from hotspots.features.lags import Neighbours, SeriesCache, neighbours_of, plan_for, window_sum

__all__ = ["FeatureBuilder", "FeatureOptions", "TrainingSet", "feature_slug"]

IntArray = npt.NDArray[np.int64]
Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class TrainingSet:
    """Training rows: features ``X`` (Fortran order), target ``y`` and optional weights."""

    X: Float32Array
    y: Float32Array
    weight: Float32Array | None
    names: list[str]
    n_candidates: int  # rows before dropping quiet rows


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
        self._columns: list[tuple[str, Column]] = feature_columns(
            self.plan,
            self.neighbours,
            freq,
            self.categories,
            self.target_categories,
            self.options,
            self.static,
            self.static_names,
        )

    @property
    def names(self) -> list[str]:
        """Feature names, in column order."""
        return [name for name, _ in self._columns]

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
    ) -> tuple[SeriesCache, Blocks]:
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
        blocks = Blocks(o, np.asarray(fl, dtype=np.int64), starts)
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

    def _fill(self, src: SeriesCache, blocks: Blocks, rows: IntArray | None) -> Float32Array:
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
