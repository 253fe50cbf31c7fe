"""Forecasters: one fit / predict contract for the baselines and the main model."""

from hotspots.forecasters.base import (
    PREDICTION_COLUMNS,
    Forecaster,
    ForecasterState,
    History,
    Origin,
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
from hotspots.forecasters.hawkes import SelfExcitingForecaster
from hotspots.forecasters.lgbm import LightGBMForecaster

__all__ = [
    "PREDICTION_COLUMNS",
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
    "forecaster_from_state",
    "forecaster_kinds",
    "make_forecaster",
    "next_period_start",
    "origin_of",
]
