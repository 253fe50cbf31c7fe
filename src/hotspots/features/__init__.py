"""Features: events -> cell x period panel, look-back / spatial / calendar features.

Static covariates from GeoJSON / GeoPackage layers are in ``hotspots.features.covariates``
(not imported here: it loads geopandas).
"""

from hotspots.features.matrix import FeatureBuilder, FeatureOptions, TrainingSet
from hotspots.features.panel import (
    FREQS,
    TOTAL,
    Panel,
    events_to_panel,
    period_floor,
    period_range,
)
from hotspots.features.panel_io import read_panel, write_panel

__all__ = [
    "FeatureBuilder",
    "FeatureOptions",
    "TrainingSet",
    "FREQS",
    "TOTAL",
    "Panel",
    "events_to_panel",
    "period_floor",
    "period_range",
    "read_panel",
    "write_panel",
]
