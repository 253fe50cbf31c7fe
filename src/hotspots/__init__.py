"""hotspots: spatio-temporal crime hotspot forecasting on H3 cells."""

__version__ = "0.1.0"
