"""The one contract every forecaster follows, baseline or not.

A forecaster learns from a ``Panel`` and forecasts the expected count of its target (one
category, or the sum of several) in every study cell for the periods after an ``as_of`` time:

    model = SomeForecaster(target=("Robbery",), **hyper_parameters)
    model.fit(panel, until="2024-01-01")            # learns from periods before ``until``
    frame = model.predict(panel, as_of="2024-03-04", horizon=4)

``predict`` reads only the whole periods that end at or before ``as_of``: with weekly periods
and ``as_of`` on a Wednesday, the Monday and Tuesday of that week are not used, because the
panel cannot tell them from the rest of the week. Lead 1 is the period starting at ``as_of``
(or the first period starting after it). ``__init__`` only stores hyper-parameters, so
``sklearn.base.clone`` works; fitted state ends in ``_``.

Subclasses implement ``_fit(history)`` and ``_predict(history, origin)`` on a
``History``: the panel already aligned to the fitted cells and cut at the origin
(``forecasters.origin``, re-exported here).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator

from hotspots.errors import ConfigError, DataValidationError, NotFittedError, UnknownCategoryError
from hotspots.features.calendar import shift_periods
from hotspots.features.event_table import EventTable
from hotspots.features.panel import Panel
from hotspots.features.static import covariates_on_cells
from hotspots.forecasters.explain import UNITS, Reasons, hidden_mask, level_reasons, target_label
from hotspots.forecasters.origin import MAX_HORIZON as MAX_HORIZON  # re-exported
from hotspots.forecasters.origin import Origin as Origin
from hotspots.forecasters.origin import check_horizon as check_horizon
from hotspots.forecasters.origin import next_period_start as next_period_start
from hotspots.forecasters.origin import origin_of as origin_of
from hotspots.forecasters.params import check_params

FloatArray = npt.NDArray[np.float64]
logger = logging.getLogger(__name__)

_KINDS: dict[str, type[Forecaster]] = {}

PREDICTION_COLUMNS: tuple[str, ...] = ("period_start", "cell", "expected_count")
"""``predict`` returns these columns: ``datetime64[ns]``, ``uint64``, ``float64``."""


@dataclass(frozen=True)
class History:
    """What a forecaster may look at: every category's counts before the origin.

    ``counts[c, t, i]`` is aligned to the fitted ``cells`` (cells the panel lacks are zero) and
    the fitted ``categories`` (categories the panel lacks are zero); ``target[t, i]`` is the
    sum of the target categories. ``periods`` are the period starts of the rows of ``target``.
    ``events`` are the events behind the counts on the same cells and categories, all before
    ``end_ns`` (the start of the first period not in the history, naive local ns), or None
    when the panel carries counts only. ``covariates`` are the panel's static covariates on the
    fitted cells (``(n_cells, k)``, NaN where missing) named by ``covariate_names``, or None.
    """

    counts: npt.NDArray[np.int32]
    target: npt.NDArray[np.int32]
    periods: pd.DatetimeIndex
    cells: npt.NDArray[np.uint64]
    categories: tuple[str, ...]
    target_categories: tuple[str, ...]
    freq: str
    resolution: int
    events: EventTable | None = None
    end_ns: int = 0
    covariate_names: tuple[str, ...] = ()
    covariates: npt.NDArray[np.float32] | None = None

    @property
    def n_periods(self) -> int:
        """Number of history periods."""
        return len(self.periods)

    def target_events(self) -> EventTable | None:
        """The target categories' events (None when the panel carries counts only)."""
        if self.events is None:
            return None
        return self.events.of_categories([self.categories.index(c) for c in self.target_categories])


def resolve_target(target: tuple[str, ...] | str | None, panel: Panel) -> tuple[str, ...]:
    """The target categories a ``target`` parameter names in ``panel`` (None: all of them)."""
    if target is None:
        return panel.categories
    names = (target,) if isinstance(target, str) else tuple(target)
    missing = [c for c in names if c not in panel.categories]
    if missing or not names:
        raise UnknownCategoryError(
            f"target categories {missing or names!r} are not in the panel; categories are: "
            f"{list(panel.categories)}"
        )
    return names


def _align(
    panel: Panel, cells: npt.NDArray[np.uint64], categories: tuple[str, ...], end: int
) -> npt.NDArray[np.int32]:
    """The panel's first ``end`` periods on the fitted cells and categories (missing: 0);
    a read-only view of the panel's counts when those are the panel's own (as in ``fit``):
    a large panel's counts are not copied for every fit."""
    if categories == panel.categories and np.array_equal(cells, panel.cells):
        view = np.asarray(panel.counts, dtype=np.int32)[:, :end]
        view.flags.writeable = False
        return view
    out = np.zeros((len(categories), end, cells.size), dtype=np.int32)
    pos = np.searchsorted(panel.cells, cells)
    pos_c = np.minimum(pos, max(panel.cells.size - 1, 0))
    found = (pos < panel.cells.size) & (panel.cells[pos_c] == cells) if panel.cells.size else None
    for c, name in enumerate(categories):
        if name not in panel.categories or found is None:
            continue
        src = panel.counts[panel.categories.index(name), :end]
        out[c][:, found] = src[:, pos_c[found]]
    return out


class Forecaster(BaseEstimator):
    """Base of every forecaster: the shared ``fit`` / ``predict`` and state checks.

    Parameters
    ----------
    target
        Categories whose summed count is forecast; ``None`` means every panel category.
    """

    name: ClassVar[str] = "forecaster"
    """A short stable name used in reports, the registry and ``hotspots train``."""

    min_history: ClassVar[int] = 1
    """Fewest history periods ``predict`` accepts."""

    method: ClassVar[str] = "forecast of {target} by {name}"
    """The sentence the default ``explain`` gives every cell, after "high" or "low"; it may
    name ``{target}``, ``{window}`` (e.g. "the last 4 weeks"), ``{unit}`` and ``{name}``."""

    target: tuple[str, ...] | str | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name != Forecaster.name:
            _KINDS[cls.name] = cls

    # -- the public contract -------------------------------------------------------------
    def fit(self, panel: Panel, until: Any = None) -> Self:
        """Learn from the panel's periods that end at or before ``until`` (default: all), after
        checking the parameters against the types and ranges ``__init__`` declares."""
        check_params(type(self), self.name, self.get_params())
        end = (
            panel.counts.shape[1]
            if until is None
            else origin_of(panel.periods, panel.freq, until, 1).history_end
        )
        target = self._resolve_target(panel)
        if end < self.min_history:
            raise DataValidationError(
                f"{type(self).__name__} needs at least {self.min_history} periods before "
                f"{until!r} to fit; the panel has {end}"
            )
        self.cells_ = panel.cells.copy()
        self.categories_ = panel.categories
        self.target_ = target
        self.freq_ = panel.freq
        self.resolution_ = panel.resolution
        self.fit_end_ = pd.Timestamp(panel.periods[end - 1]) if end else None
        self._fit(self._history(panel, end))
        return self

    def predict(self, panel: Panel, as_of: Any, horizon: int = 1) -> pd.DataFrame:
        """Expected counts per target period and fitted cell, from history before ``as_of``.

        Returns ``horizon * n_cells`` rows ordered by period then cell, with the columns
        ``PREDICTION_COLUMNS``.
        """
        self._check_fitted()
        if panel.freq != self.freq_ or panel.resolution != self.resolution_:
            raise ConfigError(
                f"the panel is '{panel.freq}' at resolution {panel.resolution}; this model was "
                f"fitted on '{self.freq_}' at resolution {self.resolution_}"
            )
        origin = origin_of(panel.periods, panel.freq, as_of, horizon)
        if origin.history_end < self.min_history:
            raise DataValidationError(
                f"{type(self).__name__} needs at least {self.min_history} whole periods before "
                f"as_of {as_of}; the panel has {origin.history_end} (it starts "
                f"{panel.periods[0].date() if len(panel.periods) else 'nowhere'})"
            )
        history = self._history(panel, origin.history_end)
        means = np.asarray(self._predict(history, origin), dtype=np.float64)
        if means.shape != (horizon, self.cells_.size):
            raise AssertionError(f"{type(self).__name__} returned shape {means.shape}")
        return pd.DataFrame(
            {
                "period_start": np.repeat(origin.targets.values, self.cells_.size),
                "cell": np.tile(self.cells_, horizon),
                "expected_count": np.maximum(means, 0.0).reshape(-1),
            }
        )

    @classmethod
    def nested_params(
        cls, params: Mapping[str, Any]
    ) -> list[tuple[type[Forecaster], str, Mapping[str, Any], str]]:
        """The forecasters ``params`` make this one build, to check theirs with its own:
        ``(class, kind, their params, key prefix)`` each; none but an ensemble's members."""
        return []

    def unusable_reason(self, panel: Panel) -> str | None:
        """Why this forecaster cannot be fitted on ``panel`` (e.g. it needs event times the
        panel lacks), or None when it can: lets a caller leave out a challenger the data do
        not support before any fit, and say why."""
        return None

    @property
    def spans_workers(self) -> bool:
        """True when ``fit`` spreads itself over every worker of the Dask cluster it runs on
        (LightGBM's ``engine = "dask"``): a cluster then keeps the spec's panel on one worker
        rather than copying it to each."""
        return False

    def explain(
        self, panel: Panel, as_of: Any, horizon: int = 1, *, hide_counts: Any = None
    ) -> Reasons:
        """Readable reasons for every (period, cell) of ``predict(panel, as_of, horizon)``.

        Reads what ``predict`` reads and nothing after ``as_of``. ``hide_counts`` (a boolean
        mask over the fitted cells) marks cells whose counts must not be shown: their
        sentences carry no numbers of events.
        """
        self._check_fitted()
        return self._explain(panel, as_of, horizon, hidden_mask(hide_counts, self.cells_.size))

    # -- what subclasses implement -------------------------------------------------------
    def _explain(
        self, panel: Panel, as_of: Any, horizon: int, hidden: npt.NDArray[np.bool_]
    ) -> Reasons:
        """Reasons; by default the ``method`` sentence, high or low against the study mean."""
        mean = self.predict(panel, as_of, horizon)["expected_count"].to_numpy(np.float64)
        return level_reasons(self._method_text(), mean.reshape(horizon, self.cells_.size))

    def _method_text(self) -> str:
        unit = UNITS[self.freq_]
        window = getattr(self, "window", None)
        span = "the whole history" if window is None else f"the last {window} {unit}s"
        label = target_label(self.target_, self.categories_)
        return self.method.format(target=label, window=span, unit=unit, name=self.name)

    def _fit(self, history: History) -> None:
        """Learn from ``history``; baselines that only look back at predict time skip this."""

    def _predict(self, history: History, origin: Origin) -> FloatArray:
        """Expected counts, shape ``(len(origin.targets), n_cells)``."""
        raise NotImplementedError

    # -- shared helpers ------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "cells_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(panel) before predict"
            )

    def _resolve_target(self, panel: Panel) -> tuple[str, ...]:
        return resolve_target(self.target, panel)

    def _history(self, panel: Panel, end: int) -> History:
        counts = _align(panel, self.cells_, self.categories_, end)
        idx = [self.categories_.index(c) for c in self.target_]
        end_ns = int(shift_periods(panel.periods[0], [end], panel.freq)[0].value) if end else 0
        events = None
        if panel.events is not None:
            events = panel.events.realign(
                panel.cells, panel.categories, self.cells_, self.categories_, end_ns
            )
        names, static = covariates_on_cells(panel.covariates, self.cells_)
        return History(
            counts=counts,
            target=counts[idx[0]] if len(idx) == 1 else counts[idx].sum(axis=0, dtype=np.int32),
            periods=panel.periods[:end],
            cells=self.cells_,
            categories=self.categories_,
            target_categories=self.target_,
            freq=self.freq_,
            resolution=self.resolution_,
            events=events,
            end_ns=end_ns,
            covariate_names=names,
            covariates=None if panel.covariates is None else static,
        )

    # -- saving and loading without pickle ----------------------------------------------
    def get_state(self) -> ForecasterState:
        """Everything needed to rebuild this fitted forecaster, with no pickled objects."""
        self._check_fitted()
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        meta = {
            "categories": list(self.categories_),
            "target": list(self.target_),
            "freq": self.freq_,
            "resolution": int(self.resolution_),
            "fit_end": None if self.fit_end_ is None else self.fit_end_.isoformat(),
        }
        arrays, texts = self._extra_state()
        return ForecasterState(self.name, params, meta, {"cells": self.cells_, **arrays}, texts)

    def _extra_state(self) -> tuple[dict[str, npt.NDArray[Any]], dict[str, str]]:
        """Subclass fitted state: numeric arrays and texts (e.g. a LightGBM model)."""
        return {}, {}

    def _set_extra_state(self, state: ForecasterState) -> None:
        """Restore what ``_extra_state`` saved."""


@dataclass(frozen=True)
class ForecasterState:
    """A fitted forecaster as plain data: JSON-able ``params``/``meta``, arrays and texts."""

    kind: str
    params: dict[str, Any]
    meta: dict[str, Any]
    arrays: dict[str, npt.NDArray[Any]]
    texts: dict[str, str]


def forecaster_kinds() -> dict[str, type[Forecaster]]:
    """Every forecaster class by its ``name`` (imports the built-in ones first)."""
    import hotspots.forecasters  # noqa: F401  (registers the built-in kinds)

    return dict(_KINDS)


def make_forecaster(kind: str, **params: Any) -> Forecaster:
    """A new, unfitted forecaster of ``kind`` with ``params``."""
    kinds = forecaster_kinds()
    if kind not in kinds:
        raise ConfigError(f"unknown model {kind!r}; models are: {sorted(kinds)}")
    cls = kinds[kind]
    try:
        return cls(**params)
    except TypeError as err:
        raise ConfigError(f"bad parameters for model {kind!r}: {err}") from err


def forecaster_from_state(state: ForecasterState) -> Forecaster:
    """Rebuild a fitted forecaster from ``Forecaster.get_state`` output."""
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in state.params.items()}
    cls = forecaster_kinds().get(state.kind)
    # a parameter a saved model has and this version no longer takes (LightGBM's covariates,
    # data now) was saved empty: loading ignores it
    gone = sorted(set(params) - set(cls._get_param_names())) if cls is not None else []
    if gone:
        logger.info("ignoring saved parameters %s that %s no longer takes", gone, state.kind)
        params = {k: v for k, v in params.items() if k not in gone}
    model = make_forecaster(state.kind, **params)
    meta = state.meta
    model.cells_ = np.asarray(state.arrays["cells"], dtype=np.uint64)
    model.categories_ = tuple(meta["categories"])
    model.target_ = tuple(meta["target"])
    model.freq_ = str(meta["freq"])
    model.resolution_ = int(meta["resolution"])
    model.fit_end_ = None if meta["fit_end"] is None else pd.Timestamp(meta["fit_end"])
    model._set_extra_state(state)
    return model
