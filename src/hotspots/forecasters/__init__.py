"""Forecasters: one fit / predict contract for the baselines and the main model."""

from hotspots.forecasters.base import (
    MAX_HORIZON,
    PREDICTION_COLUMNS,
    Forecaster,
    ForecasterState,
    History,
    Origin,
    check_horizon,
    forecaster_from_state,
    forecaster_kinds,
    make_forecaster,
    next_period_start,
    origin_of,
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
