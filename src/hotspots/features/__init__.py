"""Features: events -> cell x period panel, and (later) lags and covariates."""

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
    "FREQS",
    "TOTAL",
    "Panel",
    "events_to_panel",
    "period_floor",
    "period_range",
    "read_panel",
    "write_panel",
]
