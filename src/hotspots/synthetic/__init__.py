"""Synthetica: a seeded synthetic city with known true crime intensity.

The city is a 24 km x 24 km box around (40.0, -100.0). Each category has its own places (a
low base, a downtown, dense areas, road corridors and a few spots of its own, times each
cell's log-normal attractiveness, partly shared between categories), a rate that drifts
slowly per place, a weekly and a yearly rhythm, and a self-exciting near-repeat part: every
event raises the risk in its cell and the neighbouring cells for days. The simulation runs
per day, vectorised over cells; its conditional intensity (the compensator) is the oracle a
model can be compared with. Concentration, drift, near repeats and seasons are held to the
ranges measured on real extracts (``realism``, ``benchmarks/realism.py``).

Modules: ``profiles`` (constants and category profiles), ``simulate`` (intensity, drift and
self-excitation), ``events`` (event rows and their defects), ``city`` (``City``,
``generate_city``), ``files`` (``write_city``) and ``realism`` (the statistics).
"""

from hotspots.synthetic.city import City, generate_city, study_area
from hotspots.synthetic.files import write_city
from hotspots.synthetic.profiles import (
    BBOX,
    BURN_IN_DAYS,
    CATEGORIES,
    CENTER,
    COLUMN_MAP,
    DECAY,
    DEFECT_RATES,
    DISCRETIONARY,
    FREQS,
    GZIP,
    HALF_SIDE_KM,
    KM_PER_DEGREE,
    NAME,
    ODD_TIMES,
    ORIGINS,
    PROFILES,
    RAW_COLUMNS,
    SELF_SHARE,
    TIMEZONE,
    CategoryProfile,
)
from hotspots.synthetic.simulate import IntArray

__all__ = [
    "BBOX",
    "BURN_IN_DAYS",
    "CATEGORIES",
    "CENTER",
    "COLUMN_MAP",
    "DECAY",
    "DEFECT_RATES",
    "DISCRETIONARY",
    "FREQS",
    "GZIP",
    "HALF_SIDE_KM",
    "KM_PER_DEGREE",
    "NAME",
    "ODD_TIMES",
    "ORIGINS",
    "PROFILES",
    "RAW_COLUMNS",
    "SELF_SHARE",
    "TIMEZONE",
    "CategoryProfile",
    "City",
    "IntArray",
    "generate_city",
    "study_area",
    "write_city",
]
