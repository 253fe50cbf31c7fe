"""Test-double forecasters for the evaluation tests (registered under unique test names)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hotspots.features import Panel
from hotspots.forecasters import Forecaster, History, Origin


class OracleForecaster(Forecaster):
    """Cheats: returns the actual future counts of the panel it was given."""

    name = "test_oracle_eval"

    def __init__(self, *, truth: Panel | None = None, target: tuple[str, ...] | None = None):
        self.truth = truth
        self.target = target

    def _predict(self, history: History, origin: Origin) -> np.ndarray:
        assert self.truth is not None
        rows = self.truth.periods.get_indexer(origin.targets)
        idx = [self.truth.categories.index(c) for c in history.target_categories]
        return self.truth.counts[idx][:, rows].sum(axis=0).astype(np.float64)


class UniformForecaster(Forecaster):
    """Random scores: a ranking no better than chance (PAI 1 in expectation)."""

    name = "test_uniform_eval"

    def __init__(self, *, seed: int = 0, target: tuple[str, ...] | None = None):
        self.seed = seed
        self.target = target

    def _predict(self, history: History, origin: Origin) -> np.ndarray:
        rng = np.random.default_rng([self.seed, history.n_periods])
        return rng.random((len(origin.targets), history.cells.size))


class ConstantForecaster(Forecaster):
    """The same count everywhere: every cell ties, so the lowest cell ids are flagged."""

    name = "test_constant_eval"

    def __init__(self, *, value: float = 1.0, target: tuple[str, ...] | None = None):
        self.value = value
        self.target = target

    def _predict(self, history: History, origin: Origin) -> np.ndarray:
        return np.full((len(origin.targets), history.cells.size), self.value)


class CountingForecaster(Forecaster):
    """Records each fit (the instance, history length); forecasts the fitted history mean.

    It keeps the instances themselves, not their ``id()``: a collected clone's id may be
    reused by the next clone, which made a "one fresh clone per fit" check flaky.
    """

    name = "test_counting_eval"
    fits: ClassVar[list[tuple[Forecaster, int]]] = []

    def __init__(self, *, target: tuple[str, ...] | None = None):
        self.target = target

    def _fit(self, history: History) -> None:
        CountingForecaster.fits.append((self, history.n_periods))
        self.mean_ = history.target.mean(axis=0)

    def _predict(self, history: History, origin: Origin) -> np.ndarray:
        return np.tile(self.mean_, (len(origin.targets), 1))


class MeanForecaster(Forecaster):
    """The mean target count of every history period before the origin, per cell."""

    name = "test_mean_eval"

    def __init__(self, *, target: tuple[str, ...] | None = None):
        self.target = target

    def _predict(self, history: History, origin: Origin) -> np.ndarray:
        return np.tile(history.target.mean(axis=0), (len(origin.targets), 1))
