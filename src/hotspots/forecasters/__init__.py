"""Forecasters: one fit / predict contract for the baselines and the main model."""

from hotspots.forecasters.base import (
    PREDICTION_COLUMNS,
    Forecaster,
    ForecasterState,
    History,
    forecaster_from_state,
    forecaster_kinds,
    make_forecaster,
)
from hotspots.forecasters.baselines import (
    HistoricalMean,
    KernelDensity,
    LastPeriod,
    ProspectiveHotspot,
    RollingMean,
)
from hotspots.forecasters.ensemble import EnsembleForecaster
from hotspots.forecasters.hawkes import SelfExcitingForecaster
from hotspots.forecasters.lgbm import LightGBMForecaster
from hotspots.forecasters.origin import (
    MAX_HORIZON,
    Origin,
    check_horizon,
    next_period_start,
    origin_of,
)

__all__ = [
    "MAX_HORIZON",
    "PREDICTION_COLUMNS",
    "EnsembleForecaster",
    "Forecaster",
    "HistoricalMean",
    "KernelDensity",
    "LastPeriod",
    "LightGBMForecaster",
    "ProspectiveHotspot",
    "RollingMean",
    "SelfExcitingForecaster",
    "ForecasterState",
    "History",
    "Origin",
    "check_horizon",
    "forecaster_from_state",
    "forecaster_kinds",
    "make_forecaster",
    "next_period_start",
    "origin_of",
]
