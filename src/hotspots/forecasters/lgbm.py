"""The main model: gradient-boosted trees (LightGBM) on look-back features, Poisson loss.

One row per (origin, cell): the features of ``hotspots.features.columns`` from the periods
before the origin, and the target count ``lead`` periods later. With ``max_horizon = H`` the
model trains on leads 1..H at once with the lead as a feature. A forecast further ahead than
H reuses the features at the origin with the lead clamped to H, and the calendar of the real
target period. The Poisson (or Tweedie) objective forecasts expected counts directly.

Speed (``benchmarks/train_speed.py``): features are binned into at most 63 bins (counts
have few distinct values) and histograms are built row-wise, which measured faster than
column-wise here; 2.3 million rows x 33 features train in about 46 s on 2 cores with the
default 300 trees of 15 leaves (README, "Training and forecast speed").
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any, Literal

# OpenMP threads that spin while they wait (libgomp's default) starve each other when another
# process holds a core: on a shared 2-core machine LightGBM then ran 2-3x slower (measured).
# Sleeping waits cost a few ms per small fit when the cores are free. Only a default: it takes
# effect when lightgbm's OpenMP loads after this line, and a user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightgbm as lgb  # after the OpenMP setting above
import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import Field

from hotspots.errors import ConfigError, IntegrityError
from hotspots.features.matrix import FeatureBuilder, FeatureOptions, feature_slug
from hotspots.features.panel import Panel
from hotspots.forecasters.base import (
    FloatArray,
    Forecaster,
    ForecasterState,
    History,
    Origin,
    origin_of,
)
from hotspots.forecasters.explain import UNITS, Reasons, contribution_reasons, target_label
from hotspots.forecasters.params import Periods, Positive, Share


class LightGBMForecaster(Forecaster):
    """LightGBM on lag, neighbour, parent, category and calendar features.

    The training panel's static covariates (``Panel.covariates``) become ``cov_*`` features;
    they are saved with the fitted state, and forecasts use those saved values.

    Parameters
    ----------
    target
        Categories forecast (summed); ``None`` = every category.
    objective, tweedie_variance_power
        ``"poisson"`` or ``"tweedie"`` (with its variance power, 1 < p < 2).
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree,
    reg_lambda
        LightGBM's trees: rounds, shrinkage, leaves per tree, rows per leaf, bagging share
        (each round), feature share (each tree) and L2 penalty on leaf values. 15 leaves
        scored a little above 31 on both real-data benchmarks (benchmarks/accuracy.py).
    max_horizon
        Leads trained on; > 1 adds the ``lead`` feature.
    train_periods
        Train on the last that many origins only (``None``: every origin with
        ``min_history`` periods before it).
    zero_row_fraction
        Share of quiet training rows kept (target 0, no event in the cell or ring 1 over
        the last 8 periods), weighted by its inverse; < 1 trains faster.
    holidays
        Country (``"US"``) or country-subdivision (``"GB-ENG"``) for a holiday-count feature.
    related, near_repeat
        Add the non-target categories' counts / the near-repeat count.
    event_times
        Add features from the target events' times (decayed by age in days, days since the
        last event): the near-repeat signal inside a period. ``None`` uses them when the
        training panel carries events known to the day or finer and its periods are days or
        weeks; such a model then needs a panel built from events to predict. Off by default:
        measured neutral on Chicago and +1% at 5% coverage on the demo city (README).
    random_state, n_jobs
        Seed of bagging, feature sampling and row dropping; LightGBM threads.
    n_bags
        Boosters trained on the same rows and feature bins with seeds ``random_state``,
        ``random_state + 1``, ...; the forecast is the mean of their expected counts, which
        shrinks the seed's share of the forecast (bagging and feature sampling) at
        ``n_bags`` times the fit time; no gain measured (README). Local engine only.
    bin_sample_rows
        Training rows LightGBM samples (with the seed) to place the feature bins; at least
        the number of training rows makes the bins the same for every seed.
    engine, fit_timeout
        ``"local"`` trains here; ``"dask"`` trains with ``lightgbm.dask`` across the workers
        of the Dask cluster the job runs on (``lgbm_dask``), given up after ``fit_timeout``
        seconds. The two engines do not give the same trees.
    """

    name = "lightgbm"
    min_history = 4

    def __init__(
        self,
        *,
        target: Any = None,
        objective: Literal["poisson", "tweedie"] = "poisson",
        tweedie_variance_power: Annotated[float, Field(gt=1, lt=2)] = 1.5,
        n_estimators: Annotated[int, Field(ge=1)] = 300,
        learning_rate: Positive = 0.05,
        num_leaves: Annotated[int, Field(ge=2)] = 15,
        min_child_samples: Annotated[int, Field(ge=1)] = 100,
        subsample: Share = 0.8,
        colsample_bytree: Share = 0.8,
        reg_lambda: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0,
        max_horizon: Periods = 1,
        train_periods: Periods | None = None,
        zero_row_fraction: Share = 1.0,
        holidays: str | None = None,
        related: bool = True,
        near_repeat: bool = True,
        event_times: bool | None = False,
        random_state: int = 0,
        n_bags: Annotated[int, Field(ge=1)] = 1,
        bin_sample_rows: Annotated[int, Field(ge=1)] = 200_000,
        n_jobs: int = 2,
        engine: Literal["local", "dask"] = "local",
        fit_timeout: Positive = 3600.0,
    ) -> None:
        self.target = target
        self.objective = objective
        self.tweedie_variance_power = tweedie_variance_power
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.max_horizon = max_horizon
        self.train_periods = train_periods
        self.zero_row_fraction = zero_row_fraction
        self.holidays = holidays
        self.related = related
        self.near_repeat = near_repeat
        self.event_times = event_times
        self.random_state = random_state
        self.n_bags = n_bags
        self.bin_sample_rows = bin_sample_rows
        self.n_jobs = n_jobs
        self.engine = engine
        self.fit_timeout = fit_timeout

    def unusable_reason(self, panel: Panel) -> str | None:
        """Set when ``event_times = true`` and the panel has no events known to the day."""
        events = panel.events
        usable = events is not None and events.has_day_times and panel.freq in ("D", "W")
        if self.event_times and not usable:
            return "event_times = true needs a daily or weekly panel of events known to the day"
        return None

    @property
    def spans_workers(self) -> bool:
        """``engine = "dask"``: the fit's rows are built and trained on every worker."""
        return self.engine == "dask"

    # -- fit / predict ---------------------------------------------------------------------
    def _fit(self, history: History) -> None:
        params = self._lgb_params()
        # static covariates are data of the training panel; a forecast uses the fitted ones
        self.covariate_names_ = list(history.covariate_names)
        self.covariates_ = (
            np.empty((history.cells.size, 0), np.float32)
            if history.covariates is None
            else history.covariates
        )
        self.event_times_ = _use_event_times(self.event_times, history)
        builder = self._builder()
        options: dict[str, Any] = {
            "min_history": self.min_history,
            "max_horizon": int(self.max_horizon),
            "train_periods": self.train_periods,
            "zero_row_fraction": float(self.zero_row_fraction),
            "seed": int(self.random_state),
        }
        if self.engine == "dask":  # the rows are built part by part on the workers
            from hotspots.forecasters.lgbm_dask import train_on_cluster

            n, timeout = int(self.n_estimators), float(self.fit_timeout)
            args = (history.counts, history.target, history.periods, history.target_events())
            booster, self.n_train_rows_ = train_on_cluster(
                params, builder, *args, options, n, timeout
            )
            self.boosters_: tuple[lgb.Booster, ...] = (booster,)
            self.feature_names_ = builder.names
            return
        train = builder.training_set(
            history.counts,
            history.target,
            history.periods,
            events=history.target_events(),
            **options,
        )
        self.n_train_rows_ = int(train.y.size)
        dataset = lgb.Dataset(
            train.X,
            label=train.y,
            weight=train.weight,
            feature_name=train.names,
            free_raw_data=True,
            params={"max_bin": 63, "verbosity": -1},
        )
        del train  # the Dataset frees its raw data once binned; nothing else may hold it
        # the bags share the Dataset binned once (with the first seed's bin sample when it
        # has more rows than LightGBM samples for bins); only their seeds differ
        seeds = range(int(self.random_state), int(self.random_state) + int(self.n_bags))
        rounds = int(self.n_estimators)
        self.boosters_ = tuple(lgb.train({**params, "seed": s}, dataset, rounds) for s in seeds)
        self.feature_names_ = list(self.boosters_[0].feature_name())

    @property
    def booster_(self) -> lgb.Booster:
        """The fitted booster of a model with ``n_bags = 1``."""
        boosters = self.__dict__.get("boosters_")
        if boosters is None or len(boosters) != 1:
            n = "no" if boosters is None else len(boosters)
            raise AttributeError(f"booster_ is the one booster of n_bags = 1; this has {n}")
        return boosters[0]

    def _predict(self, history: History, origin: Origin) -> FloatArray:
        X = self._matrix(history, origin)
        threads = int(self.n_jobs)
        means = sum(np.asarray(b.predict(X, num_threads=threads)) for b in self.boosters_)
        means = np.asarray(means, dtype=np.float64) / len(self.boosters_)
        return means.reshape(origin.leads.size, self.cells_.size)

    def feature_matrix(self, panel: Panel, as_of: Any, horizon: int = 1) -> npt.NDArray[np.float32]:
        """The rows ``predict(panel, as_of, horizon)`` scores, ``(horizon * n_cells, n_features)``,
        e.g. for per-prediction contributions (``booster_.predict(X, pred_contrib=True)``)."""
        self._check_fitted()
        origin = origin_of(panel.periods, panel.freq, as_of, horizon)
        return self._matrix(self._history(panel, origin.history_end), origin)

    def _matrix(self, history: History, origin: Origin) -> npt.NDArray[np.float32]:
        leads = np.asarray(origin.leads, dtype=np.int64)
        return self._builder().matrix(
            history.counts,
            history.target,
            history.periods,
            origins=np.full(leads.size, history.n_periods),
            leads=leads,
            feature_leads=np.minimum(leads, int(self.max_horizon)),
            events=history.target_events(),
        )

    def contributions(
        self, panel: Panel, as_of: Any, horizon: int = 1
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
        """The feature matrix ``predict`` scores and each feature's contribution to each row
        (SHAP values on the log scale), both ``(horizon * n_cells, n_features)``; the bias
        column is dropped. With several bags, the mean of their contributions: the SHAP
        values of their mean log forecast (the forecast itself is the mean of their counts)."""
        X = self.feature_matrix(panel, as_of, horizon)
        contrib = sum(np.asarray(b.predict(X, pred_contrib=True)) for b in self.boosters_)
        contrib = np.asarray(contrib, dtype=np.float64) / len(self.boosters_)
        return X, contrib[:, :-1]

    def _explain(
        self, panel: Panel, as_of: Any, horizon: int, hidden: npt.NDArray[np.bool_]
    ) -> Reasons:
        """The features that raise each cell's forecast most, as sentences."""
        X, contrib = self.contributions(panel, as_of, horizon)
        origin = origin_of(panel.periods, panel.freq, as_of, horizon)
        return contribution_reasons(
            self.feature_names_,
            X,
            contrib,
            label=target_label(self.target_, self.categories_),
            unit=UNITS[self.freq_],
            categories=self.categories_,
            horizon=horizon,
            hidden=hidden,
            history=origin.history_end,
        )

    def feature_importances(self, kind: str = "gain") -> pd.Series:
        """Importance of each feature, largest first: total ``"gain"`` or ``"split"`` count
        over the trees of every bag."""
        self._check_fitted()
        if kind not in ("gain", "split"):
            raise ConfigError(f"importance kind must be 'gain' or 'split', got {kind!r}")
        values = sum(b.feature_importance(importance_type=kind) for b in self.boosters_)
        series = pd.Series(values, index=pd.Index(self.feature_names_, name="feature"), name=kind)
        return series.sort_values(ascending=False, kind="stable")

    # -- helpers ---------------------------------------------------------------------------
    def _builder(self) -> FeatureBuilder:
        """The feature builder of the fitted cells (cached: neighbour tables cost a little)."""
        cached = getattr(self, "_builder_cache", None)
        if cached is not None and cached[0] is self.cells_:
            return cached[1]
        builder = FeatureBuilder(
            self.cells_,
            self.resolution_,
            self.freq_,
            self.categories_,
            self.target_,
            FeatureOptions(
                holidays=self.holidays,
                related=bool(self.related),
                near_repeat=bool(self.near_repeat),
                lead=int(self.max_horizon) > 1,
                event_times=bool(getattr(self, "event_times_", False)),
            ),
            static=self.covariates_,
            static_names=[f"cov_{feature_slug(n)}" for n in self.covariate_names_],
        )
        self._builder_cache = (self.cells_, builder)
        return builder

    def _lgb_params(self) -> dict[str, Any]:
        """LightGBM Booster parameters (``fit`` has checked each against its declared range)."""
        if self.engine == "dask" and self.n_bags != 1:
            raise ConfigError(
                f"engine 'dask' trains one booster; n_bags must be 1, got {self.n_bags!r}"
            )
        params: dict[str, Any] = {
            "objective": self.objective,
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "min_data_in_leaf": int(self.min_child_samples),
            "bagging_fraction": float(self.subsample),
            "bagging_freq": 1 if self.subsample < 1 else 0,  # bagging is off without a freq
            "feature_fraction": float(self.colsample_bytree),
            "lambda_l2": float(self.reg_lambda),
            "seed": int(self.random_state),
            "bin_construct_sample_cnt": int(self.bin_sample_rows),  # LightGBM's default 200,000
            "num_threads": int(self.n_jobs),
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        if self.objective == "tweedie":
            params["tweedie_variance_power"] = float(self.tweedie_variance_power)
        return params

    # -- state -----------------------------------------------------------------------------
    def _extra_state(self) -> tuple[dict[str, npt.NDArray[Any]], dict[str, str]]:
        arrays = {"covariates": np.asarray(self.covariates_, dtype=np.float32)}
        names = _booster_names(len(self.boosters_))
        texts = {
            **{name: b.model_to_string() for name, b in zip(names, self.boosters_, strict=True)},
            "covariate_names": json.dumps(list(self.covariate_names_)),
            "event_times": json.dumps(bool(self.event_times_)),
        }
        return arrays, texts

    def _set_extra_state(self, state: ForecasterState) -> None:
        names = _booster_names(int(self.n_bags))
        missing = [name for name in names if name not in state.texts]
        if missing:
            raise IntegrityError(f"the saved model has n_bags = {self.n_bags} but no {missing}")
        self.boosters_ = tuple(lgb.Booster(model_str=state.texts[name]) for name in names)
        self.feature_names_ = list(self.boosters_[0].feature_name())
        self.covariate_names_ = list(json.loads(state.texts["covariate_names"]))
        self.covariates_ = np.asarray(state.arrays["covariates"], dtype=np.float32)
        # models saved before event-time features existed had none
        self.event_times_ = bool(json.loads(state.texts.get("event_times", "false")))


def _use_event_times(wanted: bool | None, history: History) -> bool:
    """Whether to build event-time features: as asked, or (None) when the data allow it."""
    usable = (
        history.events is not None and history.events.has_day_times and history.freq in ("D", "W")
    )
    if wanted and not usable:
        raise ConfigError(
            "event_times = true needs a daily or weekly panel built from events known to the "
            f"day or finer; this one is '{history.freq}'"
            + (" with counts only" if history.events is None else " with month-only times")
        )
    return usable if wanted is None else bool(wanted)


def _booster_names(n_bags: int) -> list[str]:
    """The saved state's names of ``n_bags`` boosters; the first keeps the name every model
    saved before bags existed."""
    return ["booster", *(f"booster_{k}" for k in range(1, n_bags))]
